"""Code a PostgreSQL statement runs or defines: function calls, and routine and DO bodies.

A call to a built-in is PostgreSQL's own code; the catalog names the few built-ins that change
state, and the ones that run SQL given as text (`dblink_exec`), which is judged as SQL. Bodies
of SQL and PL/pgSQL routines are judged as the statements they will run. Anything else runs
code safehold cannot see and is an unknown.
"""

from __future__ import annotations

from typing import Any

from safehold.analysis.sql.catalog import SqlCatalog
from safehold.analysis.sql.collect import DYNAMIC, OPAQUE_FUNCTION, Collector
from safehold.analysis.sql.pg_nodes import Node, constant_text, defelems, names, string_value
from safehold.analysis.sql.plpgsql import plpgsql_queries
from safehold.model import Target


class RoutineJudge:
    """The part of the PostgreSQL front that judges code; mixed into `PostgresFront`."""

    col: Collector
    catalog: SqlCatalog

    def analyze(self, sql: str, top: bool = True, origin: str | None = None) -> None:
        raise NotImplementedError

    def walk(self, node: Any, src: str, executing: bool = True) -> None:
        raise NotImplementedError

    def function_call(self, call: Node, src: str) -> None:
        parts = names(call.get("funcname", ()))
        name = parts[-1].lower() if parts else ""
        schema = parts[0] if len(parts) > 1 else None
        rule = self.catalog.functions.get(name)
        if rule is not None:
            if rule.id is not None:
                self.col.add(rule.id, src, [Target("function", name)])
                return
            self._sql_argument(name, call.get("args", ()), rule.sql_arg or 0, src)
            return
        if schema in (None, "pg_catalog") and name in self.catalog.pg_builtins:
            return
        if name in self.catalog.read_functions or ".".join(parts) in self.col.routines:
            return
        self.col.unknown(
            OPAQUE_FUNCTION,
            f"calls {'.'.join(parts)}(), which is not a PostgreSQL built-in; "
            "its body is not visible here",
            src,
        )

    def _sql_argument(self, name: str, args: list[Node], index: int, src: str) -> None:
        if not args or not -len(args) <= index < len(args):
            self.col.unknown(DYNAMIC, f"{name}() runs SQL safehold cannot see", src)
            return
        text = string_value(args[index])
        if text is None:
            self.col.unknown(DYNAMIC, f"{name}() runs SQL built at run time", src)
            return
        self.analyze(text, top=True, origin=f"SQL run by {name}()")

    def bodies(self, kind: str, body: Node, src: str, text: str) -> None:
        """CREATE FUNCTION / PROCEDURE and DO: judge the code they hold."""
        options = defelems(body.get("options") or body.get("args") or ())
        language = (
            string_value(options.get("language")) or ("plpgsql" if kind == "DoStmt" else "sql")
        ).lower()
        if kind == "CreateFunctionStmt":
            name = ".".join(names(body.get("funcname", ())))
            self.col.routines.add(name)
            self.col.add("sql:create", src, [Target("function", name)])
            origin = f"body of {name}"
        else:
            origin = "DO block"
        if body.get("sql_body") is not None:
            self.walk(body["sql_body"], f"{origin}: {src}")
            return
        as_arg = options.get("as")
        code = string_value(as_arg)
        if code is None and as_arg and "List" in as_arg:
            code = string_value(as_arg["List"].get("items", [None])[0])
        if code is None:
            self.col.unknown(DYNAMIC, f"{origin} has no code safehold can read", src)
        elif language == "sql":
            self.analyze(code, top=True, origin=origin)
        elif language == "plpgsql":
            self._plpgsql(kind, code, text, origin, src)
        else:
            self.col.unknown(
                DYNAMIC, f"{origin} is written in {language}, which safehold cannot analyse", src
            )

    def _plpgsql(self, kind: str, code: str, text: str, origin: str, src: str) -> None:
        queries, dynamic = plpgsql_queries(kind, code, text)
        for reason, expression in dynamic:
            constant = constant_text(expression) if expression else None
            if constant is not None:
                self.analyze(constant, top=True, origin=f"{origin}, EXECUTE")
            else:
                self.col.unknown(DYNAMIC, f"{origin}: {reason}", src)
        for query, statement in queries:
            self.analyze(query, top=statement, origin=origin)
