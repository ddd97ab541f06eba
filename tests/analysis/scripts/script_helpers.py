"""Shared names for the script tests."""

from __future__ import annotations

from collections.abc import Callable

from safehold.model import Decision

#: Writes the files into the project, then decides the command run there.
Run = Callable[[dict[str, str], str], Decision]


def ids(d: Decision) -> set[str]:
    f = d.facts
    return {o.id for o in f.operations} | {c.id for c in f.credentials} | {
        u.id for u in f.unknowns}
