"""Presenting a token while other requests write: recording its last use must never turn a
valid token into a server error (SQLite refuses a read transaction's late upgrade to a write
when another connection committed in between)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from safehold.server.accounts import Accounts
from safehold.service import Safehold
from safehold.store.models import ApiToken


def test_token_checks_survive_concurrent_writes(sh: Safehold) -> None:
    accounts = Accounts(sh.store)
    secret = accounts.create_token("busy-agent", "agent").secret
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer() -> None:
        n = 0
        while not stop.is_set():
            try:
                sh.audit.append("test.note", {"n": n})
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(RuntimeError(f"audit append: {exc}"))
            n += 1

    def presenter() -> None:
        for _ in range(150):
            with sh.store.write() as s:  # make every check due to record its use
                s.execute(update(ApiToken).values(
                    last_used_at=datetime.now(UTC) - timedelta(hours=1)))
            try:
                assert accounts.token_principal(secret) is not None
            except BaseException as exc:
                errors.append(RuntimeError(f"token check: {exc}"))

    threads = [threading.Thread(target=writer) for _ in range(2)]
    checkers = [threading.Thread(target=presenter) for _ in range(3)]
    for t in threads + checkers:
        t.start()
    for t in checkers:
        t.join()
    stop.set()
    for t in threads:
        t.join()
    assert errors == [], errors[:3]
