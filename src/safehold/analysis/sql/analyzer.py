"""The `sql` analyser: one SQL string (one or many statements) -> Facts.

`options["dialect"]` picks the parser: PostgreSQL (the default; also `postgresql`, `pg`) goes
to libpg_query, PostgreSQL's own parser; every other name goes to sqlglot, which knows MySQL,
SQLite and most other dialects. Both report with the same catalog ids, so a policy written for
`sql:delete-all` holds whatever database the statement is meant for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from safehold.analysis.interface import AnalysisContext, Analyzer
from safehold.analysis.sql.catalog import SqlCatalog, load_catalog
from safehold.analysis.sql.collect import NOT_UNDERSTOOD, Collector, source_text
from safehold.analysis.sql.postgres import PostgresFront
from safehold.model import Facts, Finding

POSTGRES_NAMES = frozenset(
    {"postgres", "postgresql", "pg", "", "psql", "cockroachdb", "timescaledb"}
)
#: other names clients and providers use for a dialect sqlglot knows under its own name
ALIASES = {"sqlite3": "sqlite", "mariadb": "mysql", "mssql": "tsql", "sqlserver": "tsql"}


def _not_understood(reason: str, source: str = "") -> Facts:
    return Facts(kind="sql", unknowns=(Finding(NOT_UNDERSTOOD, reason, source),))


class SqlAnalyzer(Analyzer):
    """Judges SQL text statement by statement; see the package docstring for the parts."""

    kind = "sql"

    def __init__(self, catalog: SqlCatalog | None = None) -> None:
        self.catalog = catalog or load_catalog()

    def describe(self, input: Any, options: Mapping[str, str]) -> str:
        from safehold.analysis.sql.describe import describe

        dialect = str(options.get("dialect") or "postgres").strip().lower()
        return describe(input if isinstance(input, str) else str(input), dialect)

    def analyze(self, input: Any, options: Mapping[str, str], ctx: AnalysisContext) -> Facts:
        if isinstance(input, bytes):
            try:
                input = input.decode("utf-8")
            except UnicodeDecodeError:
                return _not_understood("SQL input is not valid UTF-8")
        if not isinstance(input, str):
            return _not_understood(f"SQL input must be text, not {type(input).__name__}")
        if "\x00" in input:
            return _not_understood(
                "SQL input contains a NUL character; parsers and servers may read only part of it",
                source_text(input.replace("\x00", "\\0")),
            )
        try:
            input.encode("utf-8")
        except UnicodeEncodeError:
            return _not_understood("SQL input is not valid Unicode text", source_text(input))
        dialect = str(options.get("dialect") or "postgres").strip().lower()
        dialect = ALIASES.get(dialect, dialect)
        from safehold.analysis.sql.executable_comments import expand as expand_executable

        col = Collector(self.catalog, ctx, "postgres" if dialect in POSTGRES_NAMES else dialect)
        if dialect in POSTGRES_NAMES:
            PostgresFront(col).analyze(input)
        else:
            from safehold.analysis.sql.generic import GenericFront  # sqlglot: only when needed

            GenericFront(col, dialect).analyze(expand_executable(input, dialect))
        return col.facts()
