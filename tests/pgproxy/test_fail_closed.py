"""The proxy fails closed: whatever breaks, the client gets an error and nothing unjudged runs."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pgproxy_fixtures import Running, start_proxy

import pg
from safehold.errors import AuditError
from safehold.model import Verdict


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _started(tmp_path: Path, server: pg.PostgresServer, **kw: Any) -> Iterator[Running]:
    running, runner = start_proxy(tmp_path, server, **kw)
    try:
        yield running
    finally:
        runner.stop()
        running.safehold.close()


def test_upstream_down_is_an_error_at_connect(tmp_path: Path, scram_pg: pg.PostgresServer
                                              ) -> None:
    for running in _started(tmp_path, scram_pg, port=_closed_port()):
        with pytest.raises(psycopg.OperationalError, match="could not open the database"):
            running.connect()
        assert running.audit("pgproxy.upstream-failed")


def test_wrong_upstream_credential_is_an_error_at_connect(
    tmp_path: Path, scram_pg: pg.PostgresServer
) -> None:
    for running in _started(tmp_path, scram_pg, password="not-the-password"):
        with pytest.raises(psycopg.OperationalError, match="refused the proxy"):
            running.connect()


class _Broken:
    """A decision service that fails: an internal error on the decision path."""

    def __init__(self, real: Any):
        self.audit = real.audit

    def evaluate(self, *args: Any, **kw: Any) -> Any:
        raise RuntimeError("policy engine exploded")


def test_an_internal_error_refuses_instead_of_forwarding(
    tmp_path: Path, scram_pg: pg.PostgresServer
) -> None:
    running, runner = start_proxy(tmp_path, scram_pg)
    runner.proxy.ctx.judge.safehold = _Broken(running.safehold)
    try:
        with running.connect(autocommit=True) as conn:
            with pytest.raises(psycopg.errors.InternalError_, match="policy engine exploded"):
                conn.execute("INSERT INTO accounts VALUES (%s, 'x', 0)", (99,))
            with pytest.raises(psycopg.errors.InternalError_):
                conn.execute("INSERT INTO accounts VALUES (98, 'x', 0)")
        assert running.rows("SELECT count(*) FROM accounts WHERE id > 90") == [(0,)]
    finally:
        runner.stop()
        running.safehold.close()


def test_audit_unavailable_withholds_what_would_pass(
    tmp_path: Path, scram_pg: pg.PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for running in _started(tmp_path, scram_pg):
        with running.connect(autocommit=True) as conn:
            real = running.safehold.audit.append

            def failing(type: str, *a: Any, real: Any = real, **kw: Any) -> Any:
                if type == "decision":
                    raise AuditError("audit store is full")
                return real(type, *a, **kw)

            monkeypatch.setattr(running.safehold.audit, "append", failing)
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="audit"):
                conn.execute("INSERT INTO accounts VALUES (97, 'x', 0)")
        assert running.rows("SELECT count(*) FROM accounts WHERE id = 97") == [(0,)]


def test_oversized_statement_is_unknown_and_passes_once_approved(
    tmp_path: Path, scram_pg: pg.PostgresServer
) -> None:
    for running in _started(tmp_path, scram_pg, max_statement_bytes=2000):
        huge = "SELECT count(*) FROM accounts WHERE id IN (" + ",".join(
            str(i) for i in range(3000)) + ")"
        with running.connect(autocommit=True) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege) as err:
                conn.execute(huge)
            assert "Approval request ap_" in str(err.value)
        approval_id = str(err.value).split("Approval request ")[1].split()[0]
        for approver in ("user/alice", "user/bob"):
            result = running.safehold.vote(approval_id, approver, True)
            if result.state == "approved":
                break
        assert result.state == "approved"
        with running.connect(autocommit=True) as conn:
            assert conn.execute(huge).fetchone() == (50,)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(huge)  # an approval is used once


def test_snapshot_first_with_nothing_to_capture_is_refused_even_when_approved(
    tmp_path: Path, scram_pg: pg.PostgresServer
) -> None:
    """The database is in no inventory with a snapshot store, so the one decision path refuses
    the approved statement (rule snapshot-first); the proxy never forwards it."""
    for running in _started(tmp_path, scram_pg):
        with running.connect(autocommit=True) as conn, pytest.raises(
            psycopg.errors.InsufficientPrivilege
        ) as err:
            conn.execute("DROP TABLE accounts")
        approval_id = str(err.value).split("Approval request ")[1].split()[0]
        for approver in ("user/alice", "user/bob"):
            if running.safehold.vote(approval_id, approver, True).state == "approved":
                break
        with running.connect(autocommit=True) as conn, pytest.raises(
            psycopg.errors.InsufficientPrivilege, match="snapshot"
        ):
            conn.execute("DROP TABLE accounts")
        assert running.rows("SELECT count(*) FROM accounts") == [(50,)]
        last = running.audit()[-1]
        assert last.decision == Verdict.DENY.value
        assert "snapshot-first" in last.payload and "DROP TABLE accounts" in last.payload


def test_cli_refuses_a_password_in_the_url(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from safehold.cli import build_app

    env = {"XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    runner = CliRunner()
    leaked = runner.invoke(build_app(), [
        "pg-proxy", "--upstream", "postgresql://app:secret@127.0.0.1:5432/app", "--env",
        "production"], env=env)
    assert leaked.exit_code == 2 and "PGPASSWORD" in leaked.output
    neither = runner.invoke(build_app(), ["pg-proxy", "--env", "production"], env=env)
    assert neither.exit_code == 2 and "--credential" in neither.output
