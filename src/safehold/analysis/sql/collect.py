"""Where the SQL front ends put what they found.

Both parsers' walkers report into one `Collector`, which turns catalog ids into Operations and
keeps what could not be understood as unknown Findings. It also holds what one input teaches
about later statements in it: names prepared or created earlier, so `PREPARE p AS …; EXECUTE p`
is judged by the body it runs, and a `SET search_path` naming one schema, which says where
the unqualified table names after it live.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from safehold.analysis.interface import AnalysisContext
from safehold.analysis.sql.catalog import SqlCatalog
from safehold.model import Facts, Finding, Operation, Target

NOT_UNDERSTOOD = "sql:not-understood"
DYNAMIC = "sql:dynamic"
OPAQUE_FUNCTION = "sql:opaque-function"
SOURCE_LIMIT = 200


def source_text(sql: str) -> str:
    """A statement as shown in reasons and audit: one line, trimmed."""
    text = " ".join(sql.split())
    return text if len(text) <= SOURCE_LIMIT else text[: SOURCE_LIMIT - 1] + "…"


@dataclass(slots=True)
class Collector:
    """Operations and unknowns found in one SQL input, in the order they were met."""

    catalog: SqlCatalog
    ctx: AnalysisContext
    dialect: str
    operations: list[Operation] = field(default_factory=list)
    unknowns: list[Finding] = field(default_factory=list)
    credentials: list[Finding] = field(default_factory=list)
    prepared: set[str] = field(default_factory=set)
    routines: set[str] = field(default_factory=set)
    search_path: str | None = None

    def add(self, id: str, source: str, targets: Iterable[Target] = ()) -> None:
        self.operations.append(self.catalog.entry(id).operation(targets, source))

    def dml(self, id: str, source: str, targets: Iterable[Target]) -> None:
        """A row-changing operation; writing the server's own catalogs is reported as well."""
        targets = tuple(targets)
        self.add(id, source, targets)
        system = [t for t in targets if self.is_system_table(t.name)]
        if system:
            self.add("sql:system-catalog-write", source, system)

    def is_system_table(self, name: str) -> bool:
        qualifier, dot, table = name.lower().rpartition(".")
        schema = qualifier.rpartition(".")[2]
        if schema in self.catalog.system_schemas or table in self.catalog.system_tables:
            return True
        return not dot and self.dialect == "postgres" and table.startswith("pg_")

    def unknown(self, id: str, reason: str, source: str) -> None:
        self.unknowns.append(Finding(id, reason, source))

    def merge(self, facts: Facts) -> None:
        self.operations.extend(facts.operations)
        self.unknowns.extend(facts.unknowns)
        self.credentials.extend(facts.credentials)

    def embedded(self, kind: str, text: str, source: str) -> None:
        """Analyse text of another kind (or SQL run by a function) one level deeper."""
        options = {"dialect": self.dialect} if kind == "sql" else {}
        self.merge(self.ctx.embedded(kind, text, options, source))

    def facts(self) -> Facts:
        return Facts(
            kind="sql",
            operations=tuple(self.operations),
            credentials=tuple(self.credentials),
            unknowns=tuple(self.unknowns),
        )
