"""Directory and volume-path snapshots, deduplicated: file contents go to the store as chunks
addressed by sha256 (`chunks.py`), and the snapshot's one part is the tree that lists them.
Snapshots taken before chunking (one streaming tar plus a content manifest) still restore.

Symbolic links are archived as links, never followed; sockets, fifos and devices are skipped
and named in the manifest's warnings. A restore verifies the archive against the store's
manifest first, extracts with tarfile's `data` filter (no absolute paths, no links out of the
tree, no devices) into a fresh directory, checks every file against the content manifest, and
only then moves it into place.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from safehold.errors import CorruptSnapshot, SnapshotError
from safehold.protection.chunks import (
    CHUNK_SIZE,
    ChunkSource,
    ChunkWriter,
    capture_tree,
    restore_tree,
)
from safehold.protection.interface import CHUNK, Capture, Manifest, PartOpener, SnapshotDriver

ARCHIVE = "files.tar"
CONTENT = "content.json"
TREE = "tree.json"


class _HashingReader:
    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.sha.update(data)
        self.size += len(data)
        return data


class DirectoryDriver(SnapshotDriver):
    name = "directory"
    uses_chunks = True

    def local_paths(self, capture: Capture) -> list[str]:
        return [capture.source]

    def capture(self, capture: Capture, open_part: PartOpener, *,
                chunks: ChunkWriter | None = None) -> dict[str, Any]:
        root = Path(capture.source)
        if not root.exists() and not root.is_symlink():
            raise SnapshotError(f"{root} does not exist: nothing to capture")
        if chunks is None:
            return self._capture_tar(root, open_part)
        entries, warnings = capture_tree(root, _walk(root), chunks)
        with open_part(TREE) as sink:
            sink.write(json.dumps({"root": str(root), "single_file": root.is_file(),
                                   "chunk_size": CHUNK_SIZE, "entries": entries}).encode())
        files = [e for e in entries if e["type"] == "file"]
        total = sum(e["size"] for e in files)
        return {"files": len(files), "bytes": total, "chunk_bytes": total,
                "new_chunks": chunks.new_chunks, "new_bytes": chunks.new_bytes,
                "reused_bytes": chunks.reused_bytes, "warnings": warnings}

    def _capture_tar(self, root: Path, open_part: PartOpener) -> dict[str, Any]:
        """The format before chunking, for a store that holds no chunks."""
        files: list[dict[str, Any]] = []
        warnings: list[str] = []
        with open_part(ARCHIVE) as sink, tarfile.open(fileobj=sink, mode="w|",  # type: ignore[call-overload]
                                                      format=tarfile.PAX_FORMAT) as tar:
            for path, arcname in _walk(root):
                try:
                    info = tar.gettarinfo(str(path), arcname)
                except OSError as exc:
                    raise SnapshotError(f"cannot read {path}: {exc}") from exc
                if info.isfile():
                    with path.open("rb") as f:
                        reader = _HashingReader(f)
                        tar.addfile(info, reader)  # type: ignore[arg-type]
                    if reader.size != info.size:
                        raise SnapshotError(f"{path} changed size while it was archived")
                    files.append({"path": arcname, "size": info.size,
                                  "sha256": reader.sha.hexdigest(), "mode": info.mode})
                elif info.isdir() or info.issym():
                    tar.addfile(info)
                    if info.issym():
                        files.append({"path": arcname, "link": info.linkname})
                else:
                    warnings.append(f"skipped {arcname}: not a file, directory or link")
        with open_part(CONTENT) as sink:
            sink.write(json.dumps({"root": str(root), "single_file": root.is_file(),
                                   "files": files}, indent=1).encode())
        return {"files": len(files), "bytes": sum(f.get("size", 0) for f in files),
                "warnings": warnings}

    def restore(
        self, manifest: Manifest, parts: Mapping[str, Path], to: str, *, replace: bool,
        chunks: ChunkSource | None = None,
    ) -> str:
        target = Path(to)
        if (target.exists() or target.is_symlink()) and not replace:
            raise SnapshotError(f"{target} exists; restore to a new path, or pass --replace")
        chunked = TREE in parts
        if chunked and chunks is None:
            raise SnapshotError(f"snapshot {manifest.id} is chunked; restore it from its store")
        content = json.loads(parts[TREE if chunked else CONTENT].read_text())
        listed = content["entries"] if chunked else content["files"]
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.restore-", dir=target.parent))
        try:
            if chunked:
                assert chunks is not None
                count = restore_tree(listed, staging, chunks)
            else:
                with tarfile.open(parts[ARCHIVE], mode="r:") as tar:
                    tar.extractall(staging, filter="data")
                _check_content(staging, listed)
                count = sum(1 for f in listed if "sha256" in f)
            produced = staging / (listed[0]["path"] if content.get("single_file") else ".")
            if target.exists() or target.is_symlink():
                aside = target.with_name(f".{target.name}.replaced-{os.getpid()}")
                os.rename(target, aside)
                os.rename(produced, target)
                _remove(aside)
            else:
                os.rename(produced, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return f"restored {count} files to {target}"


def _walk(root: Path) -> list[tuple[Path, str]]:
    if not root.is_dir() or root.is_symlink():
        return [(root, root.name)]
    out: list[tuple[Path, str]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        base = Path(dirpath)
        rel = base.relative_to(root)
        if rel != Path("."):
            out.append((base, str(rel)))
        for name in sorted(filenames) + [d for d in dirnames if (base / d).is_symlink()]:
            out.append((base / name, str(rel / name) if rel != Path(".") else name))
    return out


def _check_content(staging: Path, files: list[dict[str, Any]]) -> None:
    for f in files:
        path = staging / f["path"]
        if "link" in f:
            if not path.is_symlink() or os.readlink(path) != f["link"]:
                raise CorruptSnapshot(f"restored link {f['path']} does not match the manifest")
            continue
        h = hashlib.sha256()
        try:
            st = path.lstat()
            if not stat.S_ISREG(st.st_mode):
                raise CorruptSnapshot(f"restored {f['path']} is not a regular file")
            with path.open("rb") as fh:
                while chunk := fh.read(CHUNK):
                    h.update(chunk)
        except FileNotFoundError:
            raise CorruptSnapshot(f"{f['path']} is missing from the archive") from None
        if h.hexdigest() != f["sha256"]:
            raise CorruptSnapshot(f"restored {f['path']} does not match its recorded sha256")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
