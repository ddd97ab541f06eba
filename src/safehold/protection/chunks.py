"""Deduplicated directory snapshots: file contents cut into fixed-size chunks, each stored once
in the store under its sha256, and a tree part listing every entry and the chunks of each file.

A second snapshot of a mostly unchanged tree writes only the chunks it has not seen (like
restic, with fixed chunks: a change inside a file costs the chunks it touches). Each new chunk
is read back from the store and compared with the bytes its digest was computed from before
the snapshot is recorded. A restore fetches every chunk, checks its size and sha256 and then
each file's sha256, all into a fresh directory beside the target; any corrupt or missing chunk
is an error naming it, and the target is not touched. Paths are checked (relative, no `..`),
files are created exclusively without following links, and links are made last and only when
they stay inside the tree — the same rules as tarfile's `data` filter.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from safehold.errors import CorruptSnapshot, SnapshotError

CHUNK_SIZE = 1 << 20
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class ChunkSink(Protocol):
    def put(self, digest: str, data: bytes) -> None: ...

    def drain(self) -> None:
        """Return once every chunk put is stored and verified; raise the first failure."""


class ChunkSource(Protocol):
    def get_chunk(self, digest: str) -> bytes: ...


def check_digest(digest: str) -> str:
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise CorruptSnapshot(f"{digest!r} is not a chunk digest")
    return digest


class ChunkWriter:
    """Puts chunks into a store once, verifies each new one by reading it back, and counts
    what was new and what was already there.

    Writes run on a few threads while the caller reads and hashes the next files: each new
    chunk is still written, fsynced and read back on its own, but the fsyncs overlap (the
    filesystem commits them together) instead of each waiting for the last. At most
    `IN_FLIGHT` chunks are held in memory; `drain` waits for all of them."""

    THREADS = 8
    IN_FLIGHT = 32

    def __init__(self, store: Any, retention_until: str | None):
        self.store = store
        self.retention_until = retention_until
        self.new_chunks = self.new_bytes = self.reused_bytes = 0
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pending: deque[Future[None]] = deque()

    def put(self, digest: str, data: bytes) -> None:
        if digest in self._seen:
            with self._lock:
                self.reused_bytes += len(data)
            return
        self._seen.add(digest)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.THREADS, thread_name_prefix="safehold-chunk")
        self._pending.append(self._pool.submit(self._store, digest, data))
        while len(self._pending) > self.IN_FLIGHT:
            self._pending.popleft().result()

    def _store(self, digest: str, data: bytes) -> None:
        if not self.store.put_chunk(digest, data, self.retention_until):
            with self._lock:
                self.reused_bytes += len(data)
            return
        # the bytes read back must be the bytes hashed: comparing them is as strict as
        # hashing them again (their digest is `digest`) and costs a memcmp, not a sha256
        if self.store.get_chunk(digest) != data:
            raise CorruptSnapshot(f"chunk {digest[:12]}… did not read back as written")
        with self._lock:
            self.new_chunks += 1
            self.new_bytes += len(data)

    def drain(self) -> None:
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self.close()

    def close(self) -> None:
        """Stop: wait for writes under way, drop the rest (after a failure elsewhere)."""
        for f in self._pending:
            f.cancel()
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def capture_tree(root: Path, walk: list[tuple[Path, str]], sink: ChunkSink
                 ) -> tuple[list[dict[str, Any]], list[str]]:
    """The tree's entries (files with their chunks) and warnings for what was skipped."""
    entries: list[dict[str, Any]] = []
    warnings: list[str] = []
    try:
        for path, rel in walk:
            try:
                st = os.lstat(path)
            except OSError as exc:
                raise SnapshotError(f"cannot read {path}: {exc}") from exc
            if stat.S_ISDIR(st.st_mode):
                entries.append({"path": rel, "type": "dir", "mode": stat.S_IMODE(st.st_mode)})
            elif stat.S_ISLNK(st.st_mode):
                entries.append({"path": rel, "type": "link", "link": os.readlink(path)})
            elif stat.S_ISREG(st.st_mode):
                entries.append(_capture_file(path, rel, st, sink))
            else:
                warnings.append(f"skipped {rel}: not a file, directory or link")
    except BaseException:
        close = getattr(sink, "close", None)
        if close is not None:
            close()
        raise
    sink.drain()  # every chunk stored and read back before the tree that lists them
    return entries, warnings


def _capture_file(path: Path, rel: str, st: os.stat_result, sink: ChunkSink) -> dict[str, Any]:
    whole = hashlib.sha256()
    chunks: list[list[Any]] = []
    size = 0
    try:
        with path.open("rb") as f:
            while data := f.read(CHUNK_SIZE):
                if chunks and chunks[-1][1] < CHUNK_SIZE:  # a short read, then more: it grew
                    raise SnapshotError(f"{path} changed size while it was captured")
                digest = hashlib.sha256(data).hexdigest()
                if size or len(data) == CHUNK_SIZE:  # a one-chunk file's digest is the file's
                    whole.update(data)
                sink.put(digest, data)
                chunks.append([digest, len(data)])
                size += len(data)
    except OSError as exc:
        raise SnapshotError(f"cannot read {path}: {exc}") from exc
    if size != st.st_size:
        raise SnapshotError(f"{path} changed size while it was captured")
    one = len(chunks) == 1 and size < CHUNK_SIZE
    return {"path": rel, "type": "file", "mode": stat.S_IMODE(st.st_mode), "size": size,
            "sha256": chunks[0][0] if one else whole.hexdigest(), "mtime": st.st_mtime,
            "chunks": chunks}


def restore_tree(entries: list[dict[str, Any]], into: Path, source: ChunkSource) -> int:
    """Write every entry under `into` (an empty directory), verifying each chunk and file;
    the number of files written."""
    for e in entries:
        _check_path(e.get("path"))
    try:
        return _write_tree(entries, into, source)
    except OSError as exc:
        raise SnapshotError(f"cannot restore the tree: {exc}; nothing restored") from exc


def _write_tree(entries: list[dict[str, Any]], into: Path, source: ChunkSource) -> int:
    files = 0
    for e in _ordered(entries, "dir"):
        (into / e["path"]).mkdir(parents=True, exist_ok=True)
    for e in _ordered(entries, "file"):
        _restore_file(e, into / e["path"], source)
        files += 1
    for e in _ordered(entries, "link"):
        link = str(e.get("link", ""))
        inside = os.path.normpath(os.path.join(os.path.dirname(e["path"]), link))
        if not link or os.path.isabs(link) or inside == ".." or inside.startswith("../"):
            raise SnapshotError(f"link {e['path']} -> {link} points outside the restored tree; "
                                "nothing restored")
        dest = into / e["path"]
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(link, dest)
    for e in sorted(_ordered(entries, "dir"), key=lambda e: -e["path"].count("/")):
        os.chmod(into / e["path"], (int(e.get("mode", 0o755)) & 0o755) | 0o700)
    return files


def _restore_file(e: dict[str, Any], dest: Path, source: ChunkSource) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    whole = hashlib.sha256()
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as out:
        for digest, size in _chunk_list(e):
            data = source.get_chunk(digest)
            if len(data) != size or hashlib.sha256(data).hexdigest() != digest:
                raise CorruptSnapshot(f"chunk {digest[:12]}… of {e['path']} is corrupt (its "
                                      "sha256 does not match); nothing restored")
            whole.update(data)
            out.write(data)
    if whole.hexdigest() != e.get("sha256"):
        raise CorruptSnapshot(f"restored {e['path']} does not match its recorded sha256; "
                              "nothing restored")
    os.chmod(dest, (int(e.get("mode", 0o644)) & 0o755) | 0o600)
    if isinstance(e.get("mtime"), int | float):
        os.utime(dest, (e["mtime"], e["mtime"]))


def _chunk_list(e: dict[str, Any]) -> Iterator[tuple[str, int]]:
    chunks = e.get("chunks")
    if not isinstance(chunks, list):
        raise CorruptSnapshot(f"the tree lists no chunks for {e.get('path')!r}")
    for item in chunks:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[1], int)):
            raise CorruptSnapshot(f"unreadable chunk entry for {e.get('path')!r}")
        yield check_digest(item[0]), item[1]


def _ordered(entries: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return sorted((e for e in entries if e.get("type") == kind),
                  key=lambda e: (e["path"].count("/"), e["path"]))


def _check_path(path: Any) -> None:
    parts = Path(path).parts if isinstance(path, str) and path else ()
    if not parts or os.path.isabs(path) or any(p in ("..", "") for p in parts) or "\0" in path:
        raise CorruptSnapshot(f"the tree holds an unsafe path {path!r}; nothing restored")
