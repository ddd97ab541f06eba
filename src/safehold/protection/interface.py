"""The two extension points of data protection and the values they exchange.

A `SnapshotDriver` knows one kind of source (PostgreSQL, SQLite, a directory) and writes its
capture as named parts; a `SnapshotStore` keeps parts and a `Manifest` that lists each part's
size and sha256. A snapshot exists only once every part is written, read back, matches its
checksum, and the manifest is stored last.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit, urlunsplit

FORMAT = 1
CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Capture:
    """What one snapshot will hold; shown to an approver before anything runs.

    `source` may carry credentials (a configured database URL) and is never displayed: use
    `label`. `scope` is database | tables | rows | file | directory."""

    driver: str
    source: str
    scope: str
    tables: tuple[str, ...] = ()
    where: str | None = None
    environment: str | None = None

    @property
    def label(self) -> str:
        return display_source(self.source)

    def describe(self) -> str:
        what = {
            "database": f"the whole database {self.label}",
            "tables": f"table{'s' if len(self.tables) > 1 else ''} {', '.join(self.tables)} "
            f"of {self.label}",
            "rows": f"the rows of {', '.join(self.tables)} WHERE {self.where} in {self.label}",
            "file": f"the SQLite database {self.label}",
            "directory": f"the files under {self.label}",
        }.get(self.scope, f"{self.scope} of {self.label}")
        return f"{what} ({DRIVER_TOOLS.get(self.driver, self.driver)})"


DRIVER_TOOLS = {
    "postgresql": "PostgreSQL: pg_dump -Fc",
    "postgresql-rows": "PostgreSQL: COPY of exactly those rows",
    "sqlite": "SQLite online backup",
    "directory": "tar archive with a content manifest",
}


@dataclass(frozen=True, slots=True)
class Part:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Manifest:
    """Everything needed to trust and restore a snapshot, stored beside its parts."""

    id: str
    driver: str
    source: str
    scope: str
    created_at: str
    parts: tuple[Part, ...]
    store: str
    store_location: str
    tables: tuple[str, ...] = ()
    where: str | None = None
    environment: str | None = None
    retention_until: str | None = None
    locked: bool = False
    warnings: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    format: int = FORMAT

    @property
    def size(self) -> int:
        """Bytes the snapshot holds: its parts, plus the content chunks it refers to (shared
        with other snapshots of the same data, so stored once)."""
        return sum(p.size for p in self.parts) + int(self.details.get("chunk_bytes") or 0)

    def part(self, name: str) -> Part:
        for p in self.parts:
            if p.name == name:
                return p
        from safehold.errors import CorruptSnapshot

        raise CorruptSnapshot(f"snapshot {self.id} has no part {name!r}")

    def to_json(self) -> str:
        d = asdict(self)
        d["details"] = dict(self.details)
        return json.dumps(d, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        from safehold.errors import CorruptSnapshot

        try:
            d = json.loads(text)
            d["parts"] = tuple(Part(**p) for p in d["parts"])
            d["tables"] = tuple(d.get("tables") or ())
            d["warnings"] = tuple(d.get("warnings") or ())
            return cls(**d)
        except (ValueError, TypeError, KeyError) as exc:
            raise CorruptSnapshot(f"unreadable snapshot manifest: {exc}") from exc


class HashingWriter:
    """A binary sink that counts and hashes what passes through to `raw`."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.size = 0
        self._sha = hashlib.sha256()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.raw.write(data)
        self._sha.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        self.raw.flush()

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()


#: Opens a part for writing; the context yields the sink and records the Part on exit.
PartOpener = Callable[[str], AbstractContextManager[HashingWriter]]


class SnapshotDriver(ABC):
    """Captures one kind of source into parts, and restores them to a new target. A driver
    with `uses_chunks` also takes and restores content chunks through the store."""

    name: str
    uses_chunks = False

    @abstractmethod
    def capture(self, capture: Capture, open_part: PartOpener) -> dict[str, Any]:
        """Write the parts; return details worth keeping in the manifest."""

    @abstractmethod
    def restore(
        self, manifest: Manifest, parts: Mapping[str, Path], to: str, *, replace: bool
    ) -> str:
        """Restore from verified local part files into `to`; a sentence saying what was done."""

    def local_paths(self, capture: Capture) -> list[str]:
        """Paths on this machine that hold the source, for the store's same-device check."""
        return []


class SnapshotStore(ABC):
    """Somewhere independent of the data that keeps parts and manifests."""

    name: str
    kind: str

    @property
    @abstractmethod
    def location(self) -> str: ...

    @abstractmethod
    def check_independent(self, paths: list[str]) -> list[str]:
        """Warnings about sharing a device with `paths`; raise SnapshotStoreError to refuse."""

    @abstractmethod
    def part_writer(
        self, snapshot_id: str, name: str, retention_until: str | None
    ) -> AbstractContextManager[HashingWriter]: ...

    @abstractmethod
    def fetch(self, snapshot_id: str, name: str, workdir: Path) -> Path:
        """A local file with the part's bytes (the store's own file, or a download)."""

    @abstractmethod
    def write_manifest(self, manifest: Manifest) -> None: ...

    @abstractmethod
    def read_manifest(self, snapshot_id: str) -> Manifest: ...

    @abstractmethod
    def ids(self) -> list[str]:
        """Ids of every complete snapshot (those with a manifest)."""

    @abstractmethod
    def discard(self, snapshot_id: str) -> None:
        """Remove what an unfinished snapshot left behind (best effort)."""

    @abstractmethod
    def put_chunk(self, digest: str, data: bytes, retention_until: str | None) -> bool:
        """Keep `data` under its sha256 `digest` unless already kept (then make sure it is kept
        at least until `retention_until`); True when it was written now."""

    @abstractmethod
    def get_chunk(self, digest: str) -> bytes:
        """The bytes kept under `digest`; CorruptSnapshot when there are none."""

    @property
    def locks(self) -> bool:
        """Whether the store itself enforces retention (S3 Object Lock)."""
        return False

    def manifests(self) -> Iterator[Manifest]:
        for sid in self.ids():
            yield self.read_manifest(sid)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def display_source(source: str) -> str:
    """A source fit for a screen: a URL without its password or query, a path as is."""
    if "://" not in source or source.startswith("sqlite:"):
        return source
    parts = urlsplit(source)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    scheme = parts.scheme.split("+", 1)[0]
    return urlunsplit((scheme, user + host, parts.path, "", ""))
