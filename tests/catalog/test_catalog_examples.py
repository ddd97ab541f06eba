"""Every catalog entry's own examples, run through the shipped shell analysis.

A `match` example must produce the entry's id (as an operation, a credential finding, or an
unknown naming it); a `no_match` example must not. This covers every family file in
`catalog/data/shell/`, whoever wrote it.
"""

from __future__ import annotations

import pytest

from safehold.analysis.registry import analyze
from safehold.catalog import load_catalog
from safehold.model import Action, Facts

PROJECT = "/home/dev/project"


def _ids(f: Facts) -> set[str]:
    return {o.id for o in f.operations} | {c.id for c in f.credentials} | {
        u.id for u in f.unknowns}


def _examples(kind: str) -> list[tuple[str, str, str]]:
    out = []
    for entry in load_catalog().by_id.values():
        examples = entry.examples_match if kind == "match" else entry.examples_no_match
        for cmd in examples:
            out.append((entry.id, cmd, entry.file.rsplit("/", 1)[-1]))
    return out


@pytest.fixture(autouse=True)
def world(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/dev")
    monkeypatch.setenv("TMPDIR", "/tmp")


@pytest.mark.parametrize(("ident", "cmd", "file"), _examples("match"))
def test_match_example_yields_entry(ident: str, cmd: str, file: str) -> None:
    f = analyze(Action("shell", cmd, cwd=PROJECT))
    assert ident in _ids(f), f"{file}: {cmd!r} should yield {ident}; got {f.to_dict()}"


@pytest.mark.parametrize(("ident", "cmd", "file"), _examples("no_match"))
def test_no_match_example_does_not_yield_entry(ident: str, cmd: str, file: str) -> None:
    f = analyze(Action("shell", cmd, cwd=PROJECT))
    assert ident not in _ids(f), f"{file}: {cmd!r} should not yield {ident}; got {f.to_dict()}"
