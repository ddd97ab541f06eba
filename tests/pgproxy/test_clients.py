"""Real clients (psycopg 3, psql, pgbench) through the proxy to a real PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time

import psycopg
import pytest
from pgproxy_fixtures import UPSTREAM_PASSWORD, Running

import pg


def decisions(proxy: Running) -> list[tuple[str, str | None, str | None]]:
    """(statement, verdict, session) of every audited decision, oldest first."""
    out = []
    for entry in proxy.audit():
        payload = json.loads(entry.payload)
        out.append((payload["action"]["input"], entry.decision, entry.session))
    return out


def test_reads_and_ordinary_writes_pass_with_parameters(proxy: Running) -> None:
    with proxy.connect(autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (50,)
        conn.execute("INSERT INTO accounts VALUES (%s, %s, %s)", (51, "new", 5))
        conn.execute("UPDATE accounts SET balance = balance + %s WHERE id = %s", (10, 1))
        conn.execute("DELETE FROM accounts WHERE id = %s", (51,))
        assert conn.execute("SELECT balance FROM accounts WHERE id = 1").fetchone() == (110,)
    assert proxy.rows("SELECT count(*) FROM accounts") == [(50,)]
    seen = decisions(proxy)
    assert ("SELECT count(*) FROM accounts", "allow", "pgproxy/agent1") in seen
    assert all(verdict == "allow" for _, verdict, _ in seen)


def test_drop_through_psycopg_is_held_with_the_approval_named(proxy: Running) -> None:
    with proxy.connect(autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as err:
            conn.execute("DROP TABLE accounts")
        text = str(err.value)
        assert "DROP TABLE accounts" in text
        assert "Approval request ap_" in text and "/approvals/ap_" in text
        assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (50,)
    assert proxy.rows("SELECT count(*) FROM accounts") == [(50,)]
    assert ("DROP TABLE accounts", "ask", "pgproxy/agent1") in decisions(proxy)


def test_unrestricted_delete_as_a_prepared_statement_is_refused(proxy: Running) -> None:
    with proxy.connect(autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM accounts WHERE %s = %s", (1, 1), prepare=True)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM accounts WHERE true", prepare=True)
        assert conn.execute("SELECT count(*) FROM accounts", prepare=True).fetchone() == (50,)
    assert proxy.rows("SELECT count(*) FROM accounts") == [(50,)]
    refused = [s for s, v, _ in decisions(proxy) if v != "allow"]
    assert "DELETE FROM accounts WHERE true" in refused


def test_a_refusal_inside_a_transaction_aborts_it_as_the_server_would(proxy: Running) -> None:
    with proxy.connect() as conn:
        conn.execute("INSERT INTO accounts VALUES (60, 'in-tx', 1)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("TRUNCATE accounts")
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (50,)
        conn.execute("INSERT INTO accounts VALUES (61, 'after', 1)")
        conn.commit()
    assert proxy.rows("SELECT id FROM accounts WHERE id > 50") == [(61,)]


def _psql(proxy: Running, sql: str, password: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PGPASSWORD": password or proxy.token, "PGAPPNAME": "psql-agent"}
    return subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(proxy.port), "-U", "agent", "-d", proxy.database,
         "-X", "-v", "ON_ERROR_STOP=1", "-At", "-c", sql],
        capture_output=True, text=True, env=env, timeout=60,
    )


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql not installed")
def test_psql_truncate_and_hidden_multi_statement_are_refused(proxy: Running) -> None:
    ok = _psql(proxy, "SELECT count(*) FROM accounts")
    assert ok.returncode == 0 and ok.stdout.strip() == "50", ok.stderr
    truncate = _psql(proxy, "TRUNCATE accounts")
    assert truncate.returncode != 0 and "safehold" in truncate.stderr
    hidden = _psql(proxy, "UPDATE accounts SET owner = 'x' WHERE id = 2; DELETE FROM accounts")
    assert hidden.returncode != 0 and "DELETE FROM accounts" in hidden.stderr
    assert proxy.rows("SELECT count(*), min(owner) FROM accounts") == [(50, "owner1")]
    seen = decisions(proxy)
    assert ("UPDATE accounts SET owner = 'x' WHERE id = 2", "allow", "pgproxy/agent1") in seen
    assert any(s == "DELETE FROM accounts" and v != "allow" for s, v, _ in seen)
    connected = [json.loads(e.payload) for e in proxy.audit("pgproxy.connected")]
    assert {"application_name": "psql-agent", "user": "agent"}.items() <= connected[0].items()
    assert connected[0]["client_address"].startswith("127.0.0.1:")


def test_a_bad_token_is_refused_and_audited(proxy: Running) -> None:
    for wrong in ("shk_not-a-real-token", UPSTREAM_PASSWORD):
        with pytest.raises(psycopg.OperationalError, match="not a valid agent token"):
            proxy.connect(password=wrong)
    assert len(proxy.audit("pgproxy.auth-failed")) == 2
    assert proxy.audit("pgproxy.connected") == []


def test_copy_out_and_in_pass_through(proxy: Running) -> None:
    with proxy.connect(autocommit=True) as conn:
        with conn.cursor() as cur:
            with cur.copy("COPY (SELECT id, owner FROM accounts ORDER BY id) TO STDOUT") as copy:
                rows = list(copy.rows())
            assert len(rows) == 50
            with cur.copy("COPY accounts (id, owner, balance) FROM STDIN") as copy:
                for i in range(100, 1100):
                    copy.write_row((i, f"c{i}", 0))
        assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (1050,)


def test_large_results_stream(proxy: Running) -> None:
    with proxy.connect(autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("SELECT g, repeat('x', 200) FROM generate_series(1, 200000) g")
        assert sum(1 for _ in cur) == 200000


def test_notices_and_listen_notify_pass_through(proxy: Running) -> None:
    notices: list[str] = []
    with proxy.connect(autocommit=True) as listener, proxy.connect(autocommit=True) as sender:
        listener.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        listener.execute("CREATE TABLE IF NOT EXISTS accounts (id int)")
        listener.execute("LISTEN jobs")
        sender.execute("NOTIFY jobs, 'hello'")
        got = next(listener.notifies(timeout=10))
        assert (got.channel, got.payload) == ("jobs", "hello")
    assert any("already exists" in n for n in notices)


def test_cancel_request_reaches_the_database(proxy: Running) -> None:
    with proxy.connect(autocommit=True) as conn:
        # cancel_safe, not cancel: the blocking variant holds the GIL while it waits for the
        # proxy, which runs in this same process in tests
        timer = threading.Timer(1.0, conn.cancel_safe)
        timer.start()
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT pg_sleep(30)")
        assert time.monotonic() - started < 20
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_pipeline_discards_until_sync_after_a_refusal(proxy: Running) -> None:
    with proxy.connect(autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.pipeline():
            conn.execute("INSERT INTO accounts VALUES (%s, 'p', 0)", (70,))
            conn.execute("DROP TABLE accounts")
            conn.execute("INSERT INTO accounts VALUES (%s, 'p', 0)", (71,))
        assert conn.execute("SELECT 1").fetchone() == (1,)
    # one implicit transaction up to Sync: the refusal rolled back the whole batch
    assert proxy.rows("SELECT count(*) FROM accounts WHERE id >= 70") == [(0,)]


@pytest.mark.skipif(shutil.which("pgbench") is None, reason="pgbench not installed")
@pytest.mark.parametrize("mode", ["simple", "extended", "prepared"])
def test_pgbench_modes_run_through_the_proxy(proxy: Running, mode: str) -> None:
    base = {**os.environ, "PGPASSWORD": UPSTREAM_PASSWORD}
    init = subprocess.run(
        ["pgbench", "-i", "-q", "-h", "127.0.0.1", "-p", str(proxy.upstream.port), "-U",
         pg.SUPERUSER, proxy.database], capture_output=True, text=True, env=base, timeout=120,
    )
    assert init.returncode == 0, init.stderr
    run = subprocess.run(
        ["pgbench", "-n", "-c", "2", "-t", "20", "-M", mode, "-h", "127.0.0.1", "-p",
         str(proxy.port), "-U", "agent", proxy.database],
        capture_output=True, text=True, env={**os.environ, "PGPASSWORD": proxy.token},
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "number of transactions actually processed: 40/40" in run.stdout
    assert proxy.rows("SELECT count(*) FROM pgbench_history") == [(40,)]
