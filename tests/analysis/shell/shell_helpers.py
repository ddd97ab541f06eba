"""Run a command through the shipped analysis and decision path."""

from __future__ import annotations

from safehold.analysis.registry import analyze
from safehold.decide import Guard
from safehold.model import Action, Decision, Facts

PROJECT = "/home/dev/project"


def facts(cmd: str, cwd: str = PROJECT) -> Facts:
    return analyze(Action("shell", cmd, cwd=cwd))


def decide(guard: Guard, cmd: str, cwd: str = PROJECT) -> Decision:
    return guard.decide(Action("shell", cmd, cwd=cwd))


def ids(f: Facts) -> set[str]:
    """Every id the facts carry: operations, credentials and unknowns."""
    return {o.id for o in f.operations} | {c.id for c in f.credentials} | {
        u.id for u in f.unknowns}
