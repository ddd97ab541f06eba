"""Load the shell command catalog: built-in family files plus optional user directories.

The catalog is parsed and validated once per process (per set of directories) and indexed by
command name, so looking up what `git` can do is one dict access on the hot path.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from safehold.catalog.files import read_yaml
from safehold.catalog.schema import Entry, Family, parse_family
from safehold.errors import CatalogError

BUILTIN_DIR = Path(__file__).parent / "data" / "shell"


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every family, indexed by command name, by construct and by entry id."""

    families: tuple[Family, ...]
    by_command: Mapping[str, tuple[Family, ...]]
    by_construct: Mapping[str, tuple[Entry, ...]]
    by_id: Mapping[str, Entry]

    def families_for(self, command: str) -> tuple[Family, ...]:
        return self.by_command.get(command, ())

    def construct(self, name: str) -> tuple[Entry, ...]:
        return self.by_construct.get(name, ())


def _read(path: Path) -> Family:
    return parse_family(read_yaml(path, "catalog file"), str(path))


def _files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise CatalogError(f"{directory}: catalog directory does not exist")
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))


def build_catalog(families: Iterable[Family]) -> Catalog:
    """Index families; duplicate ids anywhere in the catalog are an error."""
    fams = tuple(families)
    by_command: dict[str, list[Family]] = {}
    by_construct: dict[str, list[Entry]] = {}
    by_id: dict[str, Entry] = {}
    for fam in fams:
        for cmd in fam.commands:
            by_command.setdefault(cmd, []).append(fam)
        for entry in fam.entries:
            if entry.id in by_id:
                raise CatalogError(
                    f"{entry.file}: entry {entry.id!r}: id already defined in "
                    f"{by_id[entry.id].file}"
                )
            by_id[entry.id] = entry
            if entry.when.construct:
                by_construct.setdefault(entry.when.construct, []).append(entry)
    return Catalog(
        families=fams,
        by_command={k: tuple(v) for k, v in by_command.items()},
        by_construct={k: tuple(v) for k, v in by_construct.items()},
        by_id=by_id,
    )


def load_catalog_from(directories: Iterable[str | Path]) -> Catalog:
    """Parse and validate every family file in the given directories (no caching)."""
    families = [_read(path) for d in directories for path in _files(Path(d))]
    return build_catalog(families)


_cache: dict[tuple[str, ...], Catalog] = {}
_lock = threading.Lock()


def load_catalog(user_dirs: Iterable[str | Path] = ()) -> Catalog:
    """The built-in catalog plus user directories, parsed once per process."""
    key = (str(BUILTIN_DIR), *(str(Path(d).resolve()) for d in user_dirs))
    cat = _cache.get(key)
    if cat is None:
        with _lock:
            cat = _cache.get(key)
            if cat is None:
                cat = load_catalog_from(key)
                _cache[key] = cat
    return cat
