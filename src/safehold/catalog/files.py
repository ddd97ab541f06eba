"""Reading catalog data files, the same way for every catalog (shell, HTTP, MCP).

One YAML reader (libyaml's loader when present: the catalogs are read on every cold start),
one check for "a string or a list of strings" and one id-uniqueness check, so a broken file
reads the same whichever catalog it belongs to.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import yaml

from safehold.errors import CatalogError
from safehold.model import Effect

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


def read_yaml(path: Path, what: str) -> Any:
    """The decoded content of one data file; CatalogError naming the file otherwise."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=LOADER)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: {what} is not valid YAML: {exc}") from exc
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read {what}: {exc}") from exc


def builtin_files(subdir: str, exclude: Iterable[str] = ()) -> list[Path]:
    """The YAML files shipped in `catalog/data/<subdir>`, in a stable order."""
    skip = set(exclude)
    root = resources.files("safehold.catalog").joinpath("data", subdir)
    return sorted(
        Path(str(p)) for p in root.iterdir()
        if p.name.endswith((".yaml", ".yml")) and p.name not in skip
    )


def glob_union(patterns: Iterable[str]) -> re.Pattern[str]:
    """One regex matching any of these shell globs (a regex that never matches for none)."""
    patterns = list(patterns)
    if not patterns:
        return re.compile(r"(?!)")
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


def strings(value: Any, where: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise CatalogError(f"{where}: {key!r} must be a string or a list of strings")


def check_unique_ids(groups: Iterable[tuple[str, Iterable[_HasId]]]) -> None:
    """Each (origin, entries) group's ids must be new across all groups."""
    seen: dict[str, str] = {}
    for origin, entries in groups:
        for entry in entries:
            if entry.id in seen:
                raise CatalogError(
                    f"{origin}: id {entry.id!r} is already defined in {seen[entry.id]}"
                )
            seen[entry.id] = origin


@dataclass(frozen=True, slots=True)
class EntryBasics:
    """What every catalog entry has, checked the same way everywhere."""

    id: str
    where: str
    effect: Effect
    reason: str
    suggestion: str | None
    match_examples: tuple[Any, ...]
    no_match_examples: tuple[Any, ...]


def entry_basics(raw: Any, namespace: str, origin: str, keys: frozenset[str]) -> EntryBasics:
    """Id in `namespace`, only known keys, an effect, a reason, and examples both ways."""
    if not isinstance(raw, Mapping):
        raise CatalogError(f"{origin}: every entry must be a mapping")
    eid = raw.get("id")
    where = f"{origin}: entry {eid!r}"
    if not isinstance(eid, str) or not eid.startswith(f"{namespace}:"):
        raise CatalogError(f"{where}: id must be a string starting with '{namespace}:'")
    unknown = set(raw) - keys
    if unknown:
        raise CatalogError(f"{where}: unknown keys {sorted(unknown)}")
    try:
        effect = Effect.parse(str(raw.get("effect", "")))
    except ValueError as exc:
        raise CatalogError(f"{where}: {exc}") from exc
    reason = raw.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise CatalogError(f"{where}: a reason is required")
    examples = raw.get("examples") or {}
    match = tuple(examples.get("match") or ())
    no_match = tuple(examples.get("no_match") or ())
    if not match or not no_match:
        raise CatalogError(f"{where}: needs at least one `match` and one `no_match` example")
    return EntryBasics(eid, where, effect, reason.strip(), raw.get("suggestion") or None,
                       match, no_match)
