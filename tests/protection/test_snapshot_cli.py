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
    part = offsite / snap / "files.tar"
    part.chmod(0o644)
    with part.open("r+b") as f:
        f.seek(1000)
        f.write(b"\xff\xfe")
    bad = run("restore", snap, "--store", str(offsite), "--to", str(tmp_path / "other"),
              cwd=tmp_path, check=False)
    assert bad.returncode == 1 and "does not match its manifest" in bad.stderr
    assert not (tmp_path / "other").exists()
    missing = run("restore", "snap_nope", "--store", str(offsite), "--to", str(tmp_path / "o"),
                  cwd=tmp_path, check=False)
    assert missing.returncode == 1 and "no snapshot snap_nope" in missing.stderr


def test_restore_over_the_original_waits_for_another_persons_approval(
    tmp_path: Path, offsite: Path
) -> None:
    db = tmp_path / "app.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE t (x)")
        c.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(10)])
    config = tmp_path / "safehold.toml"
    config.write_text(f'database_url = "sqlite:///{tmp_path / "safehold.db"}"\n\n'
                      f'[snapshots.stores.offsite]\nkind = "directory"\npath = "{offsite}"\n')
    snap = run("snapshot", str(db), cwd=tmp_path).stdout.strip()
    with sqlite3.connect(db) as c:
        c.execute("DELETE FROM t")
    first = run("restore", snap, "--replace", "--to", str(db), cwd=tmp_path, check=False)
    assert first.returncode == 3, first.stderr
    approval = first.stderr.split("request ")[1].split(".")[0]
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT count(*) FROM t").fetchone() == (0,)
    with Safehold.open(parse_config_file(config), notify_in_background=False) as sh:
        sh.vote(approval, "user:ann", True)
    run("restore", snap, "--replace", "--to", str(db), cwd=tmp_path)
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT count(*) FROM t").fetchone() == (10,)
    with Safehold.open(parse_config_file(config), notify_in_background=False) as sh:
        restored = sh.audit.tail(5, type="snapshot.restored")
    assert len(restored) == 1 and snap in restored[0].payload, "a restore is on the record"
    # the approval was for one restore: a second needs a new one
    assert run("restore", snap, "--replace", "--to", str(db), cwd=tmp_path,
               check=False).returncode == 3


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
