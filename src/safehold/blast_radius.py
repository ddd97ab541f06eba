"""How many rows a DELETE or UPDATE will touch, asked of the database itself.

A WHERE that restricts on paper (`WHERE status <> 'x'`, `WHERE org_id = 3` on a one-tenant
table) can still select nearly every row. Where the inventory gives an environment a read-only
connection (`[environments.NAME] readonly_database_url`), the planner is asked: `EXPLAIN` (never
`ANALYZE`: nothing runs) for the rows the statement touches and `pg_class.reltuples` for the
table's size, in a read-only transaction under a statement timeout. Above `[blast_radius] rows`
or `share` of the table the operation is destructive and its reason (shown on the approval
card) carries the estimate. When the database cannot answer in time, the estimate is unknown
and the action is not allowed unseen (`sql:estimate-failed`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from safehold.model import Action, Effect, Facts, Finding, Operation

#: The statements whose reach is a count of rows the planner can estimate.
ESTIMATED = frozenset({"sql:delete", "sql:update"})


@dataclass(frozen=True, slots=True)
class Estimate:
    rows: int
    table_rows: int | None  # None: the table was never analysed

    @property
    def share(self) -> float | None:
        if not self.table_rows or self.table_rows <= 0:
            return None
        return min(1.0, self.rows / self.table_rows)

    def describe(self, table: str) -> str:
        share = self.share
        of = (f" of about {self.table_rows} ({share:.0%} of {table})" if share is not None
              else f" ({table} has no statistics yet)")
        return f"the database estimates {self.rows} rows{of}"


class EstimateError(Exception):
    pass


def estimate(url: str, statement: str, table: str, timeout: float) -> Estimate:
    """Ask the planner; raises EstimateError for anything that stops a clear answer."""
    import psycopg

    ms = max(1, int(timeout * 1000))
    try:
        with psycopg.connect(_libpq_url(url), connect_timeout=max(1, math.ceil(timeout)),
                             options=f"-c statement_timeout={ms} "
                                     "-c default_transaction_read_only=on") as conn:
            conn.read_only = True
            with conn.cursor() as cur:
                cur.execute("EXPLAIN (FORMAT JSON) " + (as_select(statement) or statement))
                row = cur.fetchone()
                plan = row[0] if row else None
                if isinstance(plan, str):
                    plan = json.loads(plan)
                rows = _modified_rows(plan)
                cur.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                            (table,))
                found = cur.fetchone()
            conn.rollback()
    except EstimateError:
        raise
    except Exception as exc:  # the driver's errors, timeouts, refused connections
        raise EstimateError(f"{type(exc).__name__}: {str(exc).strip()[:200]}") from None
    total = int(found[0]) if found and found[0] is not None and found[0] >= 0 else None
    return Estimate(rows, total)


def as_select(statement: str) -> str | None:
    """The rows a DELETE/UPDATE touches as the SELECT that finds them, so a role that may
    only read can be asked (EXPLAIN of the statement itself needs its write privilege). None
    for a shape this does not rewrite (a WITH clause, RETURNING into another statement…)."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(statement, read="postgres")
    except Exception:
        return None
    if not isinstance(tree, exp.Delete | exp.Update) or tree.args.get("with"):
        return None
    table = tree.this
    if not isinstance(table, exp.Table):
        return None
    select = exp.select("1").from_(table.copy())
    extra = tree.args.get("using") or tree.args.get("from_") or tree.args.get("from")
    extra_tables = ([extra.this] if isinstance(extra, exp.From) else
                    list(extra) if isinstance(extra, list) else [])
    for other in extra_tables:
        select = select.join(other.copy(), join_type="cross")
    where = tree.args.get("where")
    if where is not None:
        select = select.where(where.this.copy())
    return select.sql(dialect="postgres")


def _libpq_url(url: str) -> str:
    """SQLAlchemy spellings (`postgresql+psycopg://`) as libpq takes them."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep and scheme.startswith("postgresql+") else url


def _modified_rows(plan: object) -> int:
    """The rows the statement touches: the ModifyTable node's input, or the SELECT's own."""
    try:
        top = plan[0]["Plan"]  # type: ignore[index]
        source = top["Plans"][0] if top.get("Node Type") == "ModifyTable" else top
        return int(source["Plan Rows"])
    except (KeyError, IndexError, TypeError, ValueError):
        raise EstimateError("the plan has no row estimate") from None


class BlastRadius:
    """Adds the database's estimate to the DELETE/UPDATE operations of resolved facts."""

    def __init__(self, urls: Mapping[str, str], *, rows: int, share: float, timeout: float):
        self.urls = dict(urls)
        self.rows = rows
        self.share = share
        self.timeout = timeout

    def __call__(self, action: Action, facts: Facts) -> Facts:
        if not self.urls or not any(op.id in ESTIMATED for op in facts.operations):
            return facts
        ops: list[Operation] = []
        unknowns: list[Finding] = []
        for op in facts.operations:
            url, table = self._where(op, facts)
            if url is None or table is None:
                ops.append(op)
                continue
            try:
                found = estimate(url, op.source, table, self.timeout)
            except EstimateError as exc:
                unknowns.append(Finding("sql:estimate-failed", f"how many rows this touches in "
                                        f"{table} could not be estimated ({exc})", op.source))
                ops.append(op)
                continue
            ops.append(self._judged(op, found, table))
        return replace(facts, operations=tuple(ops), unknowns=(*facts.unknowns, *unknowns))

    def _where(self, op: Operation, facts: Facts) -> tuple[str | None, str | None]:
        if op.id not in ESTIMATED:
            return None, None
        table = next((t for t in op.targets if t.kind == "table"), None)
        if table is None:
            return None, None
        env = table.environment or facts.environment
        return (self.urls.get(env) if env else None), table.name

    def _judged(self, op: Operation, found: Estimate, table: str) -> Operation:
        share = found.share
        large = found.rows > self.rows or (share is not None and share > self.share)
        said = found.describe(table)
        if not large:
            return replace(op, reason=f"{op.reason} ({said})")
        limit = f"more than {self.rows} rows or {self.share:.0%} of the table"
        return replace(op, effect=max(op.effect, Effect.DESTRUCTIVE),
                       reason=f"{op.reason} {said[0].upper()}{said[1:]}: {limit}.")


__all__ = ["BlastRadius", "Estimate", "EstimateError", "estimate"]
