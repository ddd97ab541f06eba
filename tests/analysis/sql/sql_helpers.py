"""Helpers for the SQL analyser tests: they go through the shipped analysis path."""

from __future__ import annotations

from safehold.analysis import analyze
from safehold.model import Action, Facts


def sql_facts(sql: str, dialect: str = "postgres") -> Facts:
    return analyze(Action(kind="sql", input=sql, options={"dialect": dialect}))


def op_ids(facts: Facts) -> list[str]:
    return [op.id for op in facts.operations]


def unknown_ids(facts: Facts) -> list[str]:
    return [u.id for u in facts.unknowns]
