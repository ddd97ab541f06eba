"""The MCP tool catalog: what the tools of common MCP servers do, and which of their
arguments carry shell, SQL or HTTP that must be analysed as such.

One YAML file per server family under `catalog/data/mcp/` (schema in docs/catalog.md, "MCP tool
catalog"). Loading validates every entry, so a malformed file is a `CatalogError` naming the
file and the entry, never a silently ignored rule.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from safehold.catalog import files
from safehold.catalog.files import check_unique_ids, entry_basics, read_yaml, strings
from safehold.errors import CatalogError
from safehold.model import Effect

_FAMILY_KEYS = frozenset({"family", "servers", "entries", "description"})
_ENTRY_KEYS = frozenset(
    {"id", "tools", "effect", "reason", "suggestion", "when", "targets", "embed", "examples"}
)
_EMBED_KINDS = frozenset({"shell", "sql", "http", "file"})
_FILE_OPS = frozenset({"write", "edit", "delete"})


@dataclass(frozen=True, slots=True)
class Embed:
    """An argument whose value is input of another kind (`command` -> shell)."""

    arg: str
    kind: str
    prefix: str = ""
    options: tuple[tuple[str, str], ...] = ()
    op: str = ""


@dataclass(frozen=True, slots=True)
class ToolEntry:
    id: str
    family: str
    tools: frozenset[str]
    effect: Effect
    reason: str
    suggestion: str | None
    when: tuple[tuple[str, re.Pattern[str]], ...]
    target_kind: str | None
    target_args: tuple[str, ...]
    embed: tuple[Embed, ...]
    match_examples: tuple[Any, ...]
    no_match_examples: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    servers: tuple[str, ...]
    entries: tuple[ToolEntry, ...]
    origin: str

    @property
    def generic(self) -> bool:
        return self.servers == ("*",)

    def serves(self, server: str) -> bool:
        return any(s == server or fnmatch.fnmatchcase(server, s) for s in self.servers)


@dataclass(frozen=True, slots=True)
class McpCatalog:
    families: tuple[Family, ...]
    _by_server: dict[str, list[Family]] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )

    def families_for(self, server: str) -> list[Family]:
        """Families that claim this server first, then the generic (`*`) ones (remembered
        per server name: a session talks to a handful of servers)."""
        found = self._by_server.get(server)
        if found is None:
            specific = [f for f in self.families if not f.generic and f.serves(server)]
            found = specific + [f for f in self.families if f.generic]
            if len(self._by_server) >= 1024:
                self._by_server.clear()
            self._by_server[server] = found
        return list(found)

    def entries(self) -> Iterable[ToolEntry]:
        for family in self.families:
            yield from family.entries


def _embed(raw: Any, where: str) -> Embed:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("arg"), str):
        raise CatalogError(f"{where}: every `embed` item needs an `arg`")
    kind = raw.get("kind")
    if kind not in _EMBED_KINDS:
        raise CatalogError(f"{where}: embed kind must be one of {sorted(_EMBED_KINDS)}")
    op = str(raw.get("op") or "")
    if kind == "file" and op not in _FILE_OPS:
        raise CatalogError(f"{where}: a file embed needs `op`: one of {sorted(_FILE_OPS)}")
    options = raw.get("options") or {}
    return Embed(
        arg=raw["arg"],
        kind=kind,
        prefix=str(raw.get("prefix") or ""),
        options=tuple((str(k), str(v)) for k, v in options.items()),
        op=op,
    )


def _entry(raw: Any, family: str, origin: str) -> ToolEntry:
    basics = entry_basics(raw, family, origin, _ENTRY_KEYS)
    where = basics.where
    tools = strings(raw.get("tools"), where, "tools")
    if not tools:
        raise CatalogError(f"{where}: `tools` is required")
    when_raw = raw.get("when") or {}
    if not isinstance(when_raw, Mapping):
        raise CatalogError(f"{where}: `when` maps argument names to regexes")
    when = []
    for name, pattern in when_raw.items():
        try:
            when.append((str(name), re.compile(str(pattern))))
        except re.error as exc:
            raise CatalogError(f"{where}: bad regex for {name!r}: {exc}") from exc
    targets = raw.get("targets") or {}
    if not isinstance(targets, Mapping):
        raise CatalogError(f"{where}: `targets` must be a mapping with kind and args")
    return ToolEntry(
        id=basics.id,
        family=family,
        tools=frozenset(tools),
        effect=basics.effect,
        reason=basics.reason,
        suggestion=basics.suggestion,
        when=tuple(when),
        target_kind=targets.get("kind"),
        target_args=strings(targets.get("args"), where, "targets.args"),
        embed=tuple(_embed(e, where) for e in raw.get("embed") or ()),
        match_examples=basics.match_examples,
        no_match_examples=basics.no_match_examples,
    )


def parse_family(data: Any, origin: str) -> Family:
    if not isinstance(data, Mapping) or not isinstance(data.get("family"), str):
        raise CatalogError(f"{origin}: expected a mapping with a `family` name")
    unknown = set(data) - _FAMILY_KEYS
    if unknown:
        raise CatalogError(f"{origin}: unknown keys {sorted(unknown)}")
    name = data["family"]
    servers = strings(data.get("servers"), origin, "servers")
    if not servers:
        raise CatalogError(f"{origin}: `servers` is required (use ['*'] for any server)")
    return Family(
        name=name,
        servers=tuple(s.lower() for s in servers),
        entries=tuple(_entry(e, name, origin) for e in data.get("entries") or ()),
        origin=origin,
    )


def build(families: Sequence[Family]) -> McpCatalog:
    check_unique_ids((f.origin, f.entries) for f in families)
    return McpCatalog(tuple(families))


def load_files(paths: Iterable[Path]) -> list[Family]:
    return [parse_family(read_yaml(path, "MCP catalog"), str(path)) for path in paths]


def builtin_files() -> list[Path]:
    return files.builtin_files("mcp")


@cache
def builtin() -> McpCatalog:
    """The MCP catalog shipped with safehold, loaded once per process."""
    return build(load_files(builtin_files()))


def load(extra: Sequence[Path] = ()) -> McpCatalog:
    """The built-in catalog plus user family files (same schema, same validation)."""
    return build([*builtin().families, *load_files(extra)])


def example_call(family: Family, example: Any) -> Any:
    """An entry example as analyser input; the server defaults to the family's first name."""
    if isinstance(example, Mapping) and "server" not in example:
        server = family.servers[0] if not family.generic else "unlisted-server"
        return {"server": server, **example}
    return example
