"""Catalog entries against one request or one GraphQL root field.

The first entry whose conditions all hold describes the call (entries are ordered from the
most specific, e.g. `DeleteDBInstance` with `SkipFinalSnapshot=true`, to the general). What no
entry describes falls back to what the method or the operation's name announces. Reasons name
the provider, the operation and its target, never a credential.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from safehold.analysis.http.catalog import Entry, Provider, host_matches
from safehold.analysis.http.names import Vocabulary, classify, words
from safehold.analysis.http.request import HttpRequest
from safehold.model import Effect, Operation, Target

if TYPE_CHECKING:
    from safehold.analysis.http.graphql_doc import RootField

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})
_ID_ARG = ("id", "ids", "name")


@dataclass(frozen=True, slots=True)
class Hit:
    """An entry that matched, with the path captures its targets may refer to."""

    entry: Entry
    captures: dict[str, str]


def action_name(req: HttpRequest) -> str | None:
    """The API action of a query-protocol (`Action=…`) or JSON-protocol (`X-Amz-Target`) call."""
    target = req.header("x-amz-target")
    if target:
        return target.strip().rpartition(".")[2] or None
    for key, value in (*req.query, *req.form):
        if key == "Action" and value:
            return value
    return None


def _params_hold(entry: Entry, req: HttpRequest) -> bool:
    when = entry.when
    for name, pattern in when.params:
        value = req.param(name)
        if value is None or not pattern.search(value):
            return False
    if any(req.param(n) is None for n in when.params_present):
        return False
    return not any(req.param(n) is not None for n in when.params_absent)


def match_request(providers: Iterable[Provider], req: HttpRequest) -> Hit | None:
    """The first REST / query-protocol entry that describes this request."""
    action = None
    action_done = False
    for provider in providers:
        for entry in provider.entries:
            when = entry.when
            if when.graphql is not None:
                continue
            if when.methods is not None and req.method not in when.methods:
                continue
            if when.hosts is not None and not any(host_matches(req.host, h) for h in when.hosts):
                continue
            if when.actions is not None:
                if not action_done:
                    action, action_done = action_name(req), True
                if action not in when.actions:
                    continue
            captures: dict[str, str] = {}
            if when.paths is not None:
                found = next((m for p in when.paths if (m := p.match(req.path))), None)
                if found is None:
                    continue
                captures = {k: v for k, v in found.groupdict().items() if v is not None}
            if not _params_hold(entry, req):
                continue
            if when.text is not None and not when.text.search(req.body_text or ""):
                continue
            if when.query is not None and not when.query.search(urlencode(req.query)):
                continue
            return Hit(entry, captures)
    return None


def match_field(providers: Iterable[Provider], field: RootField) -> Entry | None:
    """The first GraphQL entry naming this root field for its operation type."""
    rendered: str | None = None
    for provider in providers:
        for entry in provider.entries:
            when = entry.when
            if when.graphql is None or field.name not in when.graphql:
                continue
            if when.operation is not None and when.operation != field.operation:
                continue
            if when.params and not all(
                isinstance(v := _dig(field.args, name), str | int | float | bool)
                and pattern.search(str(v).lower() if isinstance(v, bool) else str(v))
                for name, pattern in when.params
            ):
                continue
            if when.text is not None:
                if rendered is None:
                    rendered = json.dumps(field.args, sort_keys=True, default=str)
                if not when.text.search(rendered):
                    continue
            return entry
    return None


def _dig(args: Any, dotted: str) -> Any:
    value = args
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _target_names(values: Any) -> list[str]:
    if isinstance(values, list):
        return [str(v) for v in values if isinstance(v, str | int)]
    if isinstance(values, str | int):
        return [str(values)]
    return []


def resolve_source(source: str, req: HttpRequest | None, captures: dict[str, str],
                   args: dict[str, Any] | None) -> list[str]:
    """Values of a `path:`/`param:`/`query:`/`arg:`/`host:` source; empty when absent."""
    kind, _, name = source.partition(":")
    if kind == "path":
        return [captures[name]] if name in captures else []
    if kind == "arg":
        return _target_names(_dig(args or {}, name))
    if req is None:
        return []
    if kind == "param":
        value = req.param(name)
        return [value] if value is not None else []
    if kind == "query":
        return [v for k, v in req.query if k == name]
    if kind == "host":
        labels = req.host.split(".")
        index = int(name) if name.isdigit() else -1
        return [labels[index]] if 0 <= index < len(labels) else []
    return []


def entry_targets(entry: Entry, provider: str, req: HttpRequest | None,
                  captures: dict[str, str], args: dict[str, Any] | None) -> tuple[Target, ...]:
    if not entry.target_kind:
        return ()
    names: list[str] = []
    for source in entry.target_from:
        names.extend(resolve_source(source, req, captures, args))
    return tuple(
        Target(kind=entry.target_kind, name=n, provider=provider) for n in dict.fromkeys(names)
    )


def describe_targets(targets: tuple[Target, ...]) -> str:
    if not targets:
        return ""
    kind = targets[0].kind
    return f" on {kind} " + ", ".join(t.name for t in targets)


def field_noun(name: str, vocab: Vocabulary) -> str:
    """`volumeInstanceBackupDelete` -> `volume-instance-backup`: the resource a field acts on."""
    nouns = [
        w for w in words(name)
        if w not in vocab.destructive and w not in vocab.write and w not in vocab.read
    ]
    return "-".join(nouns) or "resource"


def generic_field(field: RootField, provider: str | None, source: str,
                  vocab: Vocabulary) -> Operation:
    """A GraphQL root field no entry describes: queries read, mutations write or worse."""
    ns = provider or "graphql"
    if field.operation != "mutation":
        return Operation(
            id=f"{ns}:{field.operation}",
            effect=Effect.READ,
            reason=f"{provider or 'GraphQL'} {field.operation} {field.name} reads data",
            source=source,
            provider=provider,
        )
    effect = classify(field.name, vocab)
    ids = [
        v for k, v in field.args.items()
        if isinstance(v, str | int) and (k in _ID_ARG or k.endswith(("Id", "_id", "Ids")))
    ]
    noun = field_noun(field.name, vocab)
    targets = tuple(Target(kind=noun, name=str(i), provider=provider) for i in ids)
    if effect is Effect.DESTRUCTIVE:
        return Operation(
            id=f"{ns}:mutation-destructive",
            effect=Effect.DESTRUCTIVE,
            reason=(
                f"{provider or 'GraphQL'} mutation {field.name}{describe_targets(targets)} "
                "is not in the catalog and its name says it deletes or discards data"
            ),
            source=source,
            targets=targets,
            suggestion="Ask a human to run it, or check the provider's docs and add a "
            "catalog entry for this mutation.",
            provider=provider,
        )
    return Operation(
        id=f"{ns}:mutation",
        effect=Effect.WRITE,
        reason=f"{provider or 'GraphQL'} mutation {field.name}{describe_targets(targets)} "
        "changes state",
        source=source,
        targets=targets,
        provider=provider,
    )


def generic_request(req: HttpRequest, provider: str | None, vocab: Vocabulary) -> Operation | None:
    """What an uncatalogued request's method (or API action name) says; None if it says
    nothing safe to rely on (an unusual method)."""
    who = provider or req.host or "unknown host"
    target = (Target(kind="url", name=req.location(), provider=provider),)
    action = action_name(req)
    ns = provider or "http"
    if action:
        effect = classify(action, vocab)
        if effect is None:
            effect = Effect.READ if req.method in _READ_METHODS and not req.form else Effect.WRITE
        return Operation(
            id=f"{ns}:action-{effect.label}",
            effect=effect,
            reason=f"{who} API action {action} is not in the catalog; its name says "
            f"{effect.label}",
            source=req.display(),
            targets=target,
            provider=provider,
        )
    if req.method in _READ_METHODS:
        return Operation(f"{ns}:read", Effect.READ, f"{req.method} on {who} reads",
                         req.display(), target, provider=provider)
    if req.method == "DELETE":
        return Operation(
            f"{ns}:delete", Effect.DESTRUCTIVE,
            f"DELETE {req.host}{req.path} deletes a resource on {who}",
            req.display(), target,
            suggestion="Confirm what the resource holds and that it is backed up elsewhere.",
            provider=provider,
        )
    if req.method in _WRITE_METHODS:
        segments = [s for s in req.path.split("/") if s]
        last = segments[-1] if segments else ""
        if last and classify(last, vocab) is Effect.DESTRUCTIVE:
            return Operation(
                f"{ns}:destructive-endpoint", Effect.DESTRUCTIVE,
                f"{req.method} {req.host}{req.path}: the endpoint {last!r} is named for deleting "
                "or discarding data",
                req.display(), target, provider=provider,
            )
        return Operation(f"{ns}:write", Effect.WRITE, f"{req.method} on {who} changes state",
                         req.display(), target, provider=provider)
    return None
