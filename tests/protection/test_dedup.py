"""Deduplicated directory snapshots: a second snapshot of a mostly unchanged tree stores only
the chunks that changed; a restore checks every chunk, and a corrupt or missing one, or a tree
written to escape its target, restores nothing over live data."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from safehold.errors import CorruptSnapshot, SnapshotError
from safehold.protection.chunks import CHUNK_SIZE, restore_tree
from safehold.protection.drivers import driver_named
from safehold.protection.interface import Capture
from safehold.protection.local_store import LocalStore
from safehold.protection.snapshot import restore, take


def _tree(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_symlink():
            out[rel] = "-> " + os.readlink(p)
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


def _data(root: Path) -> Path:
    data = root / "volume"
    (data / "media").mkdir(parents=True)
    for i in range(4):  # 2.5 chunks each
        (data / "media" / f"v{i}.bin").write_bytes(os.urandom(CHUNK_SIZE * 2 + CHUNK_SIZE // 2))
    (data / "notes.txt").write_text("hello\n")
    os.symlink("media/v0.bin", data / "latest")
    return data


def _chunks(store: Path) -> set[str]:
    return {p.name for p in (store / ".chunks").rglob("*") if p.is_file()}


def _snap(data: Path, store: Any) -> Any:
    return take(Capture("directory", str(data), "directory"), driver_named("directory"), store,
                retention_seconds=3600)


def test_a_second_snapshot_stores_only_the_changed_chunks(tmp_path: Path, offsite: Path) -> None:
    data = _data(tmp_path)
    store = LocalStore("offsite", offsite)
    first = _snap(data, store)
    assert len(_chunks(offsite)) == 4 * 3 + 1
    assert first.details["new_chunks"] == 13
    # change one byte in the middle chunk of one file, and the small file
    with (data / "media" / "v2.bin").open("r+b") as f:
        f.seek(CHUNK_SIZE + 10)
        f.write(b"\x00" if f.read(1) != b"\x00" else b"\x01")
    (data / "notes.txt").write_text("hello again\n")
    second = _snap(data, store)
    assert second.details["new_chunks"] == 2
    assert second.details["new_bytes"] == CHUNK_SIZE + len("hello again\n")
    assert len(_chunks(offsite)) == 15
    assert second.size == first.size - len("hello\n") + len("hello again\n") + (
        second.parts[0].size - first.parts[0].size)
    # both restore, each to its own state
    now = _tree(data)
    restore(store, second.id, str(tmp_path / "r2"))
    assert _tree(tmp_path / "r2") == now
    restore(store, first.id, str(tmp_path / "r1"))
    assert (tmp_path / "r1" / "notes.txt").read_text() == "hello\n"


def test_a_chunk_the_store_does_not_keep_as_written_fails_the_snapshot(
    tmp_path: Path, offsite: Path
) -> None:
    """The read-back compares the stored bytes with the bytes that were hashed: a store that
    keeps something else under the digest (a bad disk, a tampered write) records nothing."""

    class Garbling(LocalStore):
        def put_chunk(self, digest: str, data: bytes, retention_until: str | None) -> bool:
            return super().put_chunk(digest, data[:-1] + bytes([data[-1] ^ 1]), retention_until)

    data = _data(tmp_path)
    store = Garbling("offsite", offsite)
    with pytest.raises(CorruptSnapshot, match="did not read back as written"):
        _snap(data, store)
    assert store.ids() == []
    assert list((offsite / ".chunks").rglob("*.partial")) == []
    clean = _snap(data, LocalStore("offsite2", offsite / "clean"))
    for p in (offsite / "clean" / ".chunks").rglob("*"):
        if p.is_file():
            assert p.stat().st_mode & 0o777 == 0o444, "chunks are read-only"
            assert hashlib.sha256(p.read_bytes()).hexdigest() == p.name
    assert clean.details["new_chunks"] == 13


@pytest.mark.parametrize("damage", ["flip", "delete"])
def test_a_bad_chunk_restores_nothing_over_live_data(
    tmp_path: Path, offsite: Path, damage: str
) -> None:
    data = _data(tmp_path)
    store = LocalStore("offsite", offsite)
    m = _snap(data, store)
    (data / "notes.txt").write_text("live edits since the snapshot\n")
    (data / "media" / "v3.bin").unlink()
    live = _tree(data)
    last = hashlib.sha256((data / "media" / "v1.bin").read_bytes()[-CHUNK_SIZE // 2:]
                          ).hexdigest()
    [chunk] = [p for p in (offsite / ".chunks").rglob(last)]
    chunk.chmod(0o644)
    if damage == "flip":
        raw = bytearray(chunk.read_bytes())
        raw[7] ^= 0xFF
        chunk.write_bytes(bytes(raw))
    else:
        chunk.unlink()
    with pytest.raises(CorruptSnapshot, match=r"corrupt|missing") as err:
        restore(store, m.id, str(data), replace=True)
    assert last[:12] in str(err.value) and "nothing restored" in str(err.value)
    assert _tree(data) == live
    assert sorted(p.name for p in tmp_path.iterdir()) == ["volume"], "no staging left behind"


@pytest.mark.parametrize("entries", [
    [{"path": "../escape.txt", "type": "file", "chunks": [], "sha256": "x"}],
    [{"path": "/etc/evil", "type": "file", "chunks": [], "sha256": "x"}],
    [{"path": "out", "type": "link", "link": "../../"},
     {"path": "out/planted", "type": "file", "chunks": [], "sha256": "x"}],
    [{"path": "abs", "type": "link", "link": "/etc"}],
])
def test_a_tree_written_to_escape_its_target_is_refused(
    tmp_path: Path, entries: list[dict[str, Any]]
) -> None:
    class NoChunks:
        def get_chunk(self, digest: str) -> bytes:
            raise AssertionError("no chunk should be read")

    into = tmp_path / "a" / "b" / "staging"
    into.mkdir(parents=True)
    with pytest.raises((CorruptSnapshot, SnapshotError)):
        restore_tree(entries, into, NoChunks())
    outside = [p for p in tmp_path.rglob("*") if not str(p).startswith(str(into))
               and p.is_file()]
    assert outside == []
    assert not (tmp_path / "a" / "escape.txt").exists()


def test_s3_chunks_are_shared_and_kept_as_long_as_the_newest_snapshot(
    s3: tuple[str, Any], tmp_path: Path
) -> None:
    from safehold.protection.s3_store import S3Store
    from safehold.protection.settings import StoreSettings

    endpoint, client = s3
    store = S3Store(StoreSettings("vault", "s3", bucket="locked", prefix="dedup",
                                  endpoint_url=endpoint),
                    environ={"AWS_ACCESS_KEY_ID": "testing"},
                    client=client)
    data = tmp_path / "d"
    data.mkdir()
    (data / "big.bin").write_bytes(os.urandom(CHUNK_SIZE + 5))
    first = take(Capture("directory", str(data), "directory"), driver_named("directory"),
                 store, retention_seconds=60)
    second = take(Capture("directory", str(data), "directory"), driver_named("directory"),
                  store, retention_seconds=7200)
    assert first.details["new_chunks"] == 2 and second.details["new_chunks"] == 0
    keys = [o["Key"] for o in client.list_objects_v2(Bucket="locked",
                                                     Prefix="dedup/chunks/")["Contents"]]
    assert len(keys) == 2
    until = datetime.fromisoformat(second.retention_until or "")
    for key in keys:
        head = client.head_object(Bucket="locked", Key=key)
        assert head["ObjectLockRetainUntilDate"] >= until.replace(microsecond=0)
    restore(store, second.id, str(tmp_path / "back"))
    assert (tmp_path / "back" / "big.bin").read_bytes() == (data / "big.bin").read_bytes()
