"""Snapshot first, for real: a snapshot-first action is released only after the snapshots of
what it touches exist and verify; otherwise it is refused with the reason. Real PostgreSQL,
real SQLite, real directories, through `Safehold.evaluate` as a hook with a server uses it."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import psycopg
import pytest

import pg
from approval_values import Clock
from safehold.config import parse_config_file
from safehold.model import Action, Verdict
from safehold.service import Safehold


def _config(root: Path, *, databases: tuple[str, ...] = (), paths: tuple[str, ...] = (),
            store: Path | None = None, policy: Path | None = None) -> Path:
    snapshots = (f'[snapshots.stores.offsite]\nkind = "directory"\npath = "{store}"\n'
                 if store else "")
    path = root / "safehold.toml"
    path.write_text(f"""
database_url = "sqlite:///{root / 'safehold.db'}"
{f'policy = "{policy}"' if policy else ""}

[environments.production]
databases = {list(databases)!r}
paths = {list(paths)!r}
urls = ["https://api.prod.example.com"]

{snapshots}
""".replace("'", '"'))
    return path


def _approve(sh: Safehold, action: Action) -> None:
    ev = sh.evaluate(action, requester="token:agent")
    assert ev.verdict is Verdict.ASK, ev.decision.reasons
    assert ev.decision.snapshot_first
    assert ev.approval is not None
    sh.vote(ev.approval.id, "user:ann", True)


def _events(sh: Safehold, type: str) -> list[dict[str, object]]:
    return [e.data for e in sh.audit.tail(50, type=type)]


@pytest.mark.postgres
def test_drop_table_is_released_only_after_its_snapshot(
    tmp_path: Path, offsite: Path, pg_server: pg.PostgresServer, clock: Clock
) -> None:
    url = pg_server.create_database()
    raw = url.replace("+psycopg", "")
    with psycopg.connect(raw, autocommit=True) as c:
        c.execute("CREATE TABLE orders (id int PRIMARY KEY, note text)")
        c.execute("INSERT INTO orders SELECT g, 'n' || g FROM generate_series(1, 300) g")
        before = c.execute("SELECT * FROM orders ORDER BY id").fetchall()
    config = parse_config_file(_config(tmp_path, databases=(url,), store=offsite))
    command = f"psql '{raw}' -c 'DROP TABLE orders'"
    action = Action("shell", command, session="s1")
    with Safehold.open(config, clock=clock, notify_in_background=False) as sh:
        _approve(sh, action)
        released = sh.evaluate(action, requester="token:agent")
        assert released.verdict is Verdict.ALLOW, released.decision.reasons
        assert released.protection is not None and len(released.protection.snapshots) == 1
        snap = released.protection.snapshots[0]
        assert snap.scope == "tables" and snap.tables == ("orders",)
        assert any(snap.id in r for r in released.decision.reasons)
        assert [e["snapshot"] for e in _events(sh, "snapshot.taken")] == [snap.id]
    subprocess.run(["psql", raw, "-c", "DROP TABLE orders"], check=True, capture_output=True)
    from safehold.protection.local_store import LocalStore
    from safehold.protection.snapshot import restore

    restore(LocalStore("offsite", offsite), snap.id, url)
    with psycopg.connect(raw) as c:
        assert c.execute("SELECT * FROM orders ORDER BY id").fetchall() == before


@pytest.mark.postgres
def test_a_store_that_refuses_blocks_the_release(
    tmp_path: Path, pg_server: pg.PostgresServer, clock: Clock
) -> None:
    url = pg_server.create_database()
    raw = url.replace("+psycopg", "")
    with psycopg.connect(raw, autocommit=True) as c:
        c.execute("CREATE TABLE orders (id int)")
    # the store sits on the same filesystem as the cluster's data directory: refused
    near = Path(pg_server.root) / "backups"
    config = parse_config_file(_config(tmp_path, databases=(url,), store=near))
    action = Action("shell", f"psql '{raw}' -c 'DROP TABLE orders'")
    with Safehold.open(config, clock=clock, notify_in_background=False) as sh:
        _approve(sh, action)
        refused = sh.evaluate(action, requester="token:agent")
        assert refused.verdict is Verdict.DENY
        reason = " ".join(refused.decision.reasons)
        assert "same filesystem" in reason and "not released" in reason
        assert "snapshot-first" in refused.decision.rule_ids
        assert _events(sh, "snapshot.failed")
        assert not _events(sh, "snapshot.taken")


def test_a_target_no_driver_covers_is_never_released(
    tmp_path: Path, offsite: Path, clock: Clock
) -> None:
    config = parse_config_file(_config(tmp_path, store=offsite))
    action = Action("http", {"method": "DELETE", "url": "https://api.prod.example.com/v1/x/1"})
    with Safehold.open(config, clock=clock, notify_in_background=False) as sh:
        plan = sh.snapshot_first.plan(sh.guard.decide(action).facts.to_dict(), {}, None)
        assert not plan.ok and "no snapshot driver covers" in plan.why_not()
        _approve(sh, action)
        refused = sh.evaluate(action, requester="token:agent")
        assert refused.verdict is Verdict.DENY
        assert "no snapshot driver covers" in " ".join(refused.decision.reasons)


def test_sqlite_drop_through_sqlite3_is_snapshotted_first(
    tmp_path: Path, offsite: Path, clock: Clock
) -> None:
    data = tmp_path / "prod"
    data.mkdir()
    db = data / "app.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE t (x)")
        c.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(50)])
    config = parse_config_file(_config(tmp_path, databases=(f"sqlite:///{db}",),
                                       paths=(str(data),), store=offsite))
    action = Action("shell", f"sqlite3 {db} 'DROP TABLE t'", cwd=str(tmp_path))
    with Safehold.open(config, clock=clock, notify_in_background=False) as sh:
        _approve(sh, action)
        released = sh.evaluate(action, requester="token:agent")
        assert released.verdict is Verdict.ALLOW, released.decision.reasons
        assert released.protection is not None
        (snap,) = released.protection.snapshots
        assert snap.driver == "sqlite"
    subprocess.run(["sqlite3", str(db), "DROP TABLE t"], check=True)
    from safehold.protection.local_store import LocalStore
    from safehold.protection.snapshot import restore

    restore(LocalStore("offsite", offsite), snap.id, str(db), replace=True)
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT count(*) FROM t").fetchone() == (50,)


def test_the_delay_executor_does_not_run_without_its_snapshot(
    tmp_path: Path, offsite: Path, clock: Clock
) -> None:
    policy = tmp_path / "policy.cedar"
    policy.write_text('@id("test-prod-writes-wait")\n@decision("delay")\n'
                      '@delay("10m")\n@snapshot("true")\n@reason("held, snapshot first")\n'
                      "permit (principal, action, resource)\n"
                      'when { context.effect == "write" && context.protected };\n')
    data = tmp_path / "prod"
    (data / "uploads").mkdir(parents=True)
    (data / "uploads" / "a.txt").write_text("keep me")
    config = parse_config_file(_config(tmp_path, paths=(str(data),), store=offsite,
                                       policy=policy))
    with Safehold.open(config, clock=clock, notify_in_background=False) as sh:
        ok = Action("http", {"method": "POST", "url": "https://api.prod.example.com/v1/x/2"})
        held = sh.evaluate(ok, requester="token:agent")
        assert held.verdict is Verdict.DELAY and held.decision.snapshot_first
        clock.advance(601)
        ran: list[str] = []
        done = sh.delays.run_due(lambda d: ran.append(d.id))
        assert ran == [] and done[0].state == "failed"
        assert "no snapshot driver covers" in (done[0].result or "")
