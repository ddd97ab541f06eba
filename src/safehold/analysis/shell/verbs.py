"""Verb semantics for tools safehold does not know by name.

A command with no catalog family, handler or interpreter is still read: a destroying
subcommand word (`delete`, `drop`, `purge`, `wipe`, …) used with a sweeping flag or argument
(`--all`, `--force`, `-r`, `*`) is destructive (`shell:unknown-tool-destroy`), and SQL given
to an execute/query option (`-e`, `-q`, `--query`, …) is analysed as SQL. The word lists are
data (`catalog/data/verbs.yaml`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from safehold.analysis.shell.words import Arg
from safehold.catalog.files import read_yaml
from safehold.errors import CatalogError
from safehold.model import Effect, Operation, Target

if TYPE_CHECKING:
    from safehold.analysis.shell.state import State

VERBS_FILE = Path(__file__).parents[2] / "catalog" / "data" / "verbs.yaml"


@dataclass(frozen=True, slots=True)
class VerbData:
    destroy_verbs: frozenset[str]
    breadth_flags: frozenset[str]
    breadth_args: frozenset[str]
    sql_options: frozenset[str]
    sql_keywords: frozenset[str]


@cache
def verb_data() -> VerbData:
    raw = read_yaml(VERBS_FILE, "verb semantics")
    try:
        return VerbData(*(frozenset(str(x) for x in raw[k]) for k in (
            "destroy_verbs", "breadth_flags", "breadth_args", "sql_options", "sql_keywords")))
    except (KeyError, TypeError) as exc:
        raise CatalogError(f"{VERBS_FILE}: {exc}") from None


def check(state: State, name: str, args: Sequence[Arg], source: str) -> None:
    """Apply verb semantics to a command no catalog family knows."""
    data = verb_data()
    texts = [a.text for a in args]
    _sql(state, name, args, data, source)
    positionals = [t for t in texts if not t.startswith("-")]
    verb = next((t for t in positionals[:4] if t.lower() in data.destroy_verbs), None)
    if verb is None:
        return
    flags = [t.split("=", 1)[0] for t in texts if t.startswith("-")]
    broad = [f for f in flags if f in data.breadth_flags] + [
        t for t in positionals if t in data.breadth_args]
    if not broad:
        return
    after = positionals[positionals.index(verb) + 1:]
    state.operation(Operation(
        "shell:unknown-tool-destroy", Effect.DESTRUCTIVE,
        f"{name} is not in safehold's catalog, and `{verb}` with {broad[0]} reads as deleting "
        "in bulk.", source,
        tuple(Target("resource", t) for t in after[:3]),
        "Name exactly what to delete, or ask a human to run it."))


def _sql(state: State, name: str, args: Sequence[Arg], data: VerbData, source: str) -> None:
    for i, a in enumerate(args):
        opt, eq, val = a.text.partition("=")
        if opt not in data.sql_options:
            continue
        value = Arg(val, a.static) if eq else (args[i + 1] if i + 1 < len(args) else None)
        if value is None:
            continue
        words = value.text.split(None, 1)
        if not words or words[0].lower().rstrip(";") not in data.sql_keywords:
            continue
        if not value.static:
            state.unknown("shell:sql-not-readable", f"{name} runs SQL that is computed at run "
                          "time", source)
            continue
        state.embedded.append(state.ctx.embedded("sql", value.text, {"dialect": "postgres"},
                                                 source))
