"""The root fields a GraphQL request would execute, found with graphql-core's parser.

What a GraphQL call does is decided by its operation type and its root fields, so that is what
we extract: every root field (through aliases, inline fragments and fragment spreads), with its
arguments resolved from the request's `variables`. Comments and string contents are not code:
a query that mentions `volumeDelete` in a comment has no `volumeDelete` field. A document that
does not parse is reported as a problem, never read as harmless.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import GraphQLError, parse
from graphql.language import ast

_MAX_TOKENS = 20_000


@dataclass(frozen=True, slots=True)
class RootField:
    """One root field of an executed operation: what the server is asked to do."""

    operation: str
    name: str
    alias: str | None
    args: dict[str, Any]
    unresolved: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Parsed:
    fields: tuple[RootField, ...]
    problems: tuple[str, ...]


def _value(node: ast.ValueNode, variables: dict[str, Any], unresolved: list[str]) -> Any:
    if isinstance(node, ast.VariableNode):
        name = node.name.value
        if name in variables:
            return variables[name]
        unresolved.append(name)
        return f"${name}"
    if isinstance(node, ast.IntValueNode):
        return int(node.value)
    if isinstance(node, ast.FloatValueNode):
        return float(node.value)
    if isinstance(node, ast.StringValueNode | ast.EnumValueNode):
        return node.value
    if isinstance(node, ast.BooleanValueNode):
        return node.value
    if isinstance(node, ast.NullValueNode):
        return None
    if isinstance(node, ast.ListValueNode):
        return [_value(v, variables, unresolved) for v in node.values]
    if isinstance(node, ast.ObjectValueNode):
        return {f.name.value: _value(f.value, variables, unresolved) for f in node.fields}
    return None


def _root_fields(
    selections: tuple[ast.SelectionNode, ...],
    fragments: dict[str, ast.FragmentDefinitionNode],
    visiting: frozenset[str],
    problems: list[str],
) -> list[ast.FieldNode]:
    out: list[ast.FieldNode] = []
    for sel in selections:
        if isinstance(sel, ast.FieldNode):
            out.append(sel)
        elif isinstance(sel, ast.InlineFragmentNode):
            out.extend(_root_fields(sel.selection_set.selections, fragments, visiting, problems))
        elif isinstance(sel, ast.FragmentSpreadNode):
            name = sel.name.value
            frag = fragments.get(name)
            if frag is None:
                problems.append(f"fragment {name!r} is used but not defined")
            elif name in visiting:
                problems.append(f"fragment {name!r} spreads itself")
            else:
                out.extend(
                    _root_fields(
                        frag.selection_set.selections, fragments, visiting | {name}, problems
                    )
                )
    return out


def _variables(raw: Any, problems: list[str]) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else {}
        except ValueError:
            problems.append("`variables` is a string that is not JSON")
            return {}
    if not isinstance(raw, dict):
        problems.append("`variables` is not an object")
        return {}
    return raw


@lru_cache(maxsize=512)
def _parse(query: str) -> tuple[ast.DocumentNode | None, str]:
    """The document for a query text. Clients send the same documents over and over with
    different variables, so parsed documents are kept (bounded); nothing here mutates them."""
    try:
        return parse(query, no_location=True, max_tokens=_MAX_TOKENS), ""
    except GraphQLError as exc:
        return None, f"GraphQL document does not parse: {exc.message}"
    except RecursionError:
        return None, "GraphQL document nests too deeply to parse"


def analyse(query: str, variables: Any = None, operation_name: Any = None) -> Parsed:
    """Root fields of the operation(s) a request would execute.

    With an `operationName` that names an operation, only that one runs; otherwise every
    operation in the document is reported, so an ambiguous document is judged by its worst.
    """
    problems: list[str] = []
    document, error = _parse(query)
    if document is None:
        return Parsed((), (error,))
    vars_given = _variables(variables, problems)
    operations = [d for d in document.definitions if isinstance(d, ast.OperationDefinitionNode)]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, ast.FragmentDefinitionNode)
    }
    if not operations:
        problems.append("GraphQL document has no operation")
    if isinstance(operation_name, str) and operation_name:
        chosen = [op for op in operations if op.name and op.name.value == operation_name]
        if chosen:
            operations = chosen
        else:
            problems.append(f"operationName {operation_name!r} names no operation")
    fields: list[RootField] = []
    for op in operations:
        defaults: dict[str, Any] = {}
        for vdef in op.variable_definitions or ():
            if vdef.default_value is not None:
                defaults[vdef.variable.name.value] = _value(vdef.default_value, {}, [])
        scope = {**defaults, **vars_given}
        kind = op.operation.value
        for node in _root_fields(op.selection_set.selections, fragments, frozenset(), problems):
            unresolved: list[str] = []
            args = {a.name.value: _value(a.value, scope, unresolved) for a in node.arguments or ()}
            fields.append(
                RootField(
                    operation=kind,
                    name=node.name.value,
                    alias=node.alias.value if node.alias else None,
                    args=args,
                    unresolved=tuple(dict.fromkeys(unresolved)),
                )
            )
    return Parsed(tuple(fields), tuple(problems))

