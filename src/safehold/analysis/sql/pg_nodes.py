"""Reading libpg_query's JSON parse tree: names, options and constants out of its node shapes.

The tree is plain dicts (`{"RangeVar": {...}}`), so these helpers are all the analyser needs to
know about node layout outside the statement rules themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from safehold.analysis.sql import predicates
from safehold.analysis.sql.pg_native import PgParseError, parse_json
from safehold.model import Target

Node = dict[str, Any]


def names(items: Iterable[Any]) -> list[str]:
    """The parts of a dotted name (`["billing", "invoices"]`); `*` for a star."""
    out = []
    for item in items:
        s = item.get("String")
        out.append(s.get("sval", "") if s is not None else "*")
    return out


def relation_name(rv: Node) -> str:
    parts = [rv.get("catalogname"), rv.get("schemaname"), rv.get("relname", "")]
    return ".".join(x for x in parts if x)


def table_target(rv: Node) -> Target:
    return Target("table", relation_name(rv))


def aliases(rv: Node) -> set[str]:
    names = {rv.get("relname", "")}
    alias = rv.get("alias")
    if alias:
        names.add(alias.get("aliasname", ""))
    return names


def object_name(obj: Node) -> str:
    """Name of a DROP/GRANT object, whatever node carries it."""
    if "String" in obj:
        return obj["String"].get("sval", "")
    if "List" in obj:
        return ".".join(names(obj["List"].get("items", ())))
    if "ObjectWithArgs" in obj:
        return ".".join(names(obj["ObjectWithArgs"].get("objname", ())))
    if "TypeName" in obj:
        return ".".join(names(obj["TypeName"].get("names", ())))
    if "RangeVar" in obj:
        return relation_name(obj["RangeVar"])
    return "?"


def role_name(node: Node) -> str:
    spec = node.get("RoleSpec", {})
    return spec.get("rolename") or spec.get("roletype", "").removeprefix("ROLESPEC_").lower()


def defelems(items: Iterable[Node]) -> dict[str, Any]:
    out = {}
    for item in items or ():
        de = item.get("DefElem")
        if de is not None:
            out[de.get("defname", "")] = de.get("arg")
    return out


def string_value(node: Node | None) -> str | None:
    if not node:
        return None
    if "String" in node:
        return node["String"].get("sval", "")
    if "A_Const" in node and "sval" in node["A_Const"]:
        return node["A_Const"]["sval"].get("sval", "")
    return None


def truthy_option(arg: Node | None) -> bool:
    """EXPLAIN (ANALYZE), (ANALYZE true), (ANALYZE on) all mean it runs."""
    if arg is None:
        return True
    if "Boolean" in arg:
        return bool(arg["Boolean"].get("boolval", False))
    text = string_value(arg)
    if text is not None:
        return predicates.truthy(text) is True
    if "Integer" in arg:
        return bool(arg["Integer"].get("ival", 0))
    return True


def constant_text(expression: str) -> str | None:
    """The SQL text of `EXECUTE 'DROP TABLE x'`: the expression when it is one string literal."""
    try:
        tree = parse_json("SELECT " + expression)
    except PgParseError:
        return None
    stmts = tree.get("stmts", ())
    select = stmts[0].get("stmt", {}).get("SelectStmt", {}) if len(stmts) == 1 else {}
    targets = select.get("targetList", ())
    if len(targets) != 1 or not set(select) <= {"targetList", "limitOption", "op"}:
        return None
    value = targets[0].get("ResTarget", {}).get("val", {})
    if "TypeCast" in value:
        value = value["TypeCast"].get("arg", {})
    return string_value(value)
