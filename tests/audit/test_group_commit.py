"""Group commit: concurrent appends share one durable commit, each caller returns only once
its own record is committed, and a record's recheck runs inside that commit."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from safehold.audit.log import AuditLog, Recheck, Refused
from safehold.errors import AuditError
from safehold.store import Store, open_store


def test_concurrent_appends_share_commits_and_return_only_when_committed(
    store: Store, store_url: str
) -> None:
    log = AuditLog(store)
    reader = open_store(store_url)  # another connection: sees only what is committed
    seen_late: list[int] = []
    start = threading.Barrier(32)

    def writer(k: int) -> None:
        start.wait()
        for i in range(10):
            entry = log.append("t", {"writer": k, "i": i})
            if AuditLog(reader).get(entry.seq) is None:
                seen_late.append(entry.seq)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reader.close()
    assert not seen_late, f"appends returned before their record was committed: {seen_late}"
    result = log.verify()
    assert result.ok and result.records == 320


def test_records_queued_behind_a_commit_share_the_next_one(store: Store) -> None:
    log = AuditLog(store)
    commits = 0

    def counted(_conn: Any) -> None:
        nonlocal commits
        commits += 1

    event.listen(store.engine, "commit", counted)
    with log._leader:  # a commit in progress: everything arriving meanwhile queues
        threads = [threading.Thread(target=log.append, args=("t", {"k": k}))
                   for k in range(24)]
        for t in threads:
            t.start()
        while len(log._queue) < 24:
            threading.Event().wait(0.01)
    for t in threads:
        t.join()
    assert commits == 1, f"{commits} commits for 24 queued records"
    assert log.verify().records == 24


def _refusal(why: str) -> Any:
    return lambda _s: ("request.rejected", {"status": 401, "problem": why})


def test_a_failed_recheck_writes_the_refusal_instead_and_raises(store: Store) -> None:
    log = AuditLog(store)
    kept = log.append("decision", {"n": 1}, recheck=Recheck("token:a", lambda _s: None),
                      actor="token/a", decision="allow")
    with pytest.raises(Refused) as refused:
        log.append("decision", {"n": 2}, recheck=Recheck("token:b", _refusal("revoked")),
                   actor="token/b", decision="allow")
    assert refused.value.problem == "revoked"
    written = log.tail(10)
    assert [e.type for e in written] == ["decision", "request.rejected"]
    assert written[0].seq == kept.seq
    assert written[1].actor == "token/b" and written[1].decision is None
    assert written[1].data == {"status": 401, "problem": "revoked"}
    assert log.verify().ok


def test_a_recheck_runs_once_per_key_in_a_batch_inside_the_write(store: Store) -> None:
    log = AuditLog(store)
    calls: list[bool] = []
    start = threading.Barrier(16)

    def check(s: Session) -> None:
        calls.append(s.in_transaction())
        return None

    def writer() -> None:
        start.wait()
        for _ in range(5):
            log.append("decision", {}, recheck=Recheck("token:same", check))

    threads = [threading.Thread(target=writer) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(calls) and log.verify().records == 80
    assert len(calls) < 80, "one check per record: the batch did not share it"


def test_recheck_cannot_join_a_callers_transaction(store: Store) -> None:
    log = AuditLog(store)
    with pytest.raises(AuditError, match="recheck"), store.write() as s:
        log.append("x", {}, within=s, recheck=Recheck("k", lambda _s: None))
