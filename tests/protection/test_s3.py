"""The S3 store against a real local S3-compatible server (moto's, on a free loopback port)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from safehold.errors import SnapshotStoreError
from safehold.protection.drivers import driver_named
from safehold.protection.interface import Capture
from safehold.protection.s3_store import S3Store
from safehold.protection.settings import StoreSettings
from safehold.protection.snapshot import restore, take

KEYS = {"AWS_KEY": "testing", "AWS_SECRET": "testing"}


def _store(endpoint: str, bucket: str) -> S3Store:
    settings = StoreSettings("vault", "s3", bucket=bucket, prefix="prod", endpoint_url=endpoint,
                             access_key_id_env="AWS_KEY", secret_access_key_env="AWS_SECRET")
    return S3Store(settings, environ=KEYS)


def _db(path: Path) -> Path:
    with sqlite3.connect(path) as c:
        c.execute("CREATE TABLE t (x)")
        c.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(100)])
    return path


def test_locked_snapshot_cannot_be_deleted_or_overwritten(
    s3: tuple[str, Any], tmp_path: Path
) -> None:
    endpoint, client = s3
    store = _store(endpoint, "locked")
    m = take(Capture("sqlite", str(_db(tmp_path / "a.db")), "file"), driver_named("sqlite"),
             store, retention_seconds=3600)
    assert m.locked and m.warnings == ()
    key = f"prod/{m.id}/database.sqlite"
    head = client.head_object(Bucket="locked", Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    for version in client.list_object_versions(Bucket="locked", Prefix=key)["Versions"]:
        with pytest.raises(client.exceptions.ClientError, match="AccessDenied"):
            client.delete_object(Bucket="locked", Key=key, VersionId=version["VersionId"])
    with pytest.raises(SnapshotStoreError, match="never overwritten"):
        store._put(key, b"tampered", m.retention_until)
    restored = tmp_path / "restored.db"
    restore(store, m.id, str(restored))
    with sqlite3.connect(restored) as c:
        assert c.execute("SELECT count(*) FROM t").fetchone() == (100,)
    assert store.ids() == [m.id]


def test_a_bucket_without_object_lock_is_flagged(s3: tuple[str, Any], tmp_path: Path) -> None:
    endpoint, _ = s3
    m = take(Capture("sqlite", str(_db(tmp_path / "b.db")), "file"), driver_named("sqlite"),
             _store(endpoint, "plain"), retention_seconds=60)
    assert not m.locked
    assert any("no Object Lock" in w for w in m.warnings)


def test_missing_keys_are_a_clear_error(s3: tuple[str, Any], tmp_path: Path) -> None:
    endpoint, _ = s3
    settings = StoreSettings("vault", "s3", bucket="locked", endpoint_url=endpoint,
                             access_key_id_env="NOPE", secret_access_key_env="NOPE2")
    with pytest.raises(SnapshotStoreError, match=r"\$NOPE is not set"):
        take(Capture("sqlite", str(_db(tmp_path / "c.db")), "file"), driver_named("sqlite"),
             S3Store(settings, environ={}), retention_seconds=60)


def test_a_named_credential_comes_from_the_lookup_and_never_from_the_environment(
    s3: tuple[str, Any], tmp_path: Path
) -> None:
    endpoint, _ = s3
    asked: list[str] = []

    def lookup(name: str) -> str | None:
        asked.append(name)
        return "testing:testing"

    settings = StoreSettings("vault", "s3", bucket="locked", endpoint_url=endpoint,
                             credential="vault-keys")
    from safehold.protection.stores import open_store

    m = take(Capture("sqlite", str(_db(tmp_path / "d.db")), "file"), driver_named("sqlite"),
             open_store(settings, secret=lookup), retention_seconds=60)
    assert m.locked and asked == ["vault-keys"]
    with pytest.raises(SnapshotStoreError, match="credential store is not open here"):
        take(Capture("sqlite", str(_db(tmp_path / "e.db")), "file"), driver_named("sqlite"),
             open_store(settings), retention_seconds=60)
