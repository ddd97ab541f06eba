"""SQLite snapshots through the online backup API: a consistent copy while others write.

Restores write a temp file beside the target and rename it into place, so a reader never sees
half a database; the original is replaced only with `replace`.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from safehold.errors import SnapshotError
from safehold.protection.interface import CHUNK, Capture, Manifest, PartOpener, SnapshotDriver

HEADER = b"SQLite format 3\x00"
PART = "database.sqlite"


def is_sqlite_file(path: str | os.PathLike[str]) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(HEADER)) == HEADER
    except OSError:
        return False


class SqliteDriver(SnapshotDriver):
    name = "sqlite"

    def local_paths(self, capture: Capture) -> list[str]:
        return [capture.source]

    def capture(self, capture: Capture, open_part: PartOpener) -> dict[str, Any]:
        if not is_sqlite_file(capture.source):
            raise SnapshotError(f"{capture.source} is not a SQLite database")
        with tempfile.TemporaryDirectory(prefix="safehold-sqlite-") as work:
            copy = Path(work) / PART
            try:
                src = sqlite3.connect(f"file:{capture.source}?mode=ro", uri=True)
                dst = sqlite3.connect(copy)
                try:
                    src.backup(dst)
                    tables = [r[0] for r in dst.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
                finally:
                    dst.close()
                    src.close()
            except sqlite3.Error as exc:
                raise SnapshotError(f"SQLite backup of {capture.source} failed: {exc}") from exc
            with open_part(PART) as sink, copy.open("rb") as f:
                while chunk := f.read(CHUNK):
                    sink.write(chunk)
        return {"tables": tables}

    def restore(
        self, manifest: Manifest, parts: Mapping[str, Path], to: str, *, replace: bool
    ) -> str:
        target = Path(to)
        if target.exists() and not replace:
            raise SnapshotError(f"{target} exists; restore to a new path, or pass --replace")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out, parts[PART].open("rb") as f:
                while chunk := f.read(CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            with sqlite3.connect(tmp) as check:
                ok = check.execute("PRAGMA integrity_check").fetchone()
            if not ok or ok[0] != "ok":
                raise SnapshotError(f"the restored database fails its integrity check: {ok}")
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        return f"restored the SQLite database to {target}"
