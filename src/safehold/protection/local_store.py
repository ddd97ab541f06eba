"""A snapshot store in a local directory that must live on another device than the data.

The incident's backups died with the volume they sat on. So before a snapshot is written the
store compares its own filesystem (`st_dev`) with the source's: the same device is refused,
unless the store is configured with `allow_same_device = true`, in which case every manifest
carries a co-location warning the Backups page shows. Parts are written to a temp name, flushed
to disk and renamed; finished parts and manifests are made read-only. Content chunks of
directory snapshots live once each under `.chunks/`, shared by every snapshot that holds them.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from safehold.errors import CorruptSnapshot, SnapshotNotFound, SnapshotStoreError
from safehold.protection.chunks import check_digest
from safehold.protection.interface import HashingWriter, Manifest, SnapshotStore

MANIFEST = "manifest.json"
CHUNKS = ".chunks"


class LocalStore(SnapshotStore):
    kind = "directory"

    def __init__(self, name: str, root: str | os.PathLike[str], *,
                 allow_same_device: bool = False):
        self.name = name
        self.root = Path(root)
        self.allow_same_device = allow_same_device

    @property
    def location(self) -> str:
        return str(self.root)

    def _device(self) -> int:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            return self.root.stat().st_dev
        except OSError as exc:
            raise SnapshotStoreError(f"store {self.name}: cannot use {self.root}: {exc}") from exc

    def check_independent(self, paths: list[str]) -> list[str]:
        mine = self._device()
        warnings = []
        for p in paths:
            try:
                theirs = os.stat(p).st_dev
            except OSError:
                continue
            if theirs != mine:
                continue
            problem = (f"store {self.name} ({self.root}) is on the same filesystem as {p} "
                       f"(device {os.major(mine)}:{os.minor(mine)}): a copy there is lost "
                       "with the data")
            if not self.allow_same_device:
                raise SnapshotStoreError(
                    f"{problem}; refused. Put the store on another device or provider, or set "
                    "allow_same_device = true on the store to keep such copies, flagged"
                )
            warnings.append(problem)
        return warnings

    def _dir(self, snapshot_id: str) -> Path:
        if not snapshot_id or "/" in snapshot_id or snapshot_id.startswith("."):
            raise SnapshotNotFound(f"{snapshot_id!r} is not a snapshot id")
        return self.root / snapshot_id

    @contextmanager
    def part_writer(
        self, snapshot_id: str, name: str, retention_until: str | None
    ) -> Iterator[HashingWriter]:
        folder = self._dir(snapshot_id)
        final = folder / name
        tmp = folder / f".{name}.partial"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if final.exists():
                raise SnapshotStoreError(f"store {self.name}: {final} exists; never overwritten")
            with tmp.open("xb") as raw:
                writer = HashingWriter(raw)
                yield writer
                raw.flush()
                os.fsync(raw.fileno())
            os.rename(tmp, final)
            final.chmod(0o444)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise SnapshotStoreError(
                f"store {self.name}: writing {name} to {folder} failed: {exc}") from exc
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def fetch(self, snapshot_id: str, name: str, workdir: Path) -> Path:
        return self._dir(snapshot_id) / name

    def write_manifest(self, manifest: Manifest) -> None:
        folder = self._dir(manifest.id)
        path = folder / MANIFEST
        try:
            with (folder / f".{MANIFEST}.partial").open("x") as f:
                f.write(manifest.to_json())
                f.flush()
                os.fsync(f.fileno())
            os.rename(folder / f".{MANIFEST}.partial", path)
            path.chmod(0o444)
            dirfd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dirfd)
            finally:
                os.close(dirfd)
        except OSError as exc:
            raise SnapshotStoreError(
                f"store {self.name}: writing the manifest of {manifest.id} failed: {exc}"
            ) from exc

    def read_manifest(self, snapshot_id: str) -> Manifest:
        path = self._dir(snapshot_id) / MANIFEST
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise SnapshotNotFound(f"no snapshot {snapshot_id} in store {self.name} "
                                   f"({self.root})") from None
        except OSError as exc:
            raise SnapshotStoreError(f"store {self.name}: cannot read {path}: {exc}") from exc
        return Manifest.from_json(text)

    def ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / MANIFEST).is_file())

    def discard(self, snapshot_id: str) -> None:
        shutil.rmtree(self._dir(snapshot_id), ignore_errors=True)

    # -- content chunks, shared by snapshots: `.chunks/ab/abcd…`, written once, read-only ------

    def _chunk(self, digest: str) -> str:
        # plain strings and os calls: a first snapshot of a tree handles one chunk per small
        # file, and pathlib's per-call parsing was a tenth of its time
        return os.path.join(self.root, CHUNKS, check_digest(digest)[:2], digest)

    def put_chunk(self, digest: str, data: bytes, retention_until: str | None) -> bool:
        path = self._chunk(digest)
        if os.path.isfile(path):
            return False
        folder = os.path.dirname(path)
        tmp = os.path.join(folder, f".{digest}.{os.getpid()}.{threading.get_ident()}.partial")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            try:
                fd = os.open(tmp, flags, 0o444)
            except FileNotFoundError:  # the first chunk in its fan-out folder
                os.makedirs(folder, exist_ok=True)
                fd = os.open(tmp, flags, 0o444)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.link(tmp, path)  # never replaces a chunk already there
        except FileExistsError:
            return False
        except OSError as exc:
            raise SnapshotStoreError(
                f"store {self.name}: writing chunk {digest[:12]}… failed: {exc}") from exc
        finally:
            with suppress(FileNotFoundError):
                os.unlink(tmp)
        return True

    def get_chunk(self, digest: str) -> bytes:
        try:
            with open(self._chunk(digest), "rb", buffering=0) as f:
                return f.read()
        except FileNotFoundError:
            raise CorruptSnapshot(f"chunk {digest[:12]}… is missing from store {self.name}; "
                                  "nothing restored") from None
        except OSError as exc:
            raise SnapshotStoreError(
                f"store {self.name}: cannot read chunk {digest[:12]}…: {exc}") from exc
