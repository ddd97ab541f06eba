"""ORM and database-client calls that wipe a table, in Python (by its `ast`) and in
JavaScript, Ruby and PHP (by their tokens). Which calls do that is data (`orm_calls.yaml`)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from safehold.catalog.files import read_yaml
from safehold.errors import CatalogError

ORM_FILE = Path(__file__).parents[2] / "catalog" / "data" / "orm_calls.yaml"


@dataclass(frozen=True, slots=True)
class OrmCall:
    id: str
    effect: str
    reason: str
    suggestion: str
    methods: frozenset[str]
    no_args: bool
    after: frozenset[str]
    languages: frozenset[str]

    def matches(self, method: str, empty: bool, before: str | None, lang: str) -> bool:
        return (method in self.methods and (empty or not self.no_args)
                and (not self.after or before in self.after)
                and (not self.languages or lang in self.languages))


@cache
def orm_calls() -> tuple[OrmCall, ...]:
    raw = read_yaml(ORM_FILE, "ORM call list")
    items = raw.get("calls") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise CatalogError(f"{ORM_FILE}: expected a `calls` list")
    out = []
    for item in items:
        try:
            out.append(OrmCall(str(item["id"]), str(item["effect"]), str(item["reason"]),
                               str(item.get("suggestion", "")), frozenset(item["methods"]),
                               bool(item.get("no_args", False)),
                               frozenset(item.get("after", [])),
                               frozenset(item.get("languages", []))))
        except (KeyError, TypeError) as exc:
            raise CatalogError(f"{ORM_FILE}: bad entry {item!r}: {exc}") from None
    return tuple(out)


def match(method: str, empty: bool, before: str | None, lang: str) -> OrmCall | None:
    for call in orm_calls():
        if call.matches(method, empty, before, lang):
            return call
    return None


def _empty_args(node: ast.Call) -> bool:
    if node.keywords:
        return False
    if not node.args:
        return True
    return len(node.args) == 1 and isinstance(node.args[0], ast.Dict) and not node.args[0].keys


def _before(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def python_calls(tree: ast.AST) -> list[OrmCall]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            hit = match(node.func.attr, _empty_args(node), _before(node.func.value), "python")
            if hit is not None:
                found.append(hit)
    return found


def token_calls(toks: list[Any], lang: str) -> list[OrmCall]:
    """Calls in a token stream (`interpreters.tokenize`): an id, maybe dotted, whose last
    part is the method; the part before it (or the call before a `.`/`->`) is `before`."""
    found = []
    for i, t in enumerate(toks):
        if t.kind != "id":
            continue
        parts = t.text.replace("::", ".").split(".")
        method = parts[-1].rstrip("!?")
        before: str | None = parts[-2] if len(parts) > 1 else None
        chained = i >= 1 and (toks[i - 1].text == "." or (
            i >= 2 and toks[i - 2].text == "-" and toks[i - 1].text == ">"))
        if before is None and chained:
            before = _call_name_before(toks, i - (1 if toks[i - 1].text == "." else 2))
        if before is None and not chained:
            continue
        nxt = [x.text for x in toks[i + 1:i + 5]]
        if nxt[:1] == ["("]:
            empty = nxt[1:2] == [")"] or nxt[1:4] == ["{", "}", ")"]
        else:
            empty = lang in ("ruby",)
        hit = match(method, empty, before, lang)
        if hit is not None:
            found.append(hit)
    return found


def _call_name_before(toks: list[Any], dot: int) -> str | None:
    """The method name of the call that ends just before the `.` at `dot`."""
    j = dot - 1
    if j >= 0 and toks[j].text == ")":
        depth = 0
        while j >= 0:
            if toks[j].text == ")":
                depth += 1
            elif toks[j].text == "(":
                depth -= 1
                if depth == 0:
                    break
            j -= 1
        j -= 1
    if j >= 0 and toks[j].kind == "id":
        return toks[j].text.replace("::", ".").split(".")[-1]
    return None
