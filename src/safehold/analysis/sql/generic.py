"""MySQL, SQLite and every other sqlglot dialect, judged with the same ids as PostgreSQL.

sqlglot parses many dialects into one expression tree. Statements it cannot model it keeps as a
raw `Command`; those are named by their first keyword where the catalog knows it and are
otherwise not understood. A parse error, or a dialect sqlglot does not know, is an unknown.
"""

from __future__ import annotations

import logging
import re
from functools import cache

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

from safehold.analysis.sql import predicates as p
from safehold.analysis.sql.catalog import DYNAMIC_RULE
from safehold.analysis.sql.client_commands import analyze_sqlite_command, split_sqlite_script
from safehold.analysis.sql.collect import DYNAMIC, NOT_UNDERSTOOD, Collector, source_text
from safehold.model import Target

# sqlglot logs a warning whenever it keeps a statement as a raw Command; the analyser reports
# that itself (as an operation or an unknown), and a hook's stderr is no place for it.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_GRANT_EVERYTHING = re.compile(r"\s*ALL(\s+PRIVILEGES)?\s+ON\s+(\*|\*\.\*)\s+TO\b", re.I)
_QUERIES = (exp.Select, exp.SetOperation, exp.Values, exp.Subquery)
_FRAMING = (exp.Transaction, exp.Commit, exp.Rollback, exp.Semicolon, exp.Declare)
_COMPARE: dict[type, str] = {
    exp.EQ: "=",
    exp.NEQ: "<>",
    exp.GT: ">",
    exp.GTE: ">=",
    exp.LT: "<",
    exp.LTE: "<=",
    exp.NullSafeEQ: "=",
}
# Types that hold any value exactly (DECIMAL is absent: MySQL reads a bare DECIMAL as (10,0)).
_LOSSY_FREE = {
    exp.DataType.Type.TEXT,
    exp.DataType.Type.VARCHAR,
    exp.DataType.Type.LONGTEXT,
    exp.DataType.Type.MEDIUMTEXT,
}


def _name(node: exp.Expression | None) -> str:
    if isinstance(node, exp.Table):
        return ".".join(part.name for part in node.parts)
    if not isinstance(node, exp.Expression):
        return ""
    return node.name or node.sql()


def _table(node: exp.Expression | None) -> Target:
    return Target("table", _name(node))


class _Folder:
    """Folds a sqlglot expression into the predicate algebra (see predicates.py)."""

    def __init__(self, outer: set[str]) -> None:
        self.outer = outer

    def fold(self, e: exp.Expression | None) -> p.Value:
        if e is None:
            return p.TRUE
        if isinstance(e, exp.Paren | exp.Where):
            return self.fold(e.this)
        if isinstance(e, exp.Boolean):
            return p.Const(bool(e.this))
        if isinstance(e, exp.Null):
            return p.NULL
        if isinstance(e, exp.Literal):
            if e.is_string:
                return p.Const(e.this)
            try:
                return p.Const(float(e.this) if "." in e.this else int(e.this))
            except ValueError:
                return p.Const(e.this)
        if isinstance(e, exp.Column):
            return p.column(e.name if e.table in self.outer else e.sql())
        if isinstance(e, exp.Placeholder | exp.Parameter):
            return p.CONSTANT
        if isinstance(e, exp.And):
            return p.and_((self.fold(e.this), self.fold(e.expression)))
        if isinstance(e, exp.Or):
            return p.or_((self.fold(e.this), self.fold(e.expression)))
        if isinstance(e, exp.Not):
            return p.not_(self.fold(e.this))
        if isinstance(e, exp.Neg):
            inner = self.fold(e.this)
            if isinstance(inner, p.Const) and isinstance(inner.value, int | float):
                return p.Const(-inner.value)
            return p.opaque((inner,))
        op = _COMPARE.get(type(e))
        if op is not None:
            return p.compare(op, self.fold(e.this), self.fold(e.expression))
        if isinstance(e, exp.Is):
            right = e.expression
            if isinstance(right, exp.Null):
                return p.is_null(self.fold(e.this))
            return p.compare("=", self.fold(e.this), self.fold(right))
        if isinstance(e, exp.CurrentTimestamp | exp.CurrentDate | exp.CurrentDatetime) or (
                isinstance(e, exp.Anonymous) and not e.expressions
                and p.time_function(str(e.this))):
            return p.NOW
        if isinstance(e, exp.In) and e.args.get("query") and self._same_keys(e):
            return p.ALL_ROWS
        if isinstance(e, exp.In) and not e.args.get("query"):
            return p.in_list(self.fold(e.this), [self.fold(x) for x in e.expressions])
        if isinstance(e, exp.Between):
            return p.between(
                self.fold(e.this), self.fold(e.args.get("low")), self.fold(e.args.get("high"))
            )
        if isinstance(e, exp.Like | exp.ILike):
            return p.like(
                self.fold(e.this), self.fold(e.expression), nocase=isinstance(e, exp.ILike)
            )
        if isinstance(e, exp.Cast):
            inner = self.fold(e.this)
            if isinstance(inner, p.Const) and e.to.this == exp.DataType.Type.BOOLEAN:
                return p.Const(p.truthy(inner.value))
            return inner
        return self._opaque(e)

    def _same_keys(self, e: exp.In) -> bool:
        """`col IN (SELECT col FROM <the same table>)` with nothing restricting the sub-query:
        every row whose column has a value."""
        select = e.args["query"]
        select = select.this if isinstance(select, exp.Subquery) else select
        if not isinstance(select, exp.Select) or not isinstance(e.this, exp.Column):
            return False
        tables = list(select.find_all(exp.Table))
        if (len(tables) != 1 or tables[0].name not in self.outer or len(select.expressions) != 1
                or select.args.get("limit") or select.args.get("joins")):
            return False
        column = select.expressions[0]
        where = select.args.get("where")
        if where is not None and p.restricts(_Folder({tables[0].name}).fold(where)):
            return False
        return isinstance(column, exp.Column) and column.name == e.this.name

    def _opaque(self, e: exp.Expression) -> p.Value:
        """Varies by row iff it reads a column of the row; inside a sub-query only columns that
        name the outer table (or name no table) can."""
        for col in e.find_all(exp.Column):
            if not _in_subquery(col, e) or not col.table or col.table in self.outer:
                return p.VARYING
        return p.CONSTANT


def _in_subquery(node: exp.Expression, root: exp.Expression) -> bool:
    parent = node.parent
    while parent is not None and parent is not root:
        if isinstance(parent, exp.Select):
            return True
        parent = parent.parent
    return False


def _outer(table: exp.Expression | None) -> set[str]:
    names = {_name(table)}
    if isinstance(table, exp.Table):
        names.add(table.name)
        if table.alias:
            names.add(table.alias)
    return names


_SIMPLE: dict[type, str] = {
    exp.Create: "sql:create",
    exp.Set: "sql:set",
    exp.Pragma: "sql:set",
    exp.Use: "sql:set",
    exp.Show: "sql:show",
    exp.Describe: "sql:show",
    exp.Grant: "sql:grant",
    exp.Revoke: "sql:revoke",
    exp.LoadData: "sql:copy-from",
    exp.Analyze: "sql:maintenance",
    exp.Lock: "sql:maintenance",
    exp.Attach: "sql:alter",
    exp.Detach: "sql:alter",
    exp.Comment: "sql:alter",
    exp.Kill: "sql:server-admin",
}
_HANDLERS: dict[type, str] = {
    exp.Insert: "_insert",
    exp.Update: "_update",
    exp.Delete: "_delete",
    exp.Merge: "_merge",
    exp.Drop: "_drop",
    exp.TruncateTable: "_truncate",
    exp.Alter: "_alter",
    exp.Command: "_command",
    exp.Copy: "_copy",
}


@cache
def _dialect(name: str) -> Dialect:
    return Dialect.get_or_raise(name)


def _chunks(dialect: Dialect, sql: str) -> list[tuple[list, str]]:
    """The tokens of each statement with its own text. Splitting at semicolons (as sqlglot's
    parser does) keeps every statement's span, so reasons quote what was written, and a
    statement that does not parse does not take its neighbours with it."""
    out = []
    chunk: list = []
    for token in [*dialect.tokenize(sql), None]:
        if token is not None and token.token_type != TokenType.SEMICOLON:
            chunk.append(token)
            continue
        if chunk:
            out.append((chunk, sql[chunk[0].start : chunk[-1].end + 1]))
        chunk = []
    return out


def _message(exc: Exception) -> str:
    return " ".join(_ANSI.sub("", str(exc)).split())[:300]


class GenericFront:
    """Judges SQL of any sqlglot dialect into a Collector."""

    def __init__(self, col: Collector, dialect: str) -> None:
        self.col = col
        self.dialect = dialect
        self.catalog = col.catalog

    def analyze(self, sql: str) -> None:
        if self.dialect == "sqlite" and any(
            line.lstrip().startswith(".") for line in sql.splitlines()
        ):
            for is_command, text in split_sqlite_script(sql):
                if is_command:
                    analyze_sqlite_command(text, self.col)
                else:
                    self._analyze_sql(text)
            return
        self._analyze_sql(sql)

    def _analyze_sql(self, sql: str) -> None:
        try:
            dialect = _dialect(self.dialect)
        except ValueError as exc:  # sqlglot's answer to a dialect it does not know
            self.col.unknown(NOT_UNDERSTOOD, f"no SQL parser for dialect: {exc}", source_text(sql))
            return
        try:
            chunks = _chunks(dialect, sql)
        except SqlglotError as exc:
            self.col.unknown(
                NOT_UNDERSTOOD,
                f"the {self.dialect} tokenizer rejected the SQL: {_message(exc)}",
                source_text(sql),
            )
            return
        parser = dialect.parser()
        for tokens, text in chunks:
            try:
                statements = parser.parse(tokens, sql)
            except SqlglotError as exc:
                self.col.unknown(
                    NOT_UNDERSTOOD,
                    f"the {self.dialect} parser rejected the SQL: {_message(exc)}",
                    source_text(text),
                )
                continue
            for statement in statements:
                if statement is None or isinstance(statement, _FRAMING):
                    continue
                self.statement(statement, source_text(text), True)

    def statement(self, e: exp.Expr, src: str, top: bool) -> None:
        self._statement(e, src, top)
        if top and self.catalog.generic_functions:
            self._functions(e, src)

    def _functions(self, e: exp.Expr, src: str) -> None:
        """Calls the catalog names (`LOAD_FILE`, SQLite's `load_extension`), anywhere in `e`."""
        for call in e.find_all(exp.Func):
            name = call.name if isinstance(call, exp.Anonymous) else call.sql_name()
            rule = self.catalog.generic_functions.get(name.lower())
            if rule == DYNAMIC_RULE:
                self.col.unknown(DYNAMIC, f"{name}() runs code safehold cannot see", src)
            elif rule is not None:
                self.col.add(rule, src, [Target("function", name.lower())])

    def _statement(self, e: exp.Expr, src: str, top: bool) -> None:
        if isinstance(e, _QUERIES):
            if top:
                self.col.add("sql:select", src)
            self._nested(e, src)
            return
        id = _SIMPLE.get(type(e))
        if id is not None:
            this = e.this if isinstance(e.this, exp.Table) else None
            self.col.add(id, src, [_table(this)] if this is not None else [])
            self._nested(e, src)
            return
        name = _HANDLERS.get(type(e))
        if name is None:
            self.col.unknown(
                NOT_UNDERSTOOD,
                f"{type(e).__name__} is not a statement safehold's SQL catalog knows",
                src,
            )
            return
        getattr(self, name)(e, src, top)

    def _nested(self, e: exp.Expr, src: str) -> None:
        """Data-changing statements inside another one (a DELETE in a CTE)."""
        for node in e.find_all(exp.Insert, exp.Update, exp.Delete, exp.Merge):
            if node is not e:
                self.statement(node, src, False)

    def _insert(self, e: exp.Expression, src: str, top: bool) -> None:
        table = e.find(exp.Table)
        self.col.dml("sql:insert", src, [_table(table)] if table is not None else [])
        self._nested(e, src)

    def _restricted(self, e: exp.Expression) -> bool:
        folder = _Folder(_outer(e.this))
        if p.restricts(folder.fold(e.args.get("where"))):
            return True
        joins = list(e.this.args.get("joins") or ()) if isinstance(e.this, exp.Table) else []
        joins += list(e.args.get("joins") or ())
        return any(p.restricts(folder.fold(j.args.get("on"))) for j in joins if j.args.get("on"))

    def _update(self, e: exp.Expression, src: str, top: bool) -> None:
        id = "sql:update" if e.args.get("where") and self._restricted(e) else "sql:update-all"
        self.col.dml(id, src, [_table(e.this)])
        self._nested(e, src)

    def _delete(self, e: exp.Expression, src: str, top: bool) -> None:
        tables = e.args.get("tables") or [e.this]
        id = "sql:delete" if self._restricted(e) else "sql:delete-all"
        self.col.dml(id, src, [_table(t) for t in tables])
        self._nested(e, src)

    def _merge(self, e: exp.Expression, src: str, top: bool) -> None:
        target = [_table(e.this)]
        folder = _Folder(_outer(e.this))
        on = p.restricts(folder.fold(e.args.get("on")))
        self.col.dml("sql:merge", src, target)
        whens = e.args.get("whens")
        for when in whens.expressions if whens else ():
            cond = when.args.get("condition")
            limited = p.restricts(folder.fold(cond)) if cond else False
            limited = limited or (bool(when.args.get("matched")) and on)
            then = when.args.get("then")
            if isinstance(then, exp.Var) and then.name.upper() == "DELETE":
                self.col.add("sql:delete" if limited else "sql:delete-all", src, target)
            elif isinstance(then, exp.Update):
                self.col.add("sql:update" if limited else "sql:update-all", src, target)

    def _drop(self, e: exp.Expression, src: str, top: bool) -> None:
        word = str(e.args.get("kind") or "").lower()
        if word == "view" and e.args.get("materialized"):
            word = "materialized view"
        tables = e.args.get("tables") or [e.this]
        kind = "table" if word in ("table", "") else word.replace(" ", "-")
        self.col.add(self.catalog.drop_id(word), src, [Target(kind, _name(t)) for t in tables])

    def _truncate(self, e: exp.Expression, src: str, top: bool) -> None:
        self.col.add("sql:truncate", src, [_table(t) for t in e.expressions])

    def _alter(self, e: exp.Expression, src: str, top: bool) -> None:
        table = _table(e.this)
        plain = False
        for action in e.args.get("actions") or ():
            if isinstance(action, exp.Drop):
                word = str(action.args.get("kind") or "").lower()
                names = [_name(t) for t in action.args.get("tables") or [action.this]]
                if word == "column":
                    cols = [Target("column", f"{table.name}.{n}") for n in names]
                    self.col.add("sql:alter-drop", src, [table, *cols])
                elif word == "index":
                    self.col.add("sql:drop-index", src, [table])
                else:
                    self.col.add("sql:alter-drop-constraint", src, [table])
            elif isinstance(action, exp.DropPrimaryKey):
                self.col.add("sql:alter-drop-constraint", src, [table])
            elif isinstance(action, exp.DropPartition):
                self.col.add("sql:alter-drop", src, [table])
            elif isinstance(action, exp.AlterColumn) and action.args.get("dtype") is not None:
                column = Target("column", f"{table.name}.{action.name}")
                lossy = action.args.get("using") is not None or self._lossy(action.args["dtype"])
                self.col.add(
                    "sql:alter-type-lossy" if lossy else "sql:alter-type", src, [table, column]
                )
            elif isinstance(action, exp.ModifyColumn):
                column = Target("column", f"{table.name}.{action.this.name}")
                lossy = self._lossy(action.find(exp.DataType))
                self.col.add(
                    "sql:alter-type-lossy" if lossy else "sql:alter-type", src, [table, column]
                )
            else:
                plain = True
        if plain or not e.args.get("actions"):
            self.col.add("sql:alter", src, [table])

    def _lossy(self, dtype: exp.DataType | None) -> bool:
        if dtype is None:
            return True
        return dtype.this not in _LOSSY_FREE or bool(dtype.expressions)

    def _copy(self, e: exp.Expression, src: str, top: bool) -> None:
        target = [_table(e.this)] if isinstance(e.this, exp.Table) else []
        self.col.add("sql:copy-from" if e.args.get("kind") else "sql:copy-to", src, target)

    def _command(self, e: exp.Expression, src: str, top: bool) -> None:
        keyword = str(e.this or "").upper()
        rest = (
            e.expression.name if isinstance(e.expression, exp.Literal) else str(e.expression or "")
        )
        words = rest.split()
        if keyword == "DROP" and words:
            word = words[0].lower()
            if word in ("materialized", "foreign") and len(words) > 1:
                word = f"{word} {words[1].lower()}"
            name = words[-1] if len(words) > 1 else ""
            self.col.add(self.catalog.drop_id(word), src, [Target(word.replace(" ", "-"), name)])
        elif keyword == "GRANT" and _GRANT_EVERYTHING.match(rest):
            self.col.add("sql:grant-superuser", src)
        elif keyword in ("CALL", "EXEC", "EXECUTE"):
            self.col.unknown(
                DYNAMIC, f"{keyword} runs a procedure whose body safehold cannot see", src
            )
        elif keyword in self.catalog.generic_commands:
            self.col.add(self.catalog.generic_commands[keyword], src)
        else:
            self.col.unknown(
                NOT_UNDERSTOOD,
                f"the {self.dialect} parser could not model this {keyword} statement",
                src,
            )
