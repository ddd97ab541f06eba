"""Walk a workspace for stray credentials, and read one file's findings (cached).

Every text file is read (binary files, version-control internals and dependency trees are
skipped), so a token in `notes.txt`, a notebook cell, a YAML config or a shell history is found
as surely as one in `.env`. Findings are cached by file identity (path, inode, size, mtime) and
by content hash, so the hook can ask about a file on every read at the cost of a `stat`.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from safehold.scan.detect import Secret, find

MAX_FILE = 1024 * 1024
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__",
                       ".tox", ".mypy_cache", ".ruff_cache", ".pytest_cache"})


@dataclass(frozen=True, slots=True)
class FileFinding:
    path: Path
    secret: Secret


class FindingCache:
    """Findings per file identity and per content hash (bounded, thread-safe)."""

    def __init__(self, size: int = 4096):
        self._by_stat: OrderedDict[tuple[str, int, int, int], tuple[Secret, ...]] = OrderedDict()
        self._by_hash: OrderedDict[str, tuple[Secret, ...]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def secrets_in(self, path: Path) -> tuple[Secret, ...] | None:
        """The credentials in a text file, or None when it cannot be read as text (missing,
        a directory, binary, too large): then only its name can be judged."""
        try:
            st = path.stat()
        except OSError:
            return None
        if not path.is_file() or st.st_size > MAX_FILE:
            return None
        key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns)
        with self._lock:
            hit = self._by_stat.get(key)
        if hit is not None:
            return hit
        text = read_text(path)
        if text is None:
            return None
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        with self._lock:
            found = self._by_hash.get(digest)
        if found is None:
            found = tuple(find(text, path.name))
        with self._lock:
            self._remember(self._by_hash, digest, found)
            self._remember(self._by_stat, key, found)
        return found

    def _remember(self, table: OrderedDict, key: object, value: tuple[Secret, ...]) -> None:  # type: ignore[type-arg]
        table[key] = value
        table.move_to_end(key)
        while len(table) > self._size:
            table.popitem(last=False)


CACHE = FindingCache()


def read_text(path: Path) -> str | None:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_FILE + 1)
    except OSError:
        return None
    if len(data) > MAX_FILE or b"\x00" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def scan(root: Path, cache: FindingCache = CACHE) -> Iterator[FileFinding]:
    """Every credential under `root` (a file or a directory), file by file."""
    for path in _files(root):
        for secret in cache.secrets_in(path) or ():
            yield FileFinding(path, secret)


def _files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if not p.is_symlink():
                yield p


def replace_with_reference(path: Path, secret: Secret, name: str) -> None:
    """Put `safehold:credential/NAME` where the secret was, atomically, keeping the mode."""
    text = read_text(path)
    if text is None or text[secret.start:secret.end] != secret.value:
        raise ValueError(f"{path} changed since it was scanned; scan again")
    new = text[:secret.start] + f"safehold:credential/{name}" + text[secret.end:]
    tmp = path.with_name(f".{path.name}.safehold-tmp")
    mode = path.stat().st_mode & 0o7777
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(new)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
