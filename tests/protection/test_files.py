"""SQLite and directory snapshots against real files: capture, destroy, restore, compare."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from safehold.errors import CorruptSnapshot, SnapshotError, SnapshotStoreError
from safehold.protection.drivers import driver_named
from safehold.protection.interface import Capture, sha256_file
from safehold.protection.local_store import LocalStore
from safehold.protection.snapshot import restore, take


def _sqlite(path: Path, rows: int = 500) -> None:
    with sqlite3.connect(path) as c:
        c.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT)")
        c.executemany("INSERT INTO orders VALUES (?, ?)", [(i, f"n{i}") for i in range(rows)])


def _rows(path: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(path) as c:
        return c.execute("SELECT id, note FROM orders ORDER BY id").fetchall()


def _tree(root: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_symlink():
            out[rel] = ("link", os.readlink(p))
        elif p.is_file():
            out[rel] = ("file", p.read_bytes(), p.stat().st_mode & 0o777)
        else:
            out[rel] = ("dir",)
    return out


def test_sqlite_snapshot_survives_drop_table(tmp_path: Path, offsite: Path) -> None:
    db = tmp_path / "app.db"
    _sqlite(db)
    before = _rows(db)
    store = LocalStore("offsite", offsite)
    m = take(Capture("sqlite", str(db), "file"), driver_named("sqlite"), store,
             retention_seconds=3600)
    assert m.parts[0].sha256 == sha256_file(offsite / m.id / "database.sqlite")
    with sqlite3.connect(db) as c:
        c.execute("DROP TABLE orders")
    with pytest.raises(SnapshotError, match="exists"):
        restore(store, m.id, str(db))
    restore(store, m.id, str(db), replace=True)
    assert _rows(db) == before
    copy = tmp_path / "copy.db"
    restore(store, m.id, str(copy))
    assert _rows(copy) == before


def test_directory_snapshot_survives_rm_rf(tmp_path: Path, offsite: Path) -> None:
    data = tmp_path / "uploads"
    (data / "a" / "b").mkdir(parents=True)
    (data / "a" / "b" / "report.txt").write_text("quarterly\n")
    (data / "blob.bin").write_bytes(os.urandom(300_000))
    (data / "script.sh").write_text("#!/bin/sh\n")
    (data / "script.sh").chmod(0o755)
    (data / "empty").mkdir()
    os.symlink("a/b/report.txt", data / "latest")
    before = _tree(data)
    store = LocalStore("offsite", offsite)
    m = take(Capture("directory", str(data), "directory"), driver_named("directory"), store,
             retention_seconds=3600)
    assert {p.name for p in m.parts} == {"tree.json"}
    assert m.size >= 300_000 and m.details["new_bytes"] >= 300_000
    subprocess.run(["rm", "-rf", str(data)], check=True)
    restore(store, m.id, str(data))
    assert _tree(data) == before


def test_a_store_on_the_same_filesystem_is_refused_or_flagged(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "f").write_text("x")
    cap = Capture("directory", str(data), "directory")
    with pytest.raises(SnapshotStoreError, match="same filesystem"):
        take(cap, driver_named("directory"), LocalStore("near", tmp_path / "backups"),
             retention_seconds=60)
    assert not any((tmp_path / "backups").iterdir())
    flagged = take(cap, driver_named("directory"),
                   LocalStore("near", tmp_path / "backups", allow_same_device=True),
                   retention_seconds=60)
    assert any("same filesystem" in w for w in flagged.warnings)


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_a_corrupt_snapshot_is_refused_and_nothing_is_written(
    tmp_path: Path, offsite: Path, damage: str
) -> None:
    db = tmp_path / "app.db"
    _sqlite(db)
    store = LocalStore("offsite", offsite)
    m = take(Capture("sqlite", str(db), "file"), driver_named("sqlite"), store,
             retention_seconds=60)
    part = offsite / m.id / "database.sqlite"
    part.chmod(0o644)
    if damage == "flip":
        data = bytearray(part.read_bytes())
        data[len(data) // 2] ^= 0xFF
        part.write_bytes(bytes(data))
    elif damage == "truncate":
        part.write_bytes(part.read_bytes()[:-10])
    else:
        part.unlink()
    with sqlite3.connect(db) as c:
        c.execute("DELETE FROM orders WHERE id > 10")
    after_damage = db.read_bytes()
    with pytest.raises(CorruptSnapshot, match=r"database\.sqlite"):
        restore(store, m.id, str(db), replace=True)
    assert db.read_bytes() == after_damage
    with pytest.raises(CorruptSnapshot):
        restore(store, m.id, str(tmp_path / "new.db"))
    assert not (tmp_path / "new.db").exists()


def test_a_full_store_fails_the_snapshot_and_leaves_nothing(tmp_path: Path) -> None:
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        data = tmp_path / "data"
        data.mkdir()
        (data / "big").write_bytes(os.urandom(1_000_000))
        with pytest.raises(SnapshotStoreError, match="No space left"):
            take(Capture("directory", str(data), "directory"), driver_named("directory"),
                 LocalStore("tiny", mnt), retention_seconds=60)
        # no snapshot is left; content chunks already written stay (unreferenced), never
        # a partial file
        assert [p.name for p in mnt.iterdir()] in ([], [".chunks"])
        assert not [p for p in mnt.rglob("*") if p.name.endswith(".partial")]
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
