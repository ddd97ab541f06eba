"""A snapshot store in S3-compatible object storage, written with Object Lock when the bucket
has it, so a snapshot cannot be deleted or overwritten before its retention ends — not even
with the store's own credentials.

Objects live under `PREFIX/ID/PART`; the manifest is written last. An object is never
overwritten: a key that exists is refused (`IfNoneMatch`, and a HEAD first for services that
ignore it). Keys come from the credential store when the store names a credential (its value
is `ACCESS_KEY_ID:SECRET_ACCESS_KEY`), else from the named environment variables, else from
boto3's own chain. No key is ever part of an error message.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from safehold.errors import CorruptSnapshot, SafeholdError, SnapshotNotFound, SnapshotStoreError
from safehold.protection.chunks import check_digest
from safehold.protection.interface import HashingWriter, Manifest, SnapshotStore
from safehold.protection.settings import StoreSettings

MANIFEST = "manifest.json"
CHUNKS = "chunks"
SPOOL = 64 << 20


class S3Store(SnapshotStore):
    kind = "s3"

    def __init__(self, settings: StoreSettings, *, client: Any = None,
                 environ: Mapping[str, str] | None = None,
                 secret: Callable[[str], str | None] | None = None):
        """`secret(name)` opens a credential of the credential store (the server's lookup);
        `environ` holds the variables `*_env` settings name."""
        self.name = settings.name
        self.settings = settings
        self.bucket = settings.bucket
        self.prefix = settings.prefix.strip("/")
        self._client = client
        self._environ = os.environ if environ is None else environ
        self._credential_lookup = secret
        self._lock: bool | None = None

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            s = self.settings
            keys: dict[str, Any] = {}
            if s.credential:
                keys["aws_access_key_id"], keys["aws_secret_access_key"] = self._stored_keys()
            if s.access_key_id_env:
                keys["aws_access_key_id"] = self._secret(s.access_key_id_env)
            if s.secret_access_key_env:
                keys["aws_secret_access_key"] = self._secret(s.secret_access_key_env)
            self._client = boto3.client("s3", endpoint_url=s.endpoint_url,
                                        region_name=s.region or "us-east-1", **keys)
        return self._client

    def _secret(self, var: str) -> str:
        value = self._environ.get(var)
        if not value:
            raise SnapshotStoreError(f"store {self.name}: ${var} is not set")
        return value

    def _stored_keys(self) -> tuple[str, str]:
        name = self.settings.credential
        if self._credential_lookup is None:
            raise SnapshotStoreError(
                f"store {self.name}: its keys are credential {name!r}, and the credential store "
                "is not open here (run this where the server's key directory is readable)")
        try:
            value = self._credential_lookup(name or "")
        except SafeholdError as exc:
            raise SnapshotStoreError(f"store {self.name}: {exc}") from None
        key_id, sep, secret = (value or "").partition(":")
        if not sep or not key_id.strip() or not secret.strip():
            raise SnapshotStoreError(
                f"store {self.name}: credential {name!r} must hold "
                "ACCESS_KEY_ID:SECRET_ACCESS_KEY (rotate it with: safehold credentials rotate "
                f"{name})")
        return key_id.strip(), secret.strip()

    @property
    def locks(self) -> bool:
        if self._lock is None:
            try:
                cfg = self.client.get_object_lock_configuration(Bucket=self.bucket)
                self._lock = cfg.get("ObjectLockConfiguration", {}).get(
                    "ObjectLockEnabled") == "Enabled"
            except Exception as exc:
                code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
                if "ObjectLockConfigurationNotFound" not in code:
                    raise SnapshotStoreError(
                        f"store {self.name}: cannot read {self.location}: {exc}") from exc
                self._lock = False
        return self._lock

    def check_independent(self, paths: list[str]) -> list[str]:
        if self.locks:
            return []
        return [f"store {self.name} ({self.location}) has no Object Lock: anyone holding its "
                "credentials can delete these snapshots"]

    def _key(self, snapshot_id: str, name: str) -> str:
        if not snapshot_id or "/" in snapshot_id:
            raise SnapshotNotFound(f"{snapshot_id!r} is not a snapshot id")
        return "/".join(p for p in (self.prefix, snapshot_id, name) if p)

    def _put(self, key: str, body: Any, retention_until: str | None) -> None:
        extra: dict[str, Any] = {}
        if self.locks and retention_until:
            extra = {"ObjectLockMode": self.settings.lock_mode,
                     "ObjectLockRetainUntilDate": datetime.fromisoformat(retention_until)}
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") not in ("404",
                                                                              "NoSuchKey"):
                raise SnapshotStoreError(f"store {self.name}: cannot check {key}: {exc}") from exc
        else:
            raise SnapshotStoreError(f"store {self.name}: {key} exists; never overwritten")
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, IfNoneMatch="*",
                                   **extra)
        except Exception as exc:
            raise SnapshotStoreError(f"store {self.name}: writing {key} failed: {exc}") from exc

    @contextmanager
    def part_writer(
        self, snapshot_id: str, name: str, retention_until: str | None
    ) -> Iterator[HashingWriter]:
        key = self._key(snapshot_id, name)
        with tempfile.SpooledTemporaryFile(max_size=SPOOL) as spool:
            writer = HashingWriter(spool)  # type: ignore[arg-type]
            yield writer
            spool.seek(0)
            self._put(key, spool, retention_until)

    def fetch(self, snapshot_id: str, name: str, workdir: Path) -> Path:
        path = workdir / f"{snapshot_id}-{name}"
        try:
            self.client.download_file(self.bucket, self._key(snapshot_id, name), str(path))
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code in ("404", "NoSuchKey"):
                raise FileNotFoundError(name) from exc
            raise SnapshotStoreError(f"store {self.name}: reading {name} failed: {exc}") from exc
        return path

    def write_manifest(self, manifest: Manifest) -> None:
        self._put(self._key(manifest.id, MANIFEST), manifest.to_json().encode(),
                  manifest.retention_until)

    def read_manifest(self, snapshot_id: str) -> Manifest:
        try:
            body = self.client.get_object(Bucket=self.bucket,
                                          Key=self._key(snapshot_id, MANIFEST))["Body"].read()
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code in ("404", "NoSuchKey"):
                raise SnapshotNotFound(f"no snapshot {snapshot_id} in {self.location}") from exc
            raise SnapshotStoreError(f"store {self.name}: {exc}") from exc
        return Manifest.from_json(body)

    def ids(self) -> list[str]:
        prefix = f"{self.prefix}/" if self.prefix else ""
        found: list[str] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                    Bucket=self.bucket, Prefix=prefix):
                for obj in page.get("Contents", ()):
                    rest = obj["Key"][len(prefix):]
                    sid, _, name = rest.partition("/")
                    if name == MANIFEST:
                        found.append(sid)
        except Exception as exc:
            raise SnapshotStoreError(f"store {self.name}: cannot list {self.location}: "
                                     f"{exc}") from exc
        return sorted(found)

    # -- content chunks, shared by snapshots: `PREFIX/chunks/DIGEST` ---------------------------

    def _chunk_key(self, digest: str) -> str:
        return "/".join(p for p in (self.prefix, CHUNKS, check_digest(digest)) if p)

    def put_chunk(self, digest: str, data: bytes, retention_until: str | None) -> bool:
        key = self._chunk_key(digest)
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") not in ("404",
                                                                              "NoSuchKey"):
                raise SnapshotStoreError(f"store {self.name}: cannot check chunk "
                                         f"{digest[:12]}…: {exc}") from exc
        else:
            self._keep_until(key, head, retention_until)
            return False
        self._put(key, data, retention_until)
        return True

    def _keep_until(self, key: str, head: Mapping[str, Any], retention_until: str | None) -> None:
        """A chunk a newer snapshot also holds stays locked at least as long as that one."""
        if not (self.locks and retention_until):
            return
        wanted = datetime.fromisoformat(retention_until)
        held = head.get("ObjectLockRetainUntilDate")
        if held is not None and held >= wanted:
            return
        try:
            self.client.put_object_retention(
                Bucket=self.bucket, Key=key,
                Retention={"Mode": self.settings.lock_mode, "RetainUntilDate": wanted})
        except Exception as exc:
            raise SnapshotStoreError(f"store {self.name}: cannot extend the lock of {key}: "
                                     f"{exc}") from exc

    def get_chunk(self, digest: str) -> bytes:
        try:
            return bytes(self.client.get_object(Bucket=self.bucket,
                                                Key=self._chunk_key(digest))["Body"].read())
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code in ("404", "NoSuchKey"):
                raise CorruptSnapshot(f"chunk {digest[:12]}… is missing from store "
                                      f"{self.name}; nothing restored") from exc
            raise SnapshotStoreError(f"store {self.name}: reading chunk {digest[:12]}… "
                                     f"failed: {exc}") from exc

    def discard(self, snapshot_id: str) -> None:
        prefix = self._key(snapshot_id, "") + "/"
        try:
            listed = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
            for obj in listed.get("Contents", ()):
                self.client.delete_object(Bucket=self.bucket, Key=obj["Key"])
        except Exception:
            return
