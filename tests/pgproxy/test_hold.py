"""A statement that needs approval is held until a human answers (bounded), then runs exactly
once or is refused; the session stays usable either way."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pgproxy_fixtures import Running, direct, start_proxy

import pg


@pytest.fixture
def holding(tmp_path: Path, scram_pg: pg.PostgresServer) -> Iterator[Running]:
    running, runner = start_proxy(tmp_path, scram_pg, hold_seconds=4)
    with direct(running.upstream, running.database) as conn:
        conn.execute("CREATE FUNCTION bump(v int) RETURNS int LANGUAGE sql AS "
                     "'UPDATE accounts SET balance = balance + v WHERE id = 1 RETURNING balance'")
    try:
        yield running
    finally:
        runner.stop()
        running.safehold.close()


def answer_when_held(proxy: Running, conn: psycopg.Connection, approve: bool) -> list[str]:
    """Vote on the approval the first hold notice names, from another thread, as a human
    would; later holds go unanswered."""
    notices: list[str] = []

    def on_notice(diag: psycopg.errors.Diagnostic) -> None:
        text = diag.message_primary or ""
        notices.append(text)
        found = re.search(r"ap_[0-9a-f]+", text)
        if found and len(notices) == 1:  # the first hold only
            threading.Thread(target=vote, args=(found.group(0),), daemon=True).start()

    def vote(approval_id: str) -> None:
        for approver in ("user/alice", "user/bob"):
            if proxy.safehold.vote(approval_id, approver, approve).state != "pending":
                return

    conn.add_notice_handler(on_notice)
    return notices


def test_an_approved_hold_runs_the_statement_exactly_once(holding: Running) -> None:
    with holding.connect(autocommit=True) as conn:
        notices = answer_when_held(holding, conn, approve=True)
        assert conn.execute("SELECT bump(5)").fetchone() == (105,)
        assert any("holding this statement" in n and "/approvals/ap_" in n for n in notices)
        # the approval was used: the same statement again is held anew, and nobody answers
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="nobody answered"):
            conn.execute("SELECT bump(5)")
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert holding.rows("SELECT balance FROM accounts WHERE id = 1") == [(105,)]


def test_a_denied_hold_is_refused_and_the_session_goes_on(holding: Running) -> None:
    with holding.connect() as conn:
        conn.execute("INSERT INTO accounts VALUES (70, 'in-tx', 1)")
        answer_when_held(holding, conn, approve=False)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="denied"):
            conn.execute("SELECT bump(%s)", (9,), prepare=True)
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (50,)
    assert holding.rows("SELECT balance FROM accounts WHERE id = 1") == [(100,)]
