"""Reading catalog data files, the same way for every catalog (shell, HTTP, MCP).

One YAML reader (libyaml's loader when present: the catalogs are read on every cold start),
one check for "a string or a list of strings" and one id-uniqueness check, so a broken file
reads the same whichever catalog it belongs to.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import yaml

from safehold.errors import CatalogError

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
