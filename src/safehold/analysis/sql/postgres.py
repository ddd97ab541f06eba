"""PostgreSQL statements through libpg_query, PostgreSQL's own parser.

libpg_query gives the parse tree as JSON, which `json.loads` turns into plain dicts: walking
those is several times cheaper than reflecting over protobuf messages. Each top-level statement
is judged, then its whole tree is walked so statements hidden inside it (a DELETE in a CTE, the
actions of a rule, the body of a prepared statement or of a SQL function) and function calls
are judged too. What the parser rejects, and what runs code safehold cannot see, is recorded
as unknown.
"""

from __future__ import annotations

from typing import Any

from safehold.analysis.sql import predicates
from safehold.analysis.sql.catalog import NONE
from safehold.analysis.sql.client_commands import analyze_psql_command, is_psql_command
from safehold.analysis.sql.collect import (
    DYNAMIC,
    NOT_UNDERSTOOD,
    Collector,
    source_text,
)
from safehold.analysis.sql.pg_code import RoutineJudge
from safehold.analysis.sql.pg_native import PgParseError, parse_json, split_statements
from safehold.analysis.sql.pg_nodes import (
    Node,
    aliases,
    defelems,
    names,
    object_name,
    role_name,
    string_value,
    table_target,
    truthy_option,
)
from safehold.analysis.sql.pg_privilege import privilege_changes
from safehold.analysis.sql.pg_where import WhereFolder
from safehold.model import Target

_IN_SCHEMA = frozenset(
    {
        "table",
        "foreign table",
        "view",
        "materialized view",
        "index",
        "sequence",
        "type",
        "domain",
        "function",
        "procedure",
        "routine",
        "aggregate",
    }
)
_DROP_WORDS = {"OBJECT_MATVIEW": "materialized view", "OBJECT_FOREIGN_TABLE": "foreign table"}
_DEFINITIONS = frozenset(
    {
        "CreateStmt",
        "ViewStmt",
        "IndexStmt",
        "AlterTableStmt",
        "CreatePolicyStmt",
        "AlterPolicyStmt",
        "CreateDomainStmt",
        "AlterDomainStmt",
        "CreateTrigStmt",
        "DefineStmt",
        "CreateStatsStmt",
        "CommentStmt",
        "CreateForeignTableStmt",
    }
)


def _split(sql: str) -> list[str]:
    """Pieces that together hold all of `sql`: what the scanner split, then what it left."""
    try:
        return split_statements(sql)
    except PgParseError:
        return [sql]


#: statement node -> (method, catalog id it reports when the method needs one)
#: Statements that can change security posture (`pg_privilege.py`).
_POSTURE = frozenset({"CreateRoleStmt", "AlterRoleStmt", "AlterDefaultPrivilegesStmt",
                      "GrantStmt", "GrantRoleStmt", "AlterTableStmt", "CreateFunctionStmt",
                      "AlterFunctionStmt"})

_HANDLERS: dict[str, tuple[str, str]] = {
    "SelectStmt": ("_select", ""),
    "InsertStmt": ("_insert", ""),
    "UpdateStmt": ("_update", ""),
    "DeleteStmt": ("_delete", ""),
    "MergeStmt": ("_merge", ""),
    "DropStmt": ("_drop", ""),
    "TruncateStmt": ("_truncate", ""),
    "AlterTableStmt": ("_alter_table", ""),
    "CopyStmt": ("_copy", ""),
    "ExplainStmt": ("_explain", ""),
    "CallStmt": ("_call", ""),
    "RuleStmt": ("_rule", ""),
    "PrepareStmt": ("_prepare", ""),
    "ExecuteStmt": ("_execute", ""),
    "GrantStmt": ("_grant", ""),
    "GrantRoleStmt": ("_grant", ""),
    "DropdbStmt": ("_dropdb", ""),
    "DropRoleStmt": ("_roles", "sql:drop-role"),
    "DropOwnedStmt": ("_roles", "sql:drop-owned"),
    "ReassignOwnedStmt": ("_roles", "sql:reassign-owned"),
    "DropTableSpaceStmt": ("_drop_tablespace", ""),
    "LoadStmt": ("_load", ""),
    "VariableSetStmt": ("_set", "sql:set"),
    "AlterSystemStmt": ("_alter_system", "sql:alter-system"),
    "CreateRoleStmt": ("_role_options", "sql:create"),
    "AlterRoleStmt": ("_role_options", "sql:alter"),
}


class PostgresFront(RoutineJudge):
    """Judges PostgreSQL text into a Collector."""

    def __init__(self, col: Collector) -> None:
        self.col = col
        self.catalog = col.catalog
        self.depth = 0

    # --- entry points ----------------------------------------------------------------------

    def analyze(self, sql: str, top: bool = True, origin: str | None = None) -> None:
        """Judge every statement of `sql`; `origin` names where embedded text came from."""
        if self.depth > self.col.ctx.limits.max_depth:
            self.col.unknown("sql:too-deep", "SQL nested inside SQL too deeply", source_text(sql))
            return
        if origin is None and is_psql_command(sql):
            analyze_psql_command(sql, self.col, lambda text, where: self.analyze(text, True, where))
            return
        try:
            tree = parse_json(sql)
        except PgParseError as exc:
            self._rejected(sql, top, origin, exc)
            return
        raw = sql.encode("utf-8")
        self.depth += 1
        try:
            for stmt in tree.get("stmts", ()):
                start = stmt.get("stmt_location", 0)
                length = stmt.get("stmt_len", 0) or len(raw) - start
                text = raw[start : start + length].decode("utf-8", "replace")
                src = source_text(text) if origin is None else f"{origin}: {source_text(text)}"
                self.statement(stmt.get("stmt", {}), src, top, text)
        finally:
            self.depth -= 1

    def _rejected(self, sql: str, top: bool, origin: str | None, exc: PgParseError) -> None:
        """A syntax error: the statements around the broken one are still judged, so one
        broken statement cannot hide a `DROP DATABASE` next to it."""
        parts = _split(sql)
        if len(parts) > 1 and all(len(part) < len(sql) for part in parts):
            for part in parts:
                self.analyze(part, top, origin)
            return
        where = f" ({origin})" if origin else ""
        self.col.unknown(
            NOT_UNDERSTOOD,
            f"PostgreSQL's parser rejected the SQL{where}: {exc.message}",
            source_text(sql),
        )

    def statement(self, node: Node, src: str, top: bool, text: str = "") -> None:
        ((kind, body),) = node.items()
        handler = _HANDLERS.get(kind)
        if kind in _POSTURE:
            rel = body.get("relation")
            table = self._table(rel) if isinstance(rel, dict) and "relname" in rel else None
            for ident, targets in privilege_changes(kind, body, table):
                self.col.add(ident, src, targets)
        if kind == "CreateFunctionStmt" or kind == "DoStmt":
            self.bodies(kind, body, src, text)
            return
        if handler is not None:
            method, id = handler
            getattr(self, method)(body, src, top, id)
            return
        mapped = self.catalog.postgres_statements.get(kind)
        if mapped is None:
            self.col.unknown(
                NOT_UNDERSTOOD, f"{kind} is not a statement safehold's SQL catalog knows", src
            )
            return
        if mapped != NONE:
            self.col.add(mapped, src, self._generic_targets(kind, body))
        self.walk(body, src, executing=kind not in _DEFINITIONS)

    def walk(self, node: Any, src: str, executing: bool = True) -> None:
        """Find statements and function calls anywhere below `node`."""
        stack = [node]
        while stack:
            x = stack.pop()
            if type(x) is list:
                stack.extend(x)
                continue
            if type(x) is not dict:
                continue
            for k, v in x.items():
                tv = type(v)
                if tv is dict:
                    if k == "SelectStmt":
                        if "intoClause" in v:
                            self.col.add("sql:create", src, [self._table(v["intoClause"]["rel"])])
                    elif k.endswith("Stmt") and k[0].isupper():
                        self.statement({k: v}, src, top=False)
                        continue
                    elif k == "FuncCall" and executing:
                        self.function_call(v, src)
                    stack.append(v)
                elif tv is list:
                    stack.append(v)

    # --- statements --------------------------------------------------------------------------

    def _select(self, body: Node, src: str, top: bool, id: str = "") -> None:
        if top:
            self.col.add("sql:select", src)
        self.walk({"SelectStmt": body}, src)

    def _insert(self, body: Node, src: str, top: bool, id: str = "") -> None:
        self.col.dml("sql:insert", src, [self._table(body.get("relation", {}))])
        self.walk(body, src)

    def _restricted(self, body: Node, rel: Node) -> bool:
        where = body.get("whereClause")
        if where is None:
            return False
        return predicates.restricts(WhereFolder(aliases(rel)).fold(where))

    def _update(self, body: Node, src: str, top: bool, id: str = "") -> None:
        rel = body.get("relation", {})
        id = "sql:update" if self._restricted(body, rel) else "sql:update-all"
        self.col.dml(id, src, [self._table(rel)])
        self.walk(body, src)

    def _delete(self, body: Node, src: str, top: bool, id: str = "") -> None:
        rel = body.get("relation", {})
        id = "sql:delete" if self._restricted(body, rel) else "sql:delete-all"
        self.col.dml(id, src, [self._table(rel)])
        self.walk(body, src)

    def _merge(self, body: Node, src: str, top: bool, id: str = "") -> None:
        rel = body.get("relation", {})
        target = [self._table(rel)]
        folder = WhereFolder(aliases(rel))
        on = predicates.restricts(folder.fold(body.get("joinCondition")))
        self.col.dml("sql:merge", src, target)
        for clause in body.get("mergeWhenClauses", ()):
            when = clause.get("MergeWhenClause", {})
            command = when.get("commandType")
            cond = when.get("condition")
            limited = predicates.restricts(folder.fold(cond)) if cond else False
            if when.get("matchKind") == "MERGE_WHEN_MATCHED":
                limited = limited or on
            if command == "CMD_DELETE":
                self.col.add("sql:delete" if limited else "sql:delete-all", src, target)
            elif command == "CMD_UPDATE":
                self.col.add("sql:update" if limited else "sql:update-all", src, target)
        self.walk(body, src)

    def _drop(self, body: Node, src: str, top: bool, id: str = "") -> None:
        remove = body.get("removeType", "")
        word = _DROP_WORDS.get(remove) or remove.removeprefix("OBJECT_").lower().replace("_", " ")
        kind = "table" if word == "foreign table" else word.replace(" ", "-")
        names = [object_name(o) for o in body.get("objects", ())]
        if self.col.search_path and word in _IN_SCHEMA:
            names = [n if "." in n else f"{self.col.search_path}.{n}" for n in names]
        self.col.add(self.catalog.drop_id(word), src, [Target(kind, n) for n in names])

    def _truncate(self, body: Node, src: str, top: bool, id: str = "") -> None:
        rels = [self._table(r.get("RangeVar", {})) for r in body.get("relations", ())]
        self.col.add("sql:truncate", src, rels)

    def _alter_table(self, body: Node, src: str, top: bool, id: str = "") -> None:
        rel = body.get("relation", {})
        table = self._table(rel)
        plain = False
        for item in body.get("cmds", ()):
            cmd = item.get("AlterTableCmd", {})
            sub = cmd.get("subtype")
            name = cmd.get("name", "")
            if sub == "AT_DropColumn":
                self.col.add(
                    "sql:alter-drop", src, [table, Target("column", f"{table.name}.{name}")]
                )
            elif sub == "AT_DropConstraint":
                self.col.add("sql:alter-drop-constraint", src, [table])
            elif sub == "AT_AlterColumnType":
                column = Target("column", f"{table.name}.{name}")
                self.col.add(self._type_change(cmd.get("def", {})), src, [table, column])
            else:
                plain = True
        if plain:
            self.col.add("sql:alter", src, [table])
        self.walk(body, src, executing=False)

    def _type_change(self, definition: Node) -> str:
        col = definition.get("ColumnDef", {})
        if col.get("raw_default") is not None:
            return "sql:alter-type-lossy"  # USING rewrites every value with an expression
        tn = col.get("typeName", {})
        parts = names(tn.get("names", ()))
        if tn.get("typmods") or tn.get("arrayBounds") or not parts:
            return "sql:alter-type-lossy"
        lossless = parts[-1] in self.catalog.lossless_types and parts[0] in (
            parts[-1],
            "pg_catalog",
        )
        return "sql:alter-type" if lossless else "sql:alter-type-lossy"

    def _copy(self, body: Node, src: str, top: bool, id: str = "") -> None:
        rel = body.get("relation")
        targets = [self._table(rel)] if rel else []
        filename = body.get("filename")
        if body.get("is_program"):
            self.col.add("sql:copy-program", src, [*targets, Target("command", filename or "")])
            if filename:
                self.col.embedded("shell", filename, f"COPY … PROGRAM: {src}")
        elif body.get("is_from"):
            self.col.add("sql:copy-from", src, targets)
            if filename:
                self.col.add("sql:server-file-read", src, [Target("file", filename)])
        elif filename:
            self.col.add("sql:copy-to-file", src, [*targets, Target("file", filename)])
        else:
            self.col.add("sql:copy-to", src, targets)
        self.walk(body, src)

    def _explain(self, body: Node, src: str, top: bool, id: str = "") -> None:
        options = defelems(body.get("options", ()))
        query = body.get("query", {})
        if "analyze" in options and truthy_option(options["analyze"]):
            self.statement(query, src, top=True)
        else:
            self.col.add("sql:explain", src)

    def _call(self, body: Node, src: str, top: bool, id: str = "") -> None:
        call = body.get("funccall", {})
        name = ".".join(names(call.get("funcname", ())))
        if name not in self.col.routines:
            self.col.unknown(
                DYNAMIC, f"CALL runs procedure {name}, whose body safehold cannot see", src
            )
        self.walk(call.get("args", ()), src)

    def _rule(self, body: Node, src: str, top: bool, id: str = "") -> None:
        rel = body.get("relation", {})
        self.col.add(
            "sql:create", src, [Target("rule", body.get("rulename", "")), self._table(rel)]
        )
        self.walk(body.get("actions", ()), src)

    def _prepare(self, body: Node, src: str, top: bool, id: str = "") -> None:
        self.col.prepared.add(body.get("name", ""))
        query = body.get("query")
        if query:
            self.statement(query, src, top=True)

    def _execute(self, body: Node, src: str, top: bool, id: str = "") -> None:
        name = body.get("name", "")
        if name not in self.col.prepared:
            self.col.unknown(
                DYNAMIC, f"EXECUTE runs prepared statement {name}, prepared outside this input", src
            )
        self.walk(body.get("params", ()), src)

    def _grant(self, body: Node, src: str, top: bool, id: str = "") -> None:
        id = "sql:grant" if body.get("is_grant") else "sql:revoke"
        objects = body.get("objects") or body.get("granted_roles") or ()
        targets = []
        for o in objects:
            if "AccessPriv" in o:
                targets.append(Target("role", o["AccessPriv"].get("priv_name", "")))
            else:
                targets.append(
                    Target(body.get("objtype", "OBJECT_TABLE")[7:].lower(), object_name(o))
                )
        self.col.add(id, src, targets)

    def _dropdb(self, body: Node, src: str, top: bool, id: str = "") -> None:
        self.col.add("sql:drop-database", src, [Target("database", body.get("dbname", ""))])

    def _roles(self, body: Node, src: str, top: bool, id: str = "") -> None:
        roles = body.get("roles", ())
        self.col.add(id, src, [Target("role", role_name(r)) for r in roles])

    def _role_options(self, body: Node, src: str, top: bool, id: str = "") -> None:
        role = body.get("role")
        name = role if isinstance(role, str) else role_name({"RoleSpec": role or {}})
        options = defelems(body.get("options", ()))
        superuser = "superuser" in options and truthy_option(options["superuser"])
        self.col.add("sql:grant-superuser" if superuser else id, src, [Target("role", name)])

    def _drop_tablespace(self, body: Node, src: str, top: bool, id: str = "") -> None:
        self.col.add(
            "sql:drop-tablespace", src, [Target("tablespace", body.get("tablespacename", ""))]
        )

    def _set(self, body: Node, src: str, top: bool, id: str = "") -> None:
        """SET; a search_path of exactly one schema qualifies the names that follow it."""
        self.col.add(id, src)
        if body.get("name") == "search_path":
            args = body.get("args", ())
            path = (
                string_value(args[0])
                if len(args) == 1 and body.get("kind") == "VAR_SET_VALUE"
                else None
            )
            self.col.search_path = path or None

    def _alter_system(self, body: Node, src: str, top: bool, id: str = "") -> None:
        """ALTER SYSTEM; settings named *_command hold shell commands the server will run."""
        setting = body.get("setstmt", {})
        name = setting.get("name", "")
        self.col.add(id, src, [Target("setting", name or "all")])
        args = setting.get("args", ())
        command = string_value(args[0]) if name.endswith("_command") and args else None
        if command:
            self.col.embedded("shell", command, f"{name}: {src}")

    def _table(self, rv: Node) -> Target:
        if self.col.search_path and not rv.get("schemaname") and not rv.get("catalogname"):
            return Target("table", f"{self.col.search_path}.{rv.get('relname', '')}")
        return table_target(rv)

    def _load(self, body: Node, src: str, top: bool, id: str = "") -> None:
        self.col.unknown(DYNAMIC, "LOAD runs a native library's code inside the server", src)

    def _generic_targets(self, kind: str, body: Node) -> list[Target]:
        rel = body.get("relation")
        if isinstance(rel, dict) and "relname" in rel:
            return [self._table(rel)]
        return []
