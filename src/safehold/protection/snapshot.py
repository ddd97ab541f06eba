"""Take a snapshot, verify it, and restore it: the steps every driver and store share.

A snapshot is written part by part through the store; each part is then read back from the
store and its sha256 compared before the manifest is written, so a listed snapshot is one
that verified. A restore checks every part against the manifest before the driver writes
anything, so a corrupt or missing part leaves the target untouched.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from safehold.errors import CorruptSnapshot, SnapshotError, SnapshotStoreError
from safehold.protection.interface import (
    Capture,
    HashingWriter,
    Manifest,
    Part,
    SnapshotDriver,
    SnapshotStore,
    display_source,
    sha256_file,
)

Clock = Callable[[], datetime]


def new_id(now: datetime) -> str:
    return f"snap_{now.strftime('%Y%m%dT%H%M%SZ')}_{secrets.token_hex(4)}"


def take(
    capture: Capture,
    driver: SnapshotDriver,
    store: SnapshotStore,
    *,
    retention_seconds: int,
    clock: Clock | None = None,
) -> Manifest:
    """Capture, write, read back and verify, then record the manifest; raise on any failure
    after removing what was written."""
    now = (clock or (lambda: datetime.now(UTC)))()
    snapshot_id = new_id(now)
    retention_until = (now + timedelta(seconds=retention_seconds)).isoformat()
    warnings = list(store.check_independent(driver.local_paths(capture)))
    parts: list[Part] = []

    @contextmanager
    def open_part(name: str) -> Iterator[HashingWriter]:
        with store.part_writer(snapshot_id, name, retention_until) as w:
            yield w
        parts.append(Part(name, w.size, w.sha256))

    opener: Callable[[str], AbstractContextManager[HashingWriter]] = open_part
    try:
        if driver.uses_chunks:
            from safehold.protection.chunks import ChunkWriter

            details = driver.capture(capture, opener,  # type: ignore[call-arg]
                                     chunks=ChunkWriter(store, retention_until))
        else:
            details = driver.capture(capture, opener)
        if not parts:
            raise SnapshotError(f"{driver.name} wrote nothing for {capture.label}")
        with tempfile.TemporaryDirectory(prefix="safehold-verify-") as work:
            for part in parts:
                _check(store, snapshot_id, part, Path(work))
        warnings.extend(details.pop("warnings", ()))
        manifest = Manifest(
            id=snapshot_id,
            driver=driver.name,
            source=display_source(capture.source),
            scope=capture.scope,
            created_at=now.isoformat(),
            parts=tuple(parts),
            store=store.name,
            store_location=store.location,
            tables=capture.tables,
            where=capture.where,
            environment=capture.environment,
            retention_until=retention_until,
            locked=store.locks,
            warnings=tuple(warnings),
            details=details,
        )
        store.write_manifest(manifest)
        return manifest
    except BaseException as exc:
        if not store.locks:
            store.discard(snapshot_id)
        if isinstance(exc, SnapshotError) or not isinstance(exc, Exception):
            raise
        raise SnapshotError(f"snapshot of {capture.label} failed: {exc}") from exc


def _check(store: SnapshotStore, snapshot_id: str, part: Part, work: Path) -> Path:
    try:
        path = store.fetch(snapshot_id, part.name, work)
        size = path.stat().st_size
        digest = sha256_file(path)
    except FileNotFoundError:
        raise CorruptSnapshot(f"snapshot {snapshot_id}: part {part.name} is missing") from None
    except OSError as exc:
        raise SnapshotStoreError(f"snapshot {snapshot_id}: cannot read {part.name}: {exc}") from exc
    if size != part.size or digest != part.sha256:
        raise CorruptSnapshot(
            f"snapshot {snapshot_id}: part {part.name} does not match its manifest "
            f"(sha256 {digest[:12]}…, {size} bytes; expected {part.sha256[:12]}…, "
            f"{part.size} bytes); nothing restored"
        )
    return path


def verify(store: SnapshotStore, snapshot_id: str, work: Path) -> tuple[Manifest, dict[str, Path]]:
    """The manifest and a verified local file per part; CorruptSnapshot when any is off."""
    manifest = store.read_manifest(snapshot_id)
    if manifest.id != snapshot_id:
        raise CorruptSnapshot(f"snapshot {snapshot_id}: its manifest names {manifest.id}")
    return manifest, {p.name: _check(store, snapshot_id, p, work) for p in manifest.parts}


def restore(
    store: SnapshotStore,
    snapshot_id: str,
    to: str,
    *,
    replace: bool = False,
    drivers: Callable[[str], SnapshotDriver] | None = None,
) -> tuple[Manifest, str]:
    """Verify every part, then let the snapshot's driver write `to`."""
    from safehold.protection.drivers import driver_named

    with tempfile.TemporaryDirectory(prefix="safehold-restore-") as work:
        manifest, parts = verify(store, snapshot_id, Path(work))
        driver = (drivers or driver_named)(manifest.driver)
        if driver.uses_chunks:
            return manifest, driver.restore(manifest, parts, to, replace=replace,  # type: ignore[call-arg]
                                            chunks=store)
        return manifest, driver.restore(manifest, parts, to, replace=replace)
