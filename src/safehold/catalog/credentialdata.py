"""Credential file patterns and secret-search words, as data.

Loaded once from `data/credentials.yaml`. The shell analyser asks two questions of it: does
this path hold a credential, and is this search hunting for one. Patterns are compiled here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from safehold.catalog.files import glob_union, read_yaml
from safehold.errors import CatalogError

CREDENTIALS_FILE = Path(__file__).parent / "data" / "credentials.yaml"


@dataclass(frozen=True, slots=True)
class CredentialFile:
    id: str
    patterns: tuple[str, ...]
    excepts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CredentialData:
    files: tuple[CredentialFile, ...]
    metadata_commands: frozenset[str]
    search_commands: frozenset[str]
    search_words: re.Pattern[str]

    def match(self, path: str, home: str) -> str | None:
        """The credential id whose pattern matches this absolute path, if any."""
        compiled = _compile(self, home)
        name = path.rsplit("/", 1)[-1]
        if not (compiled.any_path.match(path) or compiled.any_name.match(name)):
            return None
        for ident, (pat_path, pat_name), (exc_path, exc_name) in compiled.per_id:
            if (pat_path.match(path) or pat_name.match(name)) and not (
                    exc_path.match(path) or exc_name.match(name)):
                return ident
        return None


@dataclass(frozen=True, slots=True)
class _Compiled:
    any_path: re.Pattern[str]
    any_name: re.Pattern[str]
    per_id: tuple[tuple[str, tuple[re.Pattern[str], re.Pattern[str]],
                        tuple[re.Pattern[str], re.Pattern[str]]], ...]



def _split(patterns: tuple[str, ...], home: str) -> tuple[list[str], list[str]]:
    paths, names = [], []
    for p in patterns:
        if p.startswith("~/"):
            paths.append(home.rstrip("/") + p[1:])
        elif "/" in p:
            paths.append(p)
        else:
            names.append(p)
    return paths, names


_compiled: dict[tuple[int, str], tuple[CredentialData, _Compiled]] = {}


def _compile(data: CredentialData, home: str) -> _Compiled:
    """Patterns compiled for one home directory, so matching is two regex calls per path."""
    hit = _compiled.get((id(data), home))
    if hit is not None and hit[0] is data:
        return hit[1]
    compiled = _build(data, home)
    if len(_compiled) > 64:
        _compiled.clear()
    _compiled[(id(data), home)] = (data, compiled)
    return compiled


def _build(data: CredentialData, home: str) -> _Compiled:
    all_paths: list[str] = []
    all_names: list[str] = []
    per_id = []
    for cred in data.files:
        paths, names = _split(cred.patterns, home)
        all_paths += paths
        all_names += names
        epaths, enames = _split(cred.excepts, home)
        per_id.append((cred.id, (glob_union(paths), glob_union(names)),
                       (glob_union(epaths), glob_union(enames))))
    return _Compiled(glob_union(all_paths), glob_union(all_names), tuple(per_id))


def _strings(value: object, file: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CatalogError(f"{file}: {where}: must be a list of strings")
    return tuple(value)


def parse_credential_data(raw: object, file: str) -> CredentialData:
    if not isinstance(raw, dict):
        raise CatalogError(f"{file}: top level: must be a mapping")
    files = []
    for i, item in enumerate(raw.get("files") or []):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise CatalogError(f"{file}: files[{i}]: needs an id")
        if not item["id"].startswith("cred:"):
            raise CatalogError(f"{file}: {item['id']!r}: credential ids start with 'cred:'")
        patterns = _strings(item.get("paths"), file, item["id"])
        if not patterns:
            raise CatalogError(f"{file}: {item['id']!r}: paths must not be empty")
        files.append(CredentialFile(item["id"], patterns, _strings(item.get("except"), file,
                                                                   item["id"])))
    words = raw.get("search_words")
    if not isinstance(words, str):
        raise CatalogError(f"{file}: search_words: must be a regex string")
    try:
        words_re = re.compile(words)
    except re.error as exc:
        raise CatalogError(f"{file}: search_words: bad regex: {exc}") from None
    return CredentialData(
        files=tuple(files),
        metadata_commands=frozenset(_strings(raw.get("metadata_commands"), file,
                                             "metadata_commands")),
        search_commands=frozenset(_strings(raw.get("search_commands"), file, "search_commands")),
        search_words=words_re,
    )


@lru_cache(maxsize=4)
def load_credential_data(file: str = str(CREDENTIALS_FILE)) -> CredentialData:
    return parse_credential_data(read_yaml(Path(file), "credential data"), file)
