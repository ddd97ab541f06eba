"""HTTP and GraphQL calls to provider APIs: what they would do, to what, with which credential.

The input is a request mapping (`method`, `url`, `headers`, `body`, optionally `unknown`: what
the caller could not determine, such as a body read from an unreadable file) or the raw text of
a request. GraphQL bodies are parsed and judged by their root fields; other calls by the
provider catalog, then by what their method or action name announces. SQL sent to a query
endpoint goes back through the SQL analyser. Anything not understood is an unknown finding.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safehold.analysis.http import catalog as catalog_mod
from safehold.analysis.http import credentials, matcher
from safehold.analysis.http.names import Vocabulary, vocabulary
from safehold.analysis.http.request import HttpRequest, from_input
from safehold.analysis.interface import AnalysisContext, Analyzer
from safehold.model import Effect, Facts, Finding, Operation, Target

if TYPE_CHECKING:
    from safehold.analysis.http.graphql_doc import RootField

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_GRAPHQL_METHODS = frozenset({"GET", "POST"})


def looks_like_graphql(text: str) -> bool:
    """Whether a string starts the way a GraphQL document does (after comments)."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        head = stripped.split("(", 1)[0].split("{", 1)[0].split()
        return stripped.startswith("{") or (
            bool(head) and head[0] in ("query", "mutation", "subscription", "fragment")
        )
    return False


def _graphql_payloads(req: HttpRequest) -> list[tuple[Any, Any, Any]] | None:
    """(query, variables, operationName) per operation the request carries; None when the
    request carries no GraphQL document at all."""
    if req.has_json:
        body = req.body_json
        items = body if isinstance(body, list) else [body]
        out = []
        for item in items:
            if isinstance(item, Mapping) and ("query" in item or "extensions" in item):
                out.append((item.get("query"), item.get("variables"), item.get("operationName")))
        return out or None
    ctype = (req.header("content-type") or "").lower()
    if req.body_text and ("graphql" in ctype or looks_like_graphql(req.body_text)):
        return [(req.body_text, None, None)]
    query = [v for k, v in req.query if k == "query"]
    if query:
        variables = next((v for k, v in req.query if k == "variables"), None)
        name = next((v for k, v in req.query if k == "operationName"), None)
        return [(query[0], variables, name)]
    return None


class HttpAnalyzer(Analyzer):
    """Analyser for kind "http"; built with the shipped catalog unless one is passed in."""

    kind = "http"

    def __init__(self, catalog: catalog_mod.Catalog | None = None,
                 vocab: Vocabulary | None = None) -> None:
        self.catalog = catalog or catalog_mod.builtin()
        self.vocab = vocab or vocabulary()

    @classmethod
    def with_user_catalogs(cls, directories: Sequence[Path]) -> HttpAnalyzer:
        files = sorted(p for d in directories for p in d.iterdir() if p.suffix in (".yaml", ".yml"))
        return cls(catalog=catalog_mod.load(files))

    def describe(self, input: Any, options: Mapping[str, str]) -> str:
        from safehold.analysis.http.describe import describe

        return describe(input)

    def analyze(self, input: Any, options: Mapping[str, str], ctx: AnalysisContext) -> Facts:
        req = from_input(input)
        where = req.display()
        unknowns = [Finding("http:not-understood", p, where) for p in req.problems]
        found = credentials.findings(req, self.vocab, self.catalog.credential_headers)
        creds = tuple(f for f in found if f.id != credentials.CARRIED)
        uses = tuple(f for f in found if f.id == credentials.CARRIED)
        if not req.host:
            unknowns.append(Finding("http:no-host", "the request's host is not known", where))
            return Facts(kind="http", credentials=creds, unknowns=tuple(unknowns),
                         credential_uses=uses)
        providers = self._providers(req.host, options.get("provider"))
        provider = next((p.name for p in providers if not p.wildcard), None)
        ops: list[Operation] = []
        embedded: list[Facts] = []
        if ("$" in req.host or "`" in req.host) and req.method not in _READ_METHODS:
            unknowns.append(
                Finding("http:unresolved-host",
                        f"the host {req.host!r} is not known before the command runs, so "
                        "the provider cannot be identified", where)
            )
        graphql_path = any(p.is_graphql_path(req.path) for p in providers) or any(
            segment.lower() == "graphql" for segment in req.path.split("/")
        )
        hit = matcher.match_request(providers, req)
        payloads = _graphql_payloads(req) if req.method in _GRAPHQL_METHODS else None
        if hit is not None:
            op = self._entry_op(hit, req)
            ops.append(op)
            unresolved = [t.name for t in op.targets
                          if t.kind != "url" and ("$" in t.name or "`" in t.name)]
            if unresolved and op.effect >= Effect.DESTRUCTIVE:
                unknowns.append(
                    Finding("http:unresolved-target",
                            f"{op.id} acts on {', '.join(unresolved)}, which is only known when "
                            "the command runs", where)
                )
            if hit.entry.embedded is not None:
                embedded.append(self._embedded(hit, req, ctx, unknowns))
        elif payloads is not None and graphql_path:
            self._graphql(req, payloads, providers, provider, ops, unknowns)
        else:
            if payloads is not None and self._is_graphql(payloads):
                # GraphQL-looking body at an ordinary endpoint: judged both ways, the worse wins
                self._graphql(req, payloads, providers, provider, ops, unknowns)
            elif graphql_path and req.method not in _READ_METHODS:
                unknowns.append(
                    Finding("http:graphql-unreadable",
                            "a GraphQL endpoint is called without a document safehold can "
                            "read", where)
                )
            fallback = matcher.generic_request(req, provider, self.vocab)
            if fallback is None:
                unknowns.append(
                    Finding("http:method", f"HTTP method {req.method!r} is not understood",
                            where)
                )
            else:
                ops.append(fallback)
        facts = Facts(kind="http", operations=tuple(ops), credentials=creds,
                      unknowns=tuple(unknowns), credential_uses=uses)
        return facts.merged(*embedded) if embedded else facts

    def _providers(self, host: str, named: str | None) -> list[catalog_mod.Provider]:
        """Providers for `host`, plus the one a surface knows the request goes to (the gateway
        knows its credential's provider even when the upstream is a self-hosted or test URL).
        The host's own providers stay first, so naming a provider can only add knowledge."""
        found = self.catalog.providers_for(host)
        if named:
            extra = [p for p in self.catalog.providers if p.name == named and p not in found]
            specific = [p for p in found if not p.wildcard]
            found = specific + extra + [p for p in found if p.wildcard]
        return found

    @staticmethod
    def _is_graphql(payloads: list[tuple[Any, Any, Any]]) -> bool:
        return any(isinstance(q, str) and looks_like_graphql(q) for q, _, _ in payloads)

    def _graphql(self, req: HttpRequest, payloads: list[tuple[Any, Any, Any]],
                 providers: list[catalog_mod.Provider], provider: str | None,
                 ops: list[Operation], unknowns: list[Finding]) -> None:
        from safehold.analysis.http.graphql_doc import analyse  # graphql-core loads on first use

        where = req.display()
        if not payloads:
            unknowns.append(Finding("http:graphql-unreadable",
                                    "the body carries no GraphQL document", where))
        reads: list[RootField] = []
        for query, variables, operation_name in payloads:
            if not isinstance(query, str):
                unknowns.append(
                    Finding("http:graphql-unreadable",
                            "the GraphQL document is not in the request (persisted query or "
                            "missing `query`)", where)
                )
                continue
            parsed = analyse(query, variables, operation_name)
            unknowns.extend(Finding("http:graphql-unparsed", p, where) for p in parsed.problems)
            for field in parsed.fields:
                source = f"{where} {field.operation} {field.name}"
                entry = matcher.match_field(providers, field)
                if entry is not None:
                    op = self._field_op(entry, field, source)
                elif field.operation == "mutation":
                    op = matcher.generic_field(field, provider, source, self.vocab)
                else:
                    reads.append(field)
                    continue
                ops.append(op)
                if field.unresolved and op.effect >= Effect.DESTRUCTIVE:
                    unknowns.append(
                        Finding("http:graphql-unresolved",
                                f"{field.name} uses variables with no value in the request: "
                                + ", ".join(f"${v}" for v in field.unresolved), source)
                    )
        if reads:
            names = ", ".join(dict.fromkeys(f.name for f in reads))
            ops.append(
                Operation(
                    id=f"{provider or 'graphql'}:query",
                    effect=Effect.READ,
                    reason=f"{provider or 'GraphQL'} {reads[0].operation} of {names} reads data",
                    source=f"{where} {reads[0].operation}",
                    provider=provider,
                )
            )

    @staticmethod
    def _field_op(entry: catalog_mod.Entry, field: RootField, source: str) -> Operation:
        targets = matcher.entry_targets(entry, entry.provider, None, {}, field.args)
        shown = field.name if field.alias is None else f"{field.name} (as {field.alias})"
        return Operation(
            id=entry.id,
            effect=entry.effect,
            reason=f"{entry.provider} {field.operation} {shown}"
            f"{matcher.describe_targets(targets)}: {entry.reason}",
            source=source,
            targets=targets,
            suggestion=entry.suggestion,
            provider=entry.provider,
        )

    @staticmethod
    def _entry_op(hit: matcher.Hit, req: HttpRequest) -> Operation:
        entry = hit.entry
        targets = matcher.entry_targets(entry, entry.provider, req, hit.captures, None)
        action = matcher.action_name(req)
        what = action if action else f"{req.method} {req.path}"
        url = Target(kind="url", name=req.location(), provider=entry.provider)
        return Operation(
            id=entry.id,
            effect=entry.effect,
            reason=f"{entry.provider} {what}{matcher.describe_targets(targets)}: {entry.reason}",
            source=req.display(),
            targets=(*targets, url),
            suggestion=entry.suggestion,
            provider=entry.provider,
        )

    @staticmethod
    def _embedded(hit: matcher.Hit, req: HttpRequest, ctx: AnalysisContext,
                  unknowns: list[Finding]) -> Facts:
        emb = hit.entry.embedded
        assert emb is not None
        values = matcher.resolve_source(emb.source, req, hit.captures, None)
        if not values:
            unknowns.append(
                Finding("http:embedded-missing",
                        f"{hit.entry.id} carries {emb.kind} in {emb.source}, which is absent "
                        "or not readable", req.display())
            )
            return Facts(kind=emb.kind)
        text = shlex.join(values) if emb.kind == "shell" and len(values) > 1 else values[0]
        return ctx.embedded(emb.kind, text, dict(emb.options),
                            source=f"{req.display()} {emb.source}")
