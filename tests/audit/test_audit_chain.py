"""The audit chain: appends link up, and any edit, deletion or reordering is named by verify."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text, update

from safehold.audit import AuditLog, entries_from_export, verify_entries
from safehold.audit.log import GENESIS, HASHED_FIELDS
from safehold.errors import AuditError
from safehold.store import Store, open_store
from safehold.store.models import AuditRecord


@pytest.fixture
def log(store: Store) -> AuditLog:
    audit = AuditLog(store)
    for i in range(1, 11):
        audit.append(
            "decision",
            {"i": i, "cmd": f"echo {i}"},
            session="s1",
            decision="allow",
            environment="staging" if i % 2 else "production",
        )
    return audit


def _sql(store: Store, statement: str, **params: object) -> None:
    with store.session() as s:
        s.execute(text(statement), params)


def test_records_link_to_their_predecessor(log: AuditLog) -> None:
    entries = list(log.entries())
    assert [e.seq for e in entries] == list(range(1, 11))
    assert entries[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.hash
    assert all(e.hash == e.computed_hash() for e in entries)
    result = log.verify()
    assert result.ok and result.records == 10 and result.head_seq == 10


def test_empty_log_verifies(store: Store) -> None:
    result = AuditLog(store).verify()
    assert result.ok and result.records == 0 and result.head_seq is None


def test_edited_payload_is_named(log: AuditLog, store: Store) -> None:
    _sql(
        store,
        "UPDATE audit_records SET payload = :p WHERE seq = 4",
        p=json.dumps({"i": 4, "cmd": "echo innocent"}),
    )
    result = log.verify()
    assert not result.ok
    assert result.first_bad_seq == 4
    assert "altered" in (result.problem or "")


def _edited(value: object) -> object:
    """A different value of the same type, short enough for the column it came from."""
    if isinstance(value, datetime):
        return value + timedelta(seconds=1)
    if isinstance(value, int) and not isinstance(value, bool):
        return value + 1000
    if value is None:
        return "tampered"
    if isinstance(value, str):
        return value[:-1] + ("0" if value[-1:] != "0" else "1") if value else "x"
    raise TypeError(f"no tampering known for a {type(value).__name__}: add one here")


def test_the_hash_covers_every_stored_column() -> None:
    assert set(HASHED_FIELDS) | {"hash"} == {c.name for c in AuditRecord.__table__.columns}
    assert "hash" not in HASHED_FIELDS


@pytest.mark.parametrize("column", HASHED_FIELDS)
def test_editing_any_hashed_column_breaks_that_records_hash(
    log: AuditLog, store: Store, column: str
) -> None:
    """Each column the hash covers, edited alone in the database, is caught by the record's
    own hash (not only by the sequence or link checks that some edits also trip)."""
    before = log.get(7)
    assert before is not None
    value = _edited(getattr(before, column))
    with store.session() as s:
        s.execute(update(AuditRecord).where(AuditRecord.seq == 7).values({column: value}))
    after = next(e for e in log.entries() if e.hash == before.hash)
    assert getattr(after, column) == value
    assert after.computed_hash() != after.hash, f"{column} is not covered by the hash"
    result = log.verify()
    # Renumbering record 7 leaves a gap, which the sequence check names first, at record 8.
    assert (result.ok, result.first_bad_seq) == (False, 8 if column == "seq" else 7), result


def test_edit_with_recomputed_hash_breaks_the_next_link(log: AuditLog, store: Store) -> None:
    """An attacker who rewrites a record and its own hash is caught by the record after it."""
    entry = log.get(5)
    assert entry is not None
    from dataclasses import replace

    forged = replace(entry, payload=json.dumps({"i": 5, "cmd": "nothing"}, separators=(",", ":")))
    forged = replace(forged, hash=forged.computed_hash())
    _sql(
        store,
        "UPDATE audit_records SET payload = :p, hash = :h WHERE seq = 5",
        p=forged.payload,
        h=forged.hash,
    )
    result = log.verify()
    assert (result.ok, result.first_bad_seq) == (False, 6)
    assert "does not link" in (result.problem or "")


def test_deleted_record_is_named(log: AuditLog, store: Store) -> None:
    _sql(store, "DELETE FROM audit_records WHERE seq = 3")
    result = log.verify()
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "record 3 is missing" in (result.problem or "")


def test_deleted_first_record_is_named(log: AuditLog, store: Store) -> None:
    _sql(store, "DELETE FROM audit_records WHERE seq = 1")
    result = log.verify()
    assert (result.ok, result.first_bad_seq) == (False, 2)


def test_deleted_range_is_named(log: AuditLog, store: Store) -> None:
    _sql(store, "DELETE FROM audit_records WHERE seq BETWEEN 3 AND 5")
    result = log.verify()
    assert result.first_bad_seq == 6 and "records 3-5 are missing" in (result.problem or "")


def test_reordered_records_are_named(log: AuditLog, store: Store) -> None:
    _sql(store, "UPDATE audit_records SET seq = 1000 WHERE seq = 3")
    _sql(store, "UPDATE audit_records SET seq = 3 WHERE seq = 4")
    _sql(store, "UPDATE audit_records SET seq = 4 WHERE seq = 1000")
    result = log.verify()
    assert (result.ok, result.first_bad_seq) == (False, 3)


def test_renumbered_tail_after_deletion_is_caught(log: AuditLog, store: Store) -> None:
    """Closing the gap a deletion left (renumbering later records) still breaks the chain."""
    _sql(store, "DELETE FROM audit_records WHERE seq = 5")
    for seq in range(6, 11):
        _sql(store, "UPDATE audit_records SET seq = :n WHERE seq = :o", n=seq - 1, o=seq)
    result = log.verify()
    assert (result.ok, result.first_bad_seq) == (False, 5)


def test_truncated_tail_is_caught_with_an_anchor(log: AuditLog, store: Store) -> None:
    head = log.verify()
    anchor = (head.head_seq, head.head_hash)
    assert log.verify(anchor=anchor).ok  # type: ignore[arg-type]
    _sql(store, "DELETE FROM audit_records WHERE seq >= 9")
    assert log.verify().ok  # a chain alone cannot see its end cut off…
    result = log.verify(anchor=anchor)  # type: ignore[arg-type]
    assert not result.ok and "removed from the end" in (result.problem or "")


def test_appends_continue_the_chain_after_reopen(store_url: str) -> None:
    first = open_store(store_url)
    AuditLog(first).append("a", {"n": 1})
    first.close()
    again = open_store(store_url)
    try:
        log = AuditLog(again)
        entry = log.append("b", {"n": 2})
        assert entry.seq == 2 and log.verify().ok
    finally:
        again.close()


def test_concurrent_threads_build_one_chain(store: Store) -> None:
    log = AuditLog(store)

    def writer(k: int) -> None:
        for i in range(30):
            log.append("t", {"writer": k, "i": i})

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = log.verify()
    assert result.ok and result.records == 120


def _process_writer(url: str, k: int) -> None:
    store = open_store(url)
    log = AuditLog(store)
    for i in range(25):
        log.append("p", {"writer": k, "i": i})
    store.close()


def test_concurrent_processes_build_one_chain(store_url: str) -> None:
    open_store(store_url).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_process_writer, args=(store_url, k)) for k in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    store = open_store(store_url)
    try:
        result = AuditLog(store).verify()
        assert result.ok and result.records == 75
    finally:
        store.close()


def test_append_joins_the_callers_transaction(store: Store) -> None:
    log = AuditLog(store)
    with pytest.raises(RuntimeError), store.write() as s:
        log.append("x", {"n": 1}, within=s)
        raise RuntimeError("roll back")
    assert log.tail(10) == []
    with store.write() as s:
        log.append("x", {"n": 2}, within=s)
    assert [e.data["n"] for e in log.tail(10)] == [2]


def test_tail_filters_and_orders(log: AuditLog) -> None:
    last = log.tail(3)
    assert [e.seq for e in last] == [8, 9, 10]
    prod = log.tail(100, environment="production")
    assert [e.seq for e in prod] == [2, 4, 6, 8, 10]
    assert [e.seq for e in log.tail(2, since_seq=8)] == [9, 10]
    with pytest.raises(AuditError):
        log.tail(5, colour="red")


def test_export_is_one_json_object_per_line_and_reverifies(log: AuditLog) -> None:
    lines = list(log.export("jsonl"))
    assert len(lines) == 10
    rows = [json.loads(line) for line in lines]
    assert rows[0]["seq"] == 1 and rows[0]["payload"] == {"i": 1, "cmd": "echo 1"}
    assert verify_entries(entries_from_export(lines)).ok
    rows[2]["payload"]["cmd"] = "echo edited"
    edited = [json.dumps(r) for r in rows]
    result = verify_entries(entries_from_export(edited))
    assert (result.ok, result.first_bad_seq) == (False, 3)
    with pytest.raises(AuditError, match="line 2"):
        list(entries_from_export([lines[0], "{not json"]))
    with pytest.raises(AuditError):
        list(log.export("xml"))


def test_bad_appends_are_refused(store: Store) -> None:
    log = AuditLog(store)
    with pytest.raises(AuditError):
        log.append("", {})
    with pytest.raises(AuditError):
        log.append("x", {}, colour="red")  # type: ignore[arg-type]
    assert log.verify().records == 0


def test_secrets_are_redacted_before_hashing(store: Store) -> None:
    log = AuditLog(store)
    entry = log.append("decision", {"action": {"input": "PGPASSWORD=hunter2 psql -h db"}})
    assert "hunter2" not in entry.payload
    with store.session() as s:
        raw = s.execute(text("SELECT payload FROM audit_records")).scalar_one()
    assert "hunter2" not in raw and "[REDACTED]" in raw
    assert log.verify().ok


def test_otlp_export_carries_every_record_and_its_hashes(log: AuditLog) -> None:
    lines = list(log.export("otlp"))
    assert len(lines) == 1
    request = json.loads(lines[0])
    (resource,) = request["resourceLogs"]
    attrs = {a["key"]: a["value"] for a in resource["resource"]["attributes"]}
    assert attrs["service.name"] == {"stringValue": "safehold"}
    records = resource["scopeLogs"][0]["logRecords"]
    assert len(records) == 10
    first = {a["key"]: a["value"] for a in records[0]["attributes"]}
    entry = log.get(1)
    assert entry is not None
    assert first["safehold.seq"] == {"intValue": "1"}
    assert first["safehold.hash"] == {"stringValue": entry.hash}
    assert json.loads(records[0]["body"]["stringValue"]) == {"i": 1, "cmd": "echo 1"}
    micros = int(entry.ts.timestamp()) * 1_000_000 + entry.ts.microsecond
    assert int(records[0]["timeUnixNano"]) == micros * 1000
