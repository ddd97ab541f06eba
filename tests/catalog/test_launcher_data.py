"""Launchers are data: every example in `catalog/data/launchers.yaml` unwraps to the command it
names, and a malformed file is refused with the file and entry in the error."""

from __future__ import annotations

import shlex

import pytest

from safehold.analysis.shell import wrappers
from safehold.analysis.shell.words import Arg
from safehold.catalog.launcherdata import load_launcher_data, parse_launcher_data
from safehold.errors import CatalogError

DATA = load_launcher_data()


def _runs(line: str) -> str:
    name, *rest = shlex.split(line)
    args = [Arg(w) for w in rest]
    u = wrappers.unwrap(name, args)
    assert u is not None, f"{name} is not unwrapped"
    if not u.runs:
        return ""
    if u.shell is not None:
        return u.shell.text
    if u.split is not None:
        return " ".join([u.split.text, *(a.text for a in u.argv)])
    return " ".join(a.text for a in u.argv)


@pytest.mark.parametrize("line,runs", DATA.examples, ids=[e[0] for e in DATA.examples])
def test_launcher_example_runs_what_it_says(line: str, runs: str) -> None:
    assert _runs(line) == runs


@pytest.mark.parametrize("line,commands", DATA.option_examples,
                         ids=[e[0] for e in DATA.option_examples])
def test_option_command_example(line: str, commands: tuple[str, ...]) -> None:
    name, *rest = shlex.split(line)
    assert tuple(a.text for a in wrappers.option_commands(name, [Arg(w) for w in rest])) == \
        commands


def test_every_launcher_has_an_example() -> None:
    named = {shlex.split(line)[0] for line, _ in DATA.examples}
    assert set(DATA.launchers) <= named


@pytest.mark.parametrize("raw,message", [
    ({"launchers": {"x": {"value_option": ["-u"]}}}, "unknown keys"),
    ({"launchers": {"x": {"skip_positionals": -1}}}, "non-negative"),
    ({"launchers": {"x": {"examples": [["x y"]]}}}, "pairs"),
    ({"option_commands": {"tar": ["-I"]}}, "must map"),
    ({"launcher": {}}, "unknown keys"),
])
def test_malformed_launcher_data_is_refused(raw: object, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        parse_launcher_data(raw, "launchers.yaml")
