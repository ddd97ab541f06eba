"""Fold a libpg_query WHERE (or MERGE ON) expression into the predicate algebra.

Only what can change the answer is modelled: constants, columns, boolean logic, comparisons,
NULL tests, IN, BETWEEN, LIKE and sub-queries. Anything else is judged by whether it reads a
column at all, which is the question `predicates.restricts` asks.
"""

from __future__ import annotations

from typing import Any

from safehold.analysis.sql import predicates as p
from safehold.analysis.sql.pg_nodes import names

_LIKE = {"~~": (False, False), "!~~": (True, False), "~~*": (False, True), "!~~*": (True, True)}


def _const(body: dict[str, Any]) -> p.Value:
    if body.get("isnull"):
        return p.NULL
    if "ival" in body:
        return p.Const(body["ival"].get("ival", 0))
    if "fval" in body:
        return p.Const(float(body["fval"].get("fval", "0")))
    if "boolval" in body:
        return p.Const(bool(body["boolval"].get("boolval", False)))
    if "sval" in body:
        return p.Const(body["sval"].get("sval", ""))
    if "bsval" in body:
        return p.Const(body["bsval"].get("bsval", ""))
    return p.CONSTANT


def _column_refs(node: Any) -> list[list[str]]:
    """Every column reference in a subtree, as its dotted parts."""
    found: list[list[str]] = []
    stack = [node]
    while stack:
        x = stack.pop()
        if type(x) is list:
            stack.extend(x)
        elif type(x) is dict:
            for k, v in x.items():
                if k == "ColumnRef":
                    found.append(names(v.get("fields", ())))
                elif type(v) is dict or type(v) is list:
                    stack.append(v)
    return found


class WhereFolder:
    """Folds expressions of one statement; `outer` holds the names its target row goes by, so a
    sub-query is known to depend on the row only when it refers to it."""

    __slots__ = ("outer",)

    def __init__(self, outer: set[str]) -> None:
        self.outer = outer

    def fold(self, node: dict[str, Any] | None) -> p.Value:
        if not node:
            return p.TRUE
        ((kind, body),) = node.items()
        method = getattr(self, "_" + kind, None)
        if method is not None:
            return method(body)
        return p.Row(refs=bool(_column_refs(body)))

    def _A_Const(self, body: dict[str, Any]) -> p.Value:
        return _const(body)

    def _ColumnRef(self, body: dict[str, Any]) -> p.Value:
        parts = names(body.get("fields", ()))
        if len(parts) >= 2 and parts[-2] in self.outer:
            parts = parts[-1:]  # `t.id` and `id` are the same column of the target row
        return p.column(".".join(parts))

    def _ParamRef(self, body: dict[str, Any]) -> p.Value:
        return p.CONSTANT

    def _TypeCast(self, body: dict[str, Any]) -> p.Value:
        value = self.fold(body.get("arg"))
        parts = names(body.get("typeName", {}).get("names", ()))
        if isinstance(value, p.Const) and parts and parts[-1] == "bool":
            return p.Const(p.truthy(value.value))
        return value

    def _BoolExpr(self, body: dict[str, Any]) -> p.Value:
        args = [self.fold(a) for a in body.get("args", ())]
        op = body.get("boolop")
        if op == "AND_EXPR":
            return p.and_(args)
        if op == "OR_EXPR":
            return p.or_(args)
        return p.not_(args[0]) if args else p.CONSTANT

    def _NullTest(self, body: dict[str, Any]) -> p.Value:
        return p.is_null(self.fold(body.get("arg")), body.get("nulltesttype") == "IS_NOT_NULL")

    def _BooleanTest(self, body: dict[str, Any]) -> p.Value:
        value = self.fold(body.get("arg"))
        test = body.get("booltesttype", "")
        if isinstance(value, p.Const):
            t = p.truthy(value.value)
            return p.Const(
                {
                    "IS_TRUE": t is True,
                    "IS_NOT_TRUE": t is not True,
                    "IS_FALSE": t is False,
                    "IS_NOT_FALSE": t is not False,
                    "IS_UNKNOWN": t is None,
                    "IS_NOT_UNKNOWN": t is not None,
                }.get(test, False)
            )
        return p.opaque((value,))

    def _A_Expr(self, body: dict[str, Any]) -> p.Value:
        kind = body.get("kind")
        parts = names(body.get("name", ()))
        op = parts[-1] if parts else ""
        left = self.fold(body["lexpr"]) if "lexpr" in body else None
        rexpr = body.get("rexpr")
        if kind == "AEXPR_OP":
            right = self.fold(rexpr)
            if left is None:
                if (
                    op == "-"
                    and isinstance(right, p.Const)
                    and isinstance(right.value, int | float)
                ):
                    return p.Const(-right.value)
                return p.opaque((right,))
            if op in ("=", "<>", "!=", "<", ">", "<=", ">="):
                return p.compare(op, left, right)
            if op in _LIKE:
                negated, nocase = _LIKE[op]
                return p.like(left, right, negated, nocase)
            return p.opaque((left, right))
        items = [self.fold(i) for i in rexpr.get("List", {}).get("items", ())] if rexpr else []
        if left is None:
            return p.opaque(items)
        if kind == "AEXPR_IN":
            return p.in_list(left, items, negated=op == "<>")
        if kind in ("AEXPR_LIKE", "AEXPR_ILIKE") and op in _LIKE:
            negated, nocase = _LIKE[op]
            return p.like(left, self.fold(rexpr), negated, nocase)
        if kind in ("AEXPR_BETWEEN", "AEXPR_NOT_BETWEEN") and len(items) == 2:
            return p.between(left, items[0], items[1], kind == "AEXPR_NOT_BETWEEN")
        if kind in ("AEXPR_DISTINCT", "AEXPR_NOT_DISTINCT"):
            right = self.fold(rexpr)
            distinct = kind == "AEXPR_DISTINCT"
            if right == p.NULL:
                return p.is_null(left, negated=distinct)
            if left == p.NULL:
                return p.is_null(right, negated=distinct)
            same = p.compare("=", left, right)
            return p.not_(same) if distinct else same
        return p.opaque([left, *items] if items else [left, self.fold(rexpr)])

    def _SubLink(self, body: dict[str, Any]) -> p.Value:
        if self._same_keys(body):
            return p.ALL_ROWS
        parts: list[p.Value] = []
        if "testexpr" in body:
            parts.append(self.fold(body["testexpr"]))
        for ref in _column_refs(body.get("subselect")):
            if len(ref) == 1 or ref[0] in self.outer:
                parts.append(p.VARYING)
                break
        return p.opaque(parts)

    def _SQLValueFunction(self, body: dict[str, Any]) -> p.Value:
        op = str(body.get("op", "")).removeprefix("SVFOP_").lower()
        return p.NOW if p.time_function(op) else p.CONSTANT

    def _FuncCall(self, body: dict[str, Any]) -> p.Value:
        parts = names(body.get("funcname", ()))
        if parts and p.time_function(parts[-1]) and not body.get("args"):
            return p.NOW
        return p.Row(refs=bool(_column_refs(body)))

    def _same_keys(self, body: dict[str, Any]) -> bool:
        """`col IN (SELECT col FROM <the same table>)` with nothing restricting the sub-query:
        every row whose column has a value."""
        test = body.get("testexpr", {}).get("ColumnRef")
        select = body.get("subselect", {}).get("SelectStmt", {})
        if body.get("subLinkType") != "ANY_SUBLINK" or test is None or not select:
            return False
        tables = select.get("fromClause") or ()
        targets = select.get("targetList") or ()
        if len(tables) != 1 or len(targets) != 1 or "RangeVar" not in tables[0]:
            return False
        table = tables[0]["RangeVar"].get("relname", "")
        where = select.get("whereClause")
        if table not in self.outer or (where and p.restricts(WhereFolder({table}).fold(where))):
            return False
        column = targets[0].get("ResTarget", {}).get("val", {}).get("ColumnRef")
        return (column is not None and not select.get("limitCount")
                and names(column.get("fields", ()))[-1:] == names(test.get("fields", ()))[-1:])

    def _CurrentOfExpr(self, body: dict[str, Any]) -> p.Value:
        return p.VARYING
