"""The SQL inside PL/pgSQL code (function bodies and DO blocks).

libpg_query parses PL/pgSQL into a tree whose every embedded SQL fragment is a `PLpgSQL_expr`.
Static fragments are handed back to be judged as SQL; dynamic ones (`EXECUTE <string>`,
`OPEN … FOR EXECUTE`, `RETURN QUERY EXECUTE`) run text built at run time and are reported as
such, because nobody can say what they do before they run.
"""

from __future__ import annotations

from typing import Any

from safehold.analysis.sql.pg_native import PgParseError, parse_plpgsql_json

_DYNAMIC_NODES = {
    "PLpgSQL_stmt_dynexecute": "EXECUTE runs SQL text built at run time",
    "PLpgSQL_stmt_dynfors": "FOR … IN EXECUTE runs SQL text built at run time",
}
_STATEMENT_MODE = 0  # RAW_PARSE_DEFAULT: a whole statement; other modes are expressions
_ASSIGN_MODES = (3, 4, 5)


def _wrap(code: str) -> str:
    tag = "$safehold$"
    n = 0
    while tag in code:
        n += 1
        tag = f"$safehold{n}$"
    return f"CREATE FUNCTION safehold_block() RETURNS void LANGUAGE plpgsql AS {tag}{code}{tag}"


def _expression_sql(query: str, mode: int) -> str:
    if mode in _ASSIGN_MODES:
        _, sep, rhs = query.partition(":=")
        if not sep:
            _, _, rhs = query.partition("=")
        query = rhs
    return "SELECT " + query


def _expr_text(node: Any) -> str | None:
    if type(node) is dict and type(node.get("PLpgSQL_expr")) is dict:
        return node["PLpgSQL_expr"].get("query")
    return None


def plpgsql_queries(
    kind: str, code: str, statement: str
) -> tuple[list[tuple[str, bool]], list[tuple[str, str | None]]]:
    """SQL fragments of a PL/pgSQL body as `(sql, is_statement)`, and the dynamic ones as
    `(why, expression)`: the expression that yields the SQL text, so a caller can still follow
    the case where it is a plain string constant.

    `statement` is the CREATE FUNCTION text when there is one (so its parameters and return
    type are known to the PL/pgSQL parser); a DO block's code is wrapped in a function.
    """
    source = statement if kind == "CreateFunctionStmt" and statement.strip() else _wrap(code)
    try:
        funcs = parse_plpgsql_json(source)
    except PgParseError as exc:
        return [], [(f"PL/pgSQL parser rejected the code: {exc.message}", None)]
    queries: list[tuple[str, bool]] = []
    dynamic: list[tuple[str, str | None]] = []
    stack: list[Any] = [funcs]
    while stack:
        x = stack.pop()
        if type(x) is list:
            stack.extend(x)
            continue
        if type(x) is not dict:
            continue
        for key, value in x.items():
            if key in _DYNAMIC_NODES and type(value) is dict:
                dynamic.append((_DYNAMIC_NODES[key], _expr_text(value.get("query"))))
            elif key == "dynquery":
                why = "a cursor or RETURN QUERY runs SQL text built at run time"
                dynamic.append((why, _expr_text(value)))
                continue
            if key == "PLpgSQL_expr" and type(value) is dict:
                query = value.get("query", "")
                mode = value.get("parseMode", 0)
                if mode == _STATEMENT_MODE:
                    queries.append((query, True))
                else:
                    queries.append((_expression_sql(query, mode), False))
                continue
            if type(value) is dict or type(value) is list:
                stack.append(value)
    return queries, dynamic
