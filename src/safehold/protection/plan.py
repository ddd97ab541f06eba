"""What a snapshot-first decision needs captured, decided before anyone approves.

For every target a write or worse touches, the plan names the driver and scope that will
capture it and the store it goes to, or says plainly why nothing can: an unknown database, a
resource no driver covers (a provider volume, an HTTP endpoint), a missing store. A plan with
any such problem is not `ok`, and an action whose plan is not ok is never released.

The database a statement runs against comes from the action's connection options, and is
captured through the inventory's own entry for it — safehold's configured connection, never
the agent's.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safehold.protection.interface import Capture
from safehold.protection.settings import SnapshotSettings
from safehold.protection.sqlite import is_sqlite_file

#: SQL object kinds a whole-database dump holds.
DATABASE_OBJECTS = frozenset({"schema", "view", "materialized-view", "sequence", "type",
                              "function", "procedure", "extension", "index", "constraint",
                              "column", "trigger", "rule", "policy", "large-object"})
#: Covered by the capture of the operation's table, when it has one.
TABLE_PARTS = frozenset({"column", "index", "constraint", "trigger", "policy", "rule"})
PATH_KINDS = frozenset({"path", "file", "dir", "directory", "volume-path", "mount"})
ROW_OPERATIONS = frozenset({"sql:delete", "sql:update"})
DB_OPTIONS = ("database_url", "dsn")
#: the operation a resource's declared contents are captured as (`[snapshots.contents]`)
HELD: Mapping[str, Any] = {"id": "contents", "effect": "irreversible"}


@dataclass(frozen=True, slots=True)
class Planned:
    """One thing to capture (`capture` and `store` set) or one reason it cannot be."""

    target: str
    capture: Capture | None = None
    store: str | None = None
    problem: str | None = None

    def line(self) -> str:
        if self.problem:
            return f"{self.target}: {self.problem}"
        assert self.capture is not None
        return f"{self.capture.describe()} → store {self.store}"


@dataclass(frozen=True, slots=True)
class Plan:
    items: tuple[Planned, ...]

    @property
    def ok(self) -> bool:
        return bool(self.items) and all(i.problem is None for i in self.items)

    @property
    def captures(self) -> list[Planned]:
        return [i for i in self.items if i.problem is None]

    @property
    def problems(self) -> list[str]:
        if not self.items:
            return ["the action names no target a snapshot could capture"]
        return [i.line() for i in self.items if i.problem]

    def why_not(self) -> str:
        return "; ".join(self.problems)


def plan(
    facts: Mapping[str, Any],
    options: Mapping[str, Any] | None,
    cwd: str | None,
    *,
    inventory: Any,
    settings: SnapshotSettings,
) -> Plan:
    """The plan for `facts` (a Decision's facts as a dict, live or stored)."""
    options = options or {}
    environment = facts.get("environment")
    items: dict[tuple[Any, ...], Planned] = {}
    for op in facts.get("operations") or ():
        if op.get("effect") == "read":
            continue
        targets = [t for t in op.get("targets") or () if isinstance(t, Mapping)]
        connection = None
        if str(op.get("id", "")).startswith("sql:") and op.get("id") != "sql:drop-database":
            # the database a client connected to travels with the statement's targets: a
            # `database` target, or the file of a SQLite database
            links = [t for t in targets if t.get("kind") == "database"
                     or (t.get("kind") in PATH_KINDS and is_sqlite_file(str(t.get("name"))))]
            if links and len(links) < len(targets):
                first = links[0]
                name = str(first.get("name", ""))
                connection = name if first.get("kind") == "database" else f"sqlite:///{name}"
                targets = [t for t in targets if t not in links]
        has_table = any(t.get("kind") == "table" for t in targets)
        for t in targets:
            kind, name = str(t.get("kind", "")), str(t.get("name", ""))
            if kind in TABLE_PARTS and has_table:
                continue
            env = t.get("environment") or environment
            held = settings.held_by(kind, name)
            planned = [_plan_target(HELD, "path" if h.startswith("/") else "database", h, env,
                                    None, {}, cwd, inventory, settings) for h in held] or [
                _plan_target(op, kind, name, env, connection, options, cwd, inventory, settings)]
            for item in planned:
                key = (item.capture, item.store, item.problem and item.target)
                items.setdefault(key, item)
    return Plan(_merge_tables(items.values()))


def _plan_target(
    op: Mapping[str, Any], kind: str, name: str, env: str | None, connection: str | None,
    options: Mapping[str, Any], cwd: str | None, inventory: Any, settings: SnapshotSettings,
) -> Planned:
    label = f"{kind} {name}"
    store = settings.store_for(env)
    store_name = store.name if store else ""
    if kind in PATH_KINDS or (kind not in ("table", "database") and name.startswith("/")):
        item = _plan_path(label, name, env, cwd, store_name)
    elif str(op.get("id", "")).startswith("sql:") or kind in ("table", "database"):
        item = _plan_sql(op, label, kind, name, env, connection, options, inventory, store_name)
    else:
        return Planned(label, problem=f"no snapshot driver covers a {kind}: safehold cannot "
                       "capture it before it changes")
    if item.problem is None and store is None:
        where = f"environment {env}" if env else "this environment"
        return Planned(label, problem=f"no snapshot store is configured for {where} "
                       "([snapshots] in safehold.toml)")
    return item


def _plan_path(label: str, name: str, env: str | None, cwd: str | None, store: str) -> Planned:
    if name.startswith("~"):
        return Planned(label, problem="a path in a home directory: which home is not known")
    path = Path(name if os.path.isabs(name) or not cwd else os.path.join(cwd, name))
    path = Path(os.path.normpath(path))
    if not path.is_absolute():
        return Planned(label, problem="a relative path with no working directory")
    if not path.exists() and not path.is_symlink():
        return Planned(label, problem=f"{path} does not exist on the safehold host, so nothing "
                       "there can be captured")
    if path.is_file() and is_sqlite_file(path):
        return Planned(label, Capture("sqlite", str(path), "file", environment=env), store)
    return Planned(label, Capture("directory", str(path), "directory", environment=env), store)


def _plan_sql(
    op: Mapping[str, Any], label: str, kind: str, name: str, env: str | None,
    connection: str | None, options: Mapping[str, Any], inventory: Any, store: str,
) -> Planned:
    named = connection or next((str(options[k]) for k in DB_OPTIONS if options.get(k)), None)
    if kind == "database" and named:
        named = _with_database(named, name)
    elif kind == "database":
        named = name
    if not named:
        return Planned(label, problem="the database this statement runs against is not known "
                       "(no connection came with the action)")
    if named.startswith("sqlite:"):
        path = named[len("sqlite:///"):] if named.startswith("sqlite:///") else named[7:]
        if not os.path.isabs(path) or not is_sqlite_file(path):
            return Planned(label, problem=f"{path} is not a SQLite database on the safehold host")
        return Planned(label, Capture("sqlite", path, "file", environment=env), store)
    entry = inventory.database_entry(named)
    if entry is None:
        return Planned(label, problem="its database is not in the inventory, so safehold has no "
                       "connection of its own to capture it")
    if entry.split("://", 1)[0].split("+", 1)[0] not in ("postgresql", "postgres"):
        return Planned(label, problem="no snapshot driver covers this database type")
    if kind == "table":
        if op.get("id") in ROW_OPERATIONS:
            rows = rows_predicate(str(op.get("source", "")))
            if rows is not None:
                return Planned(label, Capture("postgresql", entry, "rows", (rows[0],), rows[1],
                                              environment=env), store)
        return Planned(label, Capture("postgresql", entry, "tables", (name,), environment=env),
                       store)
    if kind in ("role", "tablespace", "replication-slot"):
        return Planned(label, problem=f"a {kind} is not data a database snapshot holds")
    return Planned(label, Capture("postgresql", entry, "database", environment=env), store)


def _with_database(url: str, name: str) -> str:
    if "://" not in url:
        return name
    head, _, rest = url.partition("://")
    host = rest.split("/", 1)[0]
    return f"{head}://{host}/{name}"


def rows_predicate(statement: str) -> tuple[str, str] | None:
    """(table, WHERE predicate) of a single-table DELETE or UPDATE, the predicate cut verbatim
    from the statement (so PostgreSQL reads it exactly as it will read the DELETE).

    None — capture the whole table instead — when the statement joins or has a CTE, the
    table has an alias, or the predicate calls a function or holds a subquery: `now()` or
    `random()` would pick other rows when the statement runs than when the snapshot did."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.tokens import TokenType

    try:
        parsed = sqlglot.parse(statement, read="postgres")
        tokens = sqlglot.Dialect.get_or_raise("postgres").tokenize(statement)
    except sqlglot.errors.SqlglotError:
        return None
    if len(parsed) != 1 or not isinstance(parsed[0], exp.Delete | exp.Update):
        return None
    stmt = parsed[0]
    if stmt.args.get("where") is None or any(
            stmt.args.get(k) for k in ("using", "from", "from_", "with", "with_", "joins")):
        return None
    table = stmt.this
    if not isinstance(table, exp.Table) or table.alias:
        return None
    depth, start, end = 0, None, None
    for i, t in enumerate(tokens):
        if t.token_type is TokenType.L_PAREN:
            depth += 1
        elif t.token_type is TokenType.R_PAREN:
            depth -= 1
        elif depth == 0 and t.token_type is TokenType.WHERE and start is None:
            start = i + 1
        elif depth == 0 and start is not None and t.token_type in (TokenType.RETURNING,
                                                                   TokenType.SEMICOLON):
            end = i
            break
    predicate = tokens[start:end] if start is not None else []
    if not predicate or not _plain(predicate):
        return None
    text = statement[predicate[0].start:predicate[-1].end + 1].strip()
    name = ".".join(p for p in (table.db, table.name) if p)
    return name, text


def _plain(tokens: list[Any]) -> bool:
    """Columns, literals and operators only: no function call, no subquery, no clock."""
    from sqlglot.tokens import TokenType

    opens_ok = {getattr(TokenType, n) for n in (
        "IN", "AND", "OR", "NOT", "L_PAREN", "COMMA", "EQ", "NEQ", "LT", "LTE", "GT", "GTE",
        "PLUS", "DASH", "STAR", "SLASH", "MOD", "IS", "LIKE", "ILIKE", "BETWEEN")
        if hasattr(TokenType, n)}
    depth = 0
    for i, t in enumerate(tokens):
        name = t.token_type.name
        if name in ("SELECT", "WITH") or name.startswith(("CURRENT_", "LOCALTIME")):
            return False
        if t.token_type is TokenType.L_PAREN:
            depth += 1
            if i and tokens[i - 1].token_type not in opens_ok:
                return False
        elif t.token_type is TokenType.R_PAREN:
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _merge_tables(items: Iterable[Planned]) -> tuple[Planned, ...]:
    """Whole-table captures of one database become one dump; a whole-database capture makes
    the others of that database redundant."""
    out: list[Planned] = []
    whole = {(i.capture.source, i.store) for i in items
             if i.capture and i.capture.scope == "database"}
    tables: dict[tuple[str, str | None], Planned] = {}
    for i in items:
        c = i.capture
        if c and c.driver == "postgresql" and c.scope != "database" and (c.source, i.store) \
                in whole:
            continue
        if c and c.scope == "tables":
            key = (c.source, i.store)
            if key in tables:
                prev = tables[key]
                assert prev.capture is not None
                merged = Capture(c.driver, c.source, "tables",
                                 tuple(dict.fromkeys(prev.capture.tables + c.tables)),
                                 environment=c.environment)
                tables[key] = Planned(f"{prev.target}, {i.target}", merged, i.store)
                continue
            tables[key] = i
            out.append(i)
            continue
        out.append(i)
    return tuple(tables.get((i.capture.source, i.store), i)
                 if i.capture and i.capture.scope == "tables" else i for i in out)


def capture_of_source(source: str, inventory: Any, tables: tuple[str, ...] = ()) -> Capture:
    """What to capture for a resource named by a person (the CLI, a schedule): a PostgreSQL
    URL (with the inventory's credentials when the URL carries none), a SQLite file or a
    directory. Raises NoDriver for anything else."""
    from safehold.errors import NoDriver
    from safehold.model import Target

    if "://" in source:
        scheme = source.split("://", 1)[0].split("+", 1)[0]
        if scheme == "sqlite":
            source = source[len("sqlite:///"):] if source.startswith("sqlite:///") else source
        elif scheme not in ("postgresql", "postgres"):
            raise NoDriver(f"no snapshot driver for {scheme}:// sources")
        else:
            entry = inventory.database_entry(source)
            url = entry if entry and "@" in entry and "@" not in source else source
            env = inventory.environment_of(Target("database", source))
            scope = "tables" if tables else "database"
            return Capture("postgresql", url, scope, tables, environment=env)
    path = os.path.abspath(source)
    if not os.path.exists(path):
        raise NoDriver(f"{source}: no such file or directory")
    env = inventory.environment_of(Target("path", path))
    if os.path.isfile(path) and is_sqlite_file(path):
        return Capture("sqlite", path, "file", environment=env)
    return Capture("directory", path, "directory", environment=env)
