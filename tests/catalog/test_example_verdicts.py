"""Exact verdicts for the catalog examples that can be irreversible (`example_verdicts.yaml`).

The example tests check that an example yields its entry; these check what safehold then does
with it: deny, ask, delay or allow, never just "not allowed". An irreversible operation that
quietly became merely destructive would turn a refusal into a question, and fail here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from safehold.analysis.http.catalog import builtin as http_catalog
from safehold.analysis.http.catalog import example_request
from safehold.analysis.mcp.catalog import builtin as mcp_catalog
from safehold.analysis.mcp.catalog import example_call
from safehold.catalog import load_catalog
from safehold.decide import Guard
from safehold.model import Action, Effect

TABLE: dict[str, dict[str, Any]] = yaml.safe_load(
    (Path(__file__).with_name("example_verdicts.yaml")).read_text()
)
HOME = "/home/dev"
PROJECT = "/home/dev/project"


def _can_be_irreversible(effect: Effect, paths: Any = None) -> bool:
    return effect is Effect.IRREVERSIBLE or Effect.IRREVERSIBLE in (paths or {}).values()


SHELL = {e.id: e for e in load_catalog().by_id.values()}
HTTP = {e.id: (p, e) for p in http_catalog().providers for e in p.entries}
MCP = {e.id: (f, e) for f in mcp_catalog().families for e in f.entries}


@pytest.fixture(scope="module")
def guard() -> Guard:
    return Guard.load()


@pytest.fixture(autouse=True)
def world(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", HOME)
    monkeypatch.setenv("TMPDIR", "/tmp")


def test_every_example_that_can_be_irreversible_has_a_verdict() -> None:
    for ident, entry in SHELL.items():
        if _can_be_irreversible(entry.effect, entry.paths):
            listed = set(TABLE["shell"].get(ident, {}))
            assert listed == set(entry.examples_match), f"{ident}: list its examples' verdicts"
    for kind, entries in (("http", HTTP), ("mcp", MCP)):
        for ident, (_, entry) in entries.items():
            if _can_be_irreversible(entry.effect):
                assert ident in TABLE[kind], f"{kind} {ident}: add its examples' verdict"


def test_every_listed_example_is_still_a_catalog_example() -> None:
    for ident, cases in TABLE["shell"].items():
        assert ident in SHELL, f"shell entry {ident} is gone"
        assert set(cases) == set(SHELL[ident].examples_match), ident
    for kind, entries in (("http", HTTP), ("mcp", MCP)):
        assert set(TABLE[kind]) <= set(entries), f"{kind} entries gone"


@pytest.mark.parametrize(
    ("ident", "cmd", "verdict"),
    [(i, cmd, v) for i, cases in TABLE["shell"].items() for cmd, v in cases.items()],
)
def test_shell_example_verdict(guard: Guard, ident: str, cmd: str, verdict: str) -> None:
    decision = guard.decide(Action("shell", cmd, cwd=PROJECT))
    assert decision.verdict.value == verdict, f"{ident}: {cmd!r} -> {decision.to_dict()}"


CALLS = {"http": (HTTP, example_request), "mcp": (MCP, example_call)}


@pytest.mark.parametrize(
    ("kind", "ident", "verdict"),
    [(kind, i, v) for kind in CALLS for i, v in TABLE[kind].items()],
)
def test_call_example_verdict(guard: Guard, kind: str, ident: str, verdict: str) -> None:
    entries, build = CALLS[kind]
    group, entry = entries[ident]
    for example in entry.match_examples:
        decision = guard.decide(Action(kind=kind, input=build(group, example)))
        assert decision.verdict.value == verdict, f"{ident}: {example} -> {decision.to_dict()}"
