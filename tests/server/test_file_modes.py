"""Everything the server writes is its own: files 0600, directories 0700, whatever the umask
of whoever started it, so no other user (the agent's, in the system deployment) can read the
database, its WAL, the session key, the checkpoint key or the checkpoints."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
from server_helpers import LiveServer

from safehold.audit import AuditLog
from safehold.store import open_store


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_a_new_sqlite_store_and_its_wal_are_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        shared = tmp_path / "shared"
        shared.mkdir(mode=0o755)
        db = shared / "new" / "dir" / "safehold.db"
        store = open_store(f"sqlite:///{db}")
        AuditLog(store).append("decision", {"cmd": "ls"})
        wal = db.with_name(db.name + "-wal")
        assert wal.exists()
        for f in (db, wal, db.with_name(db.name + "-shm")):
            assert _mode(f) == 0o600, f
        assert _mode(db.parent) == 0o700 and _mode(db.parent.parent) == 0o700
        assert _mode(shared) == 0o755, "a directory it did not create is left alone"
        store.close()
    finally:
        os.umask(old)


def test_an_existing_world_readable_database_is_tightened(tmp_path: Path) -> None:
    db = tmp_path / "safehold.db"
    open_store(f"sqlite:///{db}").close()
    os.chmod(db, 0o644)
    open_store(f"sqlite:///{db}").close()
    assert _mode(db) == 0o600


def test_safehold_serve_creates_nothing_others_can_read(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "XDG_DATA_HOME": str(data), "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
           "HOME": str(tmp_path)}
    env.pop("SAFEHOLD_CONFIG", None)
    old = os.umask(0o022)
    try:
        server = LiveServer(None, workdir=tmp_path, env=env).start()
    finally:
        os.umask(old)
    try:
        assert httpx.get(server.base + "/healthz", timeout=5).status_code == 200
    finally:
        server.stop()
    home = data / "safehold"
    made = sorted(home.rglob("*"))
    names = {p.relative_to(home).as_posix() for p in made}
    assert {"safehold.db", "secret.key", "keys/audit-signing.key",
            "checkpoints/audit-checkpoints.jsonl"} <= names
    for p in [home, *made]:
        assert _mode(p) == (0o700 if p.is_dir() else 0o600), p
