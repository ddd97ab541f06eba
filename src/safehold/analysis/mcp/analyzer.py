"""MCP tool calls: what the tool does, judged with its arguments, never by its name alone.

Input is `{server, tool, arguments}` (a `mcp__server__tool` name is split as agents report it).
A catalogued tool gets its entry's effect, and the arguments that carry shell, SQL or HTTP go
back through those analysers, so `execute_sql` with a `DROP TABLE` is a drop and `fetch` of a
URL is that HTTP call. An uncatalogued tool is judged by its name and by arguments whose names
say what they hold (`command`, `sql`, `url`); a tool nobody can classify is an unknown.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from safehold.analysis.http.names import Vocabulary, classify, vocabulary
from safehold.analysis.interface import AnalysisContext, Analyzer
from safehold.analysis.mcp import catalog as catalog_mod
from safehold.analysis.mcp.catalog import Embed, ToolEntry
from safehold.model import Effect, Facts, Finding, Operation, Target

_SHELL_ARGS = frozenset({"command", "cmd", "shell", "script", "bash", "command_line",
                         "commandline"})
_SQL_ARGS = frozenset({"sql", "statement", "sql_query", "statements"})
_URL_ARGS = frozenset({"url", "uri", "endpoint", "href"})
_CREDENTIAL_ARGS = frozenset({"token", "api_key", "apikey", "access_token", "auth_token",
                              "password", "passwd", "secret", "client_secret", "private_key",
                              "bearer_token", "authorization"})
_SQL_START = re.compile(
    r"^\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*(select|insert|update|delete|drop|truncate|alter|"
    r"create|with|merge|grant|revoke|copy|begin|do|call|exec|execute|replace|explain|vacuum|"
    r"set|show|pragma|attach|detach|comment|rename|lock|refresh|reindex|cluster|import|load)\b",
    re.IGNORECASE | re.DOTALL,
)


def looks_like_sql(text: str) -> bool:
    return bool(_SQL_START.match(text))


class McpAnalyzer(Analyzer):
    """Analyser for kind "mcp"; built with the shipped catalog unless one is passed in."""

    kind = "mcp"

    def __init__(self, catalog: catalog_mod.McpCatalog | None = None,
                 vocab: Vocabulary | None = None) -> None:
        self.catalog = catalog or catalog_mod.builtin()
        self.vocab = vocab or vocabulary()

    @classmethod
    def with_user_catalogs(cls, directories: Sequence[Path]) -> McpAnalyzer:
        files = sorted(p for d in directories for p in d.iterdir() if p.suffix in (".yaml", ".yml"))
        return cls(catalog=catalog_mod.load(files))

    def analyze(self, input: Any, options: Mapping[str, str], ctx: AnalysisContext) -> Facts:
        if not isinstance(input, Mapping):
            return _unknown("mcp:not-understood", "MCP input is not a {server, tool, arguments} "
                            "mapping")
        server = str(input.get("server") or "").strip().lower()
        tool = input.get("tool", input.get("name"))
        if not isinstance(tool, str) or not tool.strip():
            return _unknown("mcp:not-understood", "MCP call names no tool", server)
        tool = tool.strip()
        if tool.startswith("mcp__") and tool.count("__") >= 2:
            _, found_server, tool = tool.split("__", 2)
            server = server or found_server.lower()
        arguments = input.get("arguments", input.get("args"))
        source = f"{server or 'unknown-server'}/{tool}"
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, Mapping):
            return _unknown("mcp:not-understood", "tool arguments are not an object", source)
        unknowns: list[Finding] = []
        credentials = self._credentials(arguments, source)
        entry = self._match(server, tool, arguments)
        if entry is not None:
            ops = [self._entry_op(entry, server, tool, arguments, source, ctx.cwd)]
            embedded = self._embedded(entry, arguments, ctx, unknowns, source)
        else:
            embedded = self._scan(arguments, ctx, source)
            ops = self._by_name(tool, server, source, unknowns)
        facts = Facts(kind="mcp", operations=tuple(ops), credential_uses=tuple(credentials),
                      unknowns=tuple(unknowns))
        return facts.merged(*embedded) if embedded else facts

    def _match(self, server: str, tool: str, arguments: Mapping[str, Any]) -> ToolEntry | None:
        for family in self.catalog.families_for(server):
            for entry in family.entries:
                if tool not in entry.tools:
                    continue
                if all(
                    (v := arguments.get(name)) is not None and pattern.search(str(v))
                    for name, pattern in entry.when
                ):
                    return entry
        return None

    @staticmethod
    def _entry_op(entry: ToolEntry, server: str, tool: str, arguments: Mapping[str, Any],
                  source: str, cwd: str) -> Operation:
        targets: list[Target] = []
        if entry.target_kind:
            for name in entry.target_args:
                value = arguments.get(name)
                values = value if isinstance(value, list) else [value]
                for v in values:
                    if not isinstance(v, str | int) or not str(v):
                        continue
                    name = str(v)
                    if entry.target_kind == "path" and not name.startswith(("/", "~", "$")):
                        name = os.path.normpath(os.path.join(cwd, name))
                    targets.append(Target(kind=entry.target_kind, name=name))
        shown = ""
        if targets:
            shown = f" on {targets[0].kind} " + ", ".join(t.name for t in targets[:5])
        return Operation(
            id=entry.id,
            effect=entry.effect,
            reason=f"{server or 'MCP'} tool {tool}{shown}: {entry.reason}",
            source=source,
            targets=tuple(dict.fromkeys(targets)),
            suggestion=entry.suggestion,
        )

    def _embedded(self, entry: ToolEntry, arguments: Mapping[str, Any], ctx: AnalysisContext,
                  unknowns: list[Finding], source: str) -> list[Facts]:
        out: list[Facts] = []
        present = [e for e in entry.embed if arguments.get(e.arg) is not None]
        if entry.embed and not present:
            kinds = "/".join(sorted({e.kind for e in entry.embed}))
            unknowns.append(
                Finding("mcp:embedded-missing",
                        f"{entry.id} carries {kinds} in an argument, but none of "
                        f"{', '.join(e.arg for e in entry.embed)} is given", source)
            )
        for emb in present:
            facts = self._embed_one(emb, arguments, ctx, source)
            if facts is None:
                unknowns.append(
                    Finding("mcp:argument-unreadable",
                            f"argument {emb.arg!r} should hold {emb.kind} but is not text",
                            source)
                )
            else:
                out.append(facts)
        return out

    @staticmethod
    def _embed_one(emb: Embed, arguments: Mapping[str, Any], ctx: AnalysisContext,
                   source: str) -> Facts | None:
        value = arguments.get(emb.arg)
        if emb.kind == "http":
            if not isinstance(value, str):
                return None
            method = arguments.get("method")
            request = {
                "method": method if isinstance(method, str) else "GET",
                "url": value,
                "headers": arguments.get("headers"),
                "body": arguments.get("body", arguments.get("data")),
            }
            return ctx.embedded("http", request, source=source)
        if emb.kind == "file":
            paths = value if isinstance(value, list) else [value]
            if not paths or not all(isinstance(p, str) and p for p in paths):
                return None
            changes = [{"op": emb.op, "path": p} for p in paths]
            return ctx.embedded("file", {"changes": changes}, dict(emb.options), source=source)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            text = shlex.join(value) if emb.kind == "shell" else ";\n".join(value)
        elif isinstance(value, str):
            text = value
        else:
            return None
        if emb.prefix:
            text = f"{emb.prefix} {text}"
        return ctx.embedded(emb.kind, text, dict(emb.options), source=source)

    def _scan(self, arguments: Mapping[str, Any], ctx: AnalysisContext,
              source: str) -> list[Facts]:
        """Arguments of an uncatalogued tool whose names say they hold shell, SQL or a URL."""
        out: list[Facts] = []
        for key, value in arguments.items():
            if not isinstance(value, str) or not value.strip():
                continue
            name = str(key).lower()
            if name in _SHELL_ARGS:
                out.append(ctx.embedded("shell", value, source=f"{source} {key}"))
            elif name in _SQL_ARGS:
                out.append(ctx.embedded("sql", value, source=f"{source} {key}"))
            elif name == "query" and looks_like_sql(value):
                facts = ctx.embedded("sql", value, source=f"{source} {key}")
                if facts.operations:
                    out.append(facts)  # a `query` that does not parse as SQL is search text
            elif name in _URL_ARGS and value.lower().startswith(("http://", "https://")):
                out.append(
                    self._embed_one(Embed(arg=str(key), kind="http"), arguments, ctx, source)
                    or Facts(kind="http")
                )
        return out

    def _by_name(self, tool: str, server: str, source: str,
                 unknowns: list[Finding]) -> list[Operation]:
        who = f"{server} tool {tool}" if server else f"tool {tool}"
        effect = classify(tool, self.vocab)
        if effect is Effect.DESTRUCTIVE:
            return [Operation(
                "mcp:tool-destructive", Effect.DESTRUCTIVE,
                f"{who} is not in the catalog and its name says it deletes or discards data",
                source,
                suggestion="Ask a human to run it, or add a catalog entry describing the tool.",
            )]
        if effect is Effect.READ:
            return [Operation("mcp:tool-read", Effect.READ,
                              f"{who} is not in the catalog; its name says it only reads", source)]
        if effect is Effect.WRITE:
            unknowns.append(
                Finding("mcp:unknown-tool",
                        f"{who} is not in the catalog and its name says it changes something; "
                        "what it changes is not known", source)
            )
            return [Operation("mcp:tool-write", Effect.WRITE,
                              f"{who} is not in the catalog; its name says it changes state",
                              source)]
        unknowns.append(
            Finding("mcp:unknown-tool",
                    f"{who} is not in the catalog and its name does not say what it does", source)
        )
        return []

    def _credentials(self, arguments: Mapping[str, Any], source: str) -> list[Finding]:
        return [
            Finding("mcp:credential",
                    f"argument {key!r} carries a credential (redacted)", source)
            for key, value in arguments.items()
            if isinstance(value, str) and value
            and str(key).lower().replace("-", "_") in _CREDENTIAL_ARGS
        ]


def _unknown(rule: str, reason: str, source: str = "") -> Facts:
    return Facts(kind="mcp", unknowns=(Finding(rule, reason, source),))
