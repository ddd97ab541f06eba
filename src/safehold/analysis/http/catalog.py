"""The provider catalog: which HTTP endpoints, API actions and GraphQL fields do what.

One YAML file per provider under `catalog/data/http/` (schema in docs/catalog.md, "HTTP provider
catalog"). This module loads and validates those files into compiled, immutable entries; it
knows nothing about requests beyond the shape of a URL path template. User catalogs go through
the same loader, so a broken file is a loud `CatalogError` that names the file and entry.
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

_WHEN_KEYS = frozenset(
    {"method", "host", "path", "action", "graphql", "operation", "params", "params_present",
     "params_absent", "text", "query"}
)
_ENTRY_KEYS = frozenset(
    {"id", "effect", "reason", "suggestion", "when", "targets", "embedded", "examples"}
)
_PROVIDER_KEYS = frozenset(
    {"provider", "hosts", "case_insensitive_paths", "graphql_paths", "credential_headers",
     "entries", "description"}
)
_TEMPLATE_PIECE = re.compile(r"(\{[A-Za-z_][A-Za-z0-9_]*(?:\*\*)?\}|\*)")
_SOURCE = re.compile(r"^(path|param|arg|host|query):[A-Za-z0-9_.\-]+$")


@dataclass(frozen=True, slots=True)
class When:
    """The compiled conditions of one entry; every condition given must hold."""

    methods: frozenset[str] | None = None
    hosts: tuple[str, ...] | None = None
    paths: tuple[re.Pattern[str], ...] | None = None
    actions: frozenset[str] | None = None
    graphql: frozenset[str] | None = None
    operation: str | None = None
    params: tuple[tuple[str, re.Pattern[str]], ...] = ()
    params_present: tuple[str, ...] = ()
    params_absent: tuple[str, ...] = ()
    text: re.Pattern[str] | None = None
    query: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class Embedded:
    """Part of the request that is input of another kind (SQL in a query endpoint's body)."""

    kind: str
    source: str
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    provider: str
    effect: Effect
    reason: str
    suggestion: str | None
    when: When
    target_kind: str | None
    target_from: tuple[str, ...]
    embedded: Embedded | None
    match_examples: tuple[Any, ...]
    no_match_examples: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    hosts: tuple[str, ...]
    case_insensitive: bool
    graphql_paths: tuple[str, ...]
    credential_headers: frozenset[str]
    entries: tuple[Entry, ...]
    origin: str

    @property
    def wildcard(self) -> bool:
        return self.hosts == ("*",)

    def serves(self, host: str) -> bool:
        return any(host_matches(host, pattern) for pattern in self.hosts)

    def is_graphql_path(self, path: str) -> bool:
        return any(path.rstrip("/") == p.rstrip("/") for p in self.graphql_paths)


@dataclass(frozen=True, slots=True)
class Catalog:
    providers: tuple[Provider, ...]
    _by_host: dict[str, list[Provider]] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )

    def providers_for(self, host: str) -> list[Provider]:
        """Providers that claim this host, host-specific ones first, then `*` providers
        (remembered per host: agents call the same few hosts over and over)."""
        found = self._by_host.get(host)
        if found is None:
            specific = [p for p in self.providers if not p.wildcard and p.serves(host)]
            found = specific + [p for p in self.providers if p.wildcard]
            if len(self._by_host) >= 1024:
                self._by_host.clear()
            self._by_host[host] = found
        return list(found)

    def entries(self) -> Iterable[Entry]:
        for provider in self.providers:
            yield from provider.entries

    @property
    def credential_headers(self) -> frozenset[str]:
        out: set[str] = set()
        for p in self.providers:
            out |= p.credential_headers
        return frozenset(out)


def host_matches(host: str, pattern: str) -> bool:
    return pattern == "*" or host == pattern or fnmatch.fnmatchcase(host, pattern)


def compile_path(template: str, case_insensitive: bool) -> re.Pattern[str]:
    """`/v2/volumes/{id}` -> a regex with a named group per `{name}`; `{rest**}` spans
    slashes and `*` matches within one segment. A trailing slash is optional."""
    out = ["^"]
    for piece in _TEMPLATE_PIECE.split(template.rstrip("/") or "/"):
        if piece == "*":
            out.append("[^/]*")
        elif piece.startswith("{") and piece.endswith("**}"):
            out.append(f"(?P<{piece[1:-3]}>.+)")
        elif piece.startswith("{"):
            out.append(f"(?P<{piece[1:-1]}>[^/]+)")
        else:
            out.append(re.escape(piece))
    out.append("/?$" if template != "/" else "$")
    return re.compile("".join(out), re.IGNORECASE if case_insensitive else 0)


def _regex(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise CatalogError(f"{where}: bad regular expression {pattern!r}: {exc}") from exc


def _when(raw: Any, where: str, case_insensitive: bool) -> When:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise CatalogError(f"{where}: `when` must be a mapping")
    unknown = set(raw) - _WHEN_KEYS
    if unknown:
        raise CatalogError(f"{where}: unknown `when` keys {sorted(unknown)}")
    params = raw.get("params") or {}
    if not isinstance(params, Mapping):
        raise CatalogError(f"{where}: `params` must map a parameter name to a regex")
    operation = raw.get("operation")
    if raw.get("graphql") is not None and operation is None:
        operation = "mutation"
    if operation not in (None, "query", "mutation", "subscription"):
        raise CatalogError(f"{where}: `operation` must be query, mutation or subscription")
    methods = strings(raw.get("method"), where, "method")
    hosts = strings(raw.get("host"), where, "host")
    paths = strings(raw.get("path"), where, "path")
    actions = strings(raw.get("action"), where, "action")
    graphql = strings(raw.get("graphql"), where, "graphql")
    return When(
        methods=frozenset(m.upper() for m in methods) if methods else None,
        hosts=hosts or None,
        paths=tuple(compile_path(p, case_insensitive) for p in paths) or None,
        actions=frozenset(actions) if actions else None,
        graphql=frozenset(graphql) if graphql else None,
        operation=operation,
        params=tuple((str(k), _regex(str(v), where)) for k, v in params.items()),
        params_present=strings(raw.get("params_present"), where, "params_present"),
        params_absent=strings(raw.get("params_absent"), where, "params_absent"),
        text=_regex(raw["text"], where) if raw.get("text") else None,
        query=_regex(raw["query"], where) if raw.get("query") is not None else None,
    )


def _entry(raw: Any, provider: str, origin: str, case_insensitive: bool) -> Entry:
    basics = entry_basics(raw, provider, origin, _ENTRY_KEYS)
    where = basics.where
    targets = raw.get("targets") or {}
    if not isinstance(targets, Mapping):
        raise CatalogError(f"{where}: `targets` must be a mapping with kind and from")
    target_from = strings(targets.get("from"), where, "targets.from")
    for source in target_from:
        if not _SOURCE.match(source):
            raise CatalogError(f"{where}: target source {source!r} is not path:/param:/arg:/"
                               "host:/query:NAME")
    embedded = None
    if raw.get("embedded") is not None:
        emb = raw["embedded"]
        if not isinstance(emb, Mapping) or not isinstance(emb.get("kind"), str) or not (
            isinstance(emb.get("from"), str) and _SOURCE.match(emb["from"])
        ):
            raise CatalogError(f"{where}: `embedded` needs kind and from (param:NAME …)")
        options = emb.get("options") or {}
        embedded = Embedded(
            emb["kind"], emb["from"], tuple((str(k), str(v)) for k, v in options.items())
        )
    return Entry(
        id=basics.id,
        provider=provider,
        effect=basics.effect,
        reason=basics.reason,
        suggestion=basics.suggestion,
        when=_when(raw.get("when"), where, case_insensitive),
        target_kind=targets.get("kind"),
        target_from=target_from,
        embedded=embedded,
        match_examples=basics.match_examples,
        no_match_examples=basics.no_match_examples,
    )


def parse_provider(data: Any, origin: str) -> Provider:
    """One provider file's content (already YAML-decoded) as a validated `Provider`."""
    if not isinstance(data, Mapping) or not isinstance(data.get("provider"), str):
        raise CatalogError(f"{origin}: expected a mapping with a `provider` name")
    unknown = set(data) - _PROVIDER_KEYS
    if unknown:
        raise CatalogError(f"{origin}: unknown keys {sorted(unknown)}")
    name = data["provider"]
    ci = bool(data.get("case_insensitive_paths", False))
    hosts = strings(data.get("hosts"), origin, "hosts")
    if not hosts:
        raise CatalogError(f"{origin}: `hosts` is required (use ['*'] for any host)")
    entries = tuple(_entry(e, name, origin, ci) for e in data.get("entries") or ())
    return Provider(
        name=name,
        hosts=tuple(h.lower() for h in hosts),
        case_insensitive=ci,
        graphql_paths=strings(data.get("graphql_paths"), origin, "graphql_paths"),
        credential_headers=frozenset(
            h.lower() for h in strings(data.get("credential_headers"), origin, "c_h")
        ),
        entries=entries,
        origin=origin,
    )


def build(providers: Sequence[Provider]) -> Catalog:
    check_unique_ids((p.origin, p.entries) for p in providers)
    return Catalog(tuple(providers))


def load_files(paths: Iterable[Path]) -> list[Provider]:
    return [parse_provider(read_yaml(path, "provider catalog"), str(path)) for path in paths]


def builtin_files() -> list[Path]:
    return files.builtin_files("http", exclude=("generic.yaml",))


@cache
def builtin() -> Catalog:
    """The catalog shipped with safehold, loaded once per process."""
    return build(load_files(builtin_files()))


def load(extra: Sequence[Path] = ()) -> Catalog:
    """The built-in catalog plus user provider files (same schema, same validation)."""
    return build([*builtin().providers, *load_files(extra)])


def example_request(provider: Provider, example: Any) -> Any:
    """An entry example as analyser input: raw request text, a request mapping, or
    `{graphql, variables}` posted to the provider's first GraphQL endpoint."""
    if isinstance(example, Mapping) and "graphql" in example:
        body: dict[str, Any] = {"query": example["graphql"]}
        if example.get("variables") is not None:
            body["variables"] = example["variables"]
        path = provider.graphql_paths[0] if provider.graphql_paths else "/graphql"
        return {
            "method": "POST",
            "url": example.get("url") or f"https://{provider.hosts[0]}{path}",
            "headers": {"Content-Type": "application/json"},
            "body": body,
        }
    return example
