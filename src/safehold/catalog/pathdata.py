"""The path classes as data: which names are build outputs, which directories are the system.

Loaded once from `data/paths.yaml`; the shell analyser's path classifier reads these lists and
holds no path knowledge of its own, so a reviewer changes what counts as routine in one file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from safehold.catalog.files import glob_union, read_yaml
from safehold.errors import CatalogError

PATHS_FILE = Path(__file__).parent / "data" / "paths.yaml"

_KEYS = (
    "routine_names", "home_caches", "temp_dirs", "system_dirs", "harmless_files", "devices",
    "volume_dirs", "database_names", "protected_names", "guard_paths", "startup_files",
)


@dataclass(frozen=True, slots=True)
class PathData:
    """Compiled path lists; `*_re` match one component (names) or a whole path (files)."""

    routine_re: re.Pattern[str]
    database_re: re.Pattern[str]
    protected_re: re.Pattern[str]
    harmless_re: re.Pattern[str]
    device_re: re.Pattern[str]
    temp_dirs: tuple[str, ...]
    home_caches: tuple[str, ...]
    system_dirs: tuple[str, ...]
    volume_dirs: tuple[str, ...]
    guard_paths: tuple[str, ...] = ()
    startup_files: tuple[str, ...] = ()

    def guard_re(self, home: str) -> re.Pattern[str]:
        """Matches safehold's own files (whole absolute paths) for this home directory."""
        return _guard_re(self.guard_paths, home.rstrip("/") or "/")

    def startup_re(self, home: str) -> re.Pattern[str]:
        """Matches the files a shell runs when it starts (whole absolute paths)."""
        return _guard_re(self.startup_files, home.rstrip("/") or "/")


def parse_path_data(raw: object, file: str) -> PathData:
    if not isinstance(raw, dict):
        raise CatalogError(f"{file}: top level: must be a mapping")
    unknown = set(raw) - set(_KEYS)
    if unknown:
        raise CatalogError(f"{file}: top level: unknown keys: {sorted(unknown)}")
    lists: dict[str, list[str]] = {}
    for key in _KEYS:
        value = raw.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CatalogError(f"{file}: {key}: must be a list of strings")
        lists[key] = value
    for key in ("temp_dirs", "system_dirs", "volume_dirs"):
        for d in lists[key]:
            if not d.startswith("/"):
                raise CatalogError(f"{file}: {key}: {d!r} must be an absolute path")
    return PathData(
        routine_re=glob_union(lists["routine_names"]),
        database_re=glob_union(lists["database_names"]),
        protected_re=glob_union(lists["protected_names"]),
        harmless_re=glob_union(lists["harmless_files"]),
        device_re=glob_union(lists["devices"]),
        temp_dirs=tuple(d.rstrip("/") for d in lists["temp_dirs"]),
        home_caches=tuple(d.strip("/") for d in lists["home_caches"]),
        system_dirs=tuple(d.rstrip("/") for d in lists["system_dirs"]),
        volume_dirs=tuple(d.rstrip("/") for d in lists["volume_dirs"]),
        guard_paths=tuple(lists["guard_paths"]),
        startup_files=tuple(lists["startup_files"]),
    )


@lru_cache(maxsize=16)
def _guard_re(patterns: tuple[str, ...], home: str) -> re.Pattern[str]:
    return glob_union([home + p[1:] if p.startswith("~/") else p for p in patterns])


@lru_cache(maxsize=4)
def load_path_data(file: str = str(PATHS_FILE)) -> PathData:
    return parse_path_data(read_yaml(Path(file), "path data"), file)
