"""`safehold snapshot`, `snapshots list` and `restore` as a user runs them: real subprocesses,
ad hoc (`--store DIR`, no config file) and with a config whose server wants an approval."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

import pg
from safehold.config import parse_config_file
from safehold.service import Safehold

SAFEHOLD = str(Path(sys.executable).with_name("safehold"))


def run(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(cwd / "xdg"), "SAFEHOLD_CONFIG": ""}
    result = subprocess.run([SAFEHOLD, *args], cwd=cwd, capture_output=True, text=True,
                            env=env, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.mark.postgres
def test_snapshot_list_and_restore_a_database_ad_hoc(
    tmp_path: Path, offsite: Path, pg_server: pg.PostgresServer
) -> None:
    url = pg_server.create_database().replace("+psycopg", "")
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("CREATE TABLE orders (id int PRIMARY KEY, note text)")
        c.execute("INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 500) g")
        before = c.execute("SELECT * FROM orders ORDER BY id").fetchall()
    taken = run("snapshot", url, "--store", str(offsite), cwd=tmp_path)
    snap = taken.stdout.strip().splitlines()[-1]
    assert snap.startswith("snap_") and snap == taken.stdout.strip()
    listed = run("snapshots", "list", url, "--store", str(offsite), cwd=tmp_path).stdout
    assert snap in listed and "database" in listed
    copy = url.rsplit("/", 1)[0] + "/shop_copy"
    out = run("restore", snap, "--store", str(offsite), "--to", copy, cwd=tmp_path).stdout
    assert "created" in out
    with psycopg.connect(copy) as c:
        assert c.execute("SELECT * FROM orders ORDER BY id").fetchall() == before
    again = run("restore", snap, "--store", str(offsite), "--to", copy, cwd=tmp_path,
                check=False)
    assert again.returncode == 1 and "exists" in again.stderr


def test_directory_snapshot_rm_rf_restore_and_a_corrupt_part(tmp_path: Path,
                                                             offsite: Path) -> None:
    data = tmp_path / "uploads"
    (data / "x").mkdir(parents=True)
    (data / "x" / "a.bin").write_bytes(os.urandom(50_000))
    before = (data / "x" / "a.bin").read_bytes()
    snap = run("snapshot", str(data), "--store", str(offsite), cwd=tmp_path).stdout.strip()
    subprocess.run(["rm", "-rf", str(data)], check=True)
    run("restore", snap, "--store", str(offsite), "--to", str(data), cwd=tmp_path)
    assert (data / "x" / "a.bin").read_bytes() == before
    [chunk] = [p for p in (offsite / ".chunks").rglob("*") if p.is_file()]
    chunk.chmod(0o644)
    with chunk.open("r+b") as f:
        f.seek(1000)
        f.write(b"\xff\xfe")
    bad = run("restore", snap, "--store", str(offsite), "--to", str(tmp_path / "other"),
              cwd=tmp_path, check=False)
    assert bad.returncode == 1 and "is corrupt" in bad.stderr and "a.bin" in bad.stderr
    assert not (tmp_path / "other").exists()
    tree = offsite / snap / "tree.json"
    tree.chmod(0o644)
    tree.write_text(tree.read_text().replace("a.bin", "b.bin"))
    bad = run("restore", snap, "--store", str(offsite), "--to", str(tmp_path / "other"),
              cwd=tmp_path, check=False)
    assert bad.returncode == 1 and "does not match its manifest" in bad.stderr
    assert not (tmp_path / "other").exists()
    missing = run("restore", "snap_nope", "--store", str(offsite), "--to", str(tmp_path / "o"),
                  cwd=tmp_path, check=False)
    assert missing.returncode == 1 and "no snapshot snap_nope" in missing.stderr


def run_in(*args: str, cwd: Path, stdin: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(cwd / "xdg"), "SAFEHOLD_CONFIG": ""}
    return subprocess.run([SAFEHOLD, *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=120, input=stdin)


def _restore_setup(tmp_path: Path, offsite: Path, policy: str = "") -> tuple[Path, str]:
    """A SQLite database, a config with a store (and a policy file when given), two dashboard
    people (ann, admin; bob, approver), a snapshot of the database, then its rows deleted."""
    db = tmp_path / "app.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE t (x)")
        c.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(10)])
    config = tmp_path / "safehold.toml"
    head = f'database_url = "sqlite:///{tmp_path / "safehold.db"}"\n'
    if policy:
        (tmp_path / "policy.cedar").write_text(policy)
        head += 'policy = "policy.cedar"\n'
    config.write_text(head + f'\n[snapshots.stores.offsite]\nkind = "directory"\n'
                      f'path = "{offsite}"\n')
    for name, role in (("ann", "admin"), ("bob", "approver")):
        r = run_in("users", "add", name, "--role", role, "--password-stdin", cwd=tmp_path,
                   stdin=f"{name}-password-long-enough\n")
        assert r.returncode == 0, r.stderr
    snap = run("snapshot", str(db), cwd=tmp_path).stdout.strip()
    with sqlite3.connect(db) as c:
        c.execute("DELETE FROM t")
    return db, snap


def _rows(db: Path) -> int:
    with sqlite3.connect(db) as c:
        return int(c.execute("SELECT count(*) FROM t").fetchone()[0])


def test_restore_over_the_original_is_decided_by_the_policy_and_another_person_approves(
    tmp_path: Path, offsite: Path
) -> None:
    from safehold.errors import SelfApprovalError

    db, snap = _restore_setup(tmp_path, offsite)
    restore = ("restore", snap, "--replace", "--to", str(db), "--as", "ann")
    ann, bob = "ann-password-long-enough\n", "bob-password-long-enough\n"
    assert run("restore", snap, "--replace", "--to", str(db), cwd=tmp_path,
               check=False).returncode == 2, "who is asking must be said"
    wrong = run_in(*restore, cwd=tmp_path, stdin="not-her-password\n")
    assert wrong.returncode != 0 and _rows(db) == 0
    first = run_in(*restore, cwd=tmp_path, stdin=ann)
    assert first.returncode == 3, first.stderr
    assert "another person approves this exact restore" in first.stderr
    approval = first.stderr.split("request ")[1].split(".")[0]
    assert _rows(db) == 0
    # the requester cannot approve her own restore, from the terminal or the service
    own = run_in("approvals", "approve", approval, "--as", "ann", cwd=tmp_path, stdin=ann)
    assert own.returncode != 0, own.stdout
    with Safehold.open(parse_config_file(tmp_path / "safehold.toml"),
                       notify_in_background=False) as sh:
        with pytest.raises(SelfApprovalError):
            sh.vote(approval, "user/ANN", True)
        assert sh.approvals.get(approval).state == "pending"
        decided = sh.audit.tail(50, type="decision")
        assert any("restore-over-original" in str(e.data) for e in decided)
    assert run_in(*restore, cwd=tmp_path, stdin=ann).returncode == 3
    assert _rows(db) == 0
    # bob approves; the same restore by the same requester now runs, once
    approved = run_in("approvals", "approve", approval, "--as", "bob", cwd=tmp_path, stdin=bob)
    assert approved.returncode == 0, approved.stderr
    # another person cannot spend ann's approval
    assert run_in("restore", snap, "--replace", "--to", str(db), "--as", "bob", cwd=tmp_path,
                  stdin=bob).returncode == 3
    done = run_in(*restore, cwd=tmp_path, stdin=ann)
    assert done.returncode == 0, done.stderr
    assert _rows(db) == 10
    with Safehold.open(parse_config_file(tmp_path / "safehold.toml"),
                       notify_in_background=False) as sh:
        restored = sh.audit.tail(5, type="snapshot.restored")
    assert len(restored) == 1 and snap in restored[0].payload, "a restore is on the record"
    again = run_in(*restore, cwd=tmp_path, stdin=ann)
    assert again.returncode == 3, "the approval was for one restore"


def test_a_policy_that_forbids_restoring_over_the_original_is_honoured(
    tmp_path: Path, offsite: Path
) -> None:
    policy = """
@id("no-restore-over-data")
@reason("this team restores into a new target and swaps by hand")
forbid (principal, action == Action::"restore", resource)
when { context.operations.contains("restore:replace") };
"""
    db, snap = _restore_setup(tmp_path, offsite, policy)
    r = run_in("restore", snap, "--replace", "--to", str(db), "--as", "ann", cwd=tmp_path,
               stdin="ann-password-long-enough\n")
    assert r.returncode == 1, r.stderr
    assert "refused" in r.stderr and "restores into a new target" in r.stderr
    assert _rows(db) == 0
    with Safehold.open(parse_config_file(tmp_path / "safehold.toml"),
                       notify_in_background=False) as sh:
        assert sh.approvals.list("pending") == []
    # a restore into a new target is not what the rule forbids
    copy = tmp_path / "copy.db"
    run("restore", snap, "--to", str(copy), cwd=tmp_path)
    assert _rows(copy) == 10


@pytest.mark.postgres
def test_drill_restores_into_scratch_checks_and_records_rto_and_rpo(
    tmp_path: Path, offsite: Path, pg_server: pg.PostgresServer
) -> None:
    url = pg_server.create_database().replace("+psycopg", "")
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("CREATE TABLE orders (id int PRIMARY KEY)")
        c.execute("INSERT INTO orders SELECT generate_series(1, 123)")
    config = tmp_path / "safehold.toml"
    config.write_text(f'database_url = "sqlite:///{tmp_path / "safehold.db"}"\n\n'
                      f'[environments.production]\ndatabases = ["{url}"]\n\n'
                      f'[snapshots.stores.offsite]\nkind = "directory"\npath = "{offsite}"\n')
    snap = run("snapshot", url, cwd=tmp_path).stdout.strip()
    out = run("drill", url, "--query", "SELECT * FROM orders WHERE id > 100",
              cwd=tmp_path).stdout
    assert "public.orders: 123 rows" in out and "query returned 23 row(s)" in out
    assert "RTO " in out and "RPO " in out
    with psycopg.connect(url) as c:
        left = c.execute("SELECT datname FROM pg_database WHERE datname LIKE "
                         "'safehold_drill_%'").fetchall()
    assert left == [], "the scratch database is removed"
    bad = run("drill", url, "--query", "SELECT * FROM no_such_table", cwd=tmp_path, check=False)
    assert bad.returncode == 1 and "drill failed" in bad.stderr
    with Safehold.open(parse_config_file(config), notify_in_background=False) as sh:
        done = sh.audit.tail(5, type="drill.completed")
        failed = sh.audit.tail(5, type="drill.failed")
    assert done[-1].data["snapshot"] == snap and done[-1].data["rto_seconds"] > 0
    assert failed[-1].data["ok"] is False and "no_such_table" in failed[-1].data["error"]
