"""Every client's connection examples (`catalog/data/connections.yaml`), run through the
shipped shell analysis: the call must connect to exactly the targets the example names."""

from __future__ import annotations

import pytest

from safehold.analysis.registry import analyze
from safehold.catalog.connectiondata import load_connection_data, parse_connection_data
from safehold.errors import CatalogError
from safehold.model import Action

PROJECT = "/home/dev/project"


def _examples() -> list[tuple[str, str, tuple[str, ...]]]:
    return [(c.id, cmd, expected) for c in load_connection_data().clients
            for cmd, expected in c.examples]


@pytest.fixture(autouse=True)
def world(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/dev")
    monkeypatch.setenv("TMPDIR", "/tmp")


@pytest.mark.parametrize(("client", "cmd", "expected"), _examples())
def test_connection_example(client: str, cmd: str, expected: tuple[str, ...]) -> None:
    facts = analyze(Action("shell", cmd, cwd=PROJECT))
    connects = [op for op in facts.operations if op.id == f"connect:{client}"]
    named = [f"{t.kind} {t.name}" for op in connects for t in op.targets]
    assert named == list(expected), facts.to_dict()


def test_every_client_has_examples_and_unique_commands() -> None:
    data = load_connection_data()
    assert all(c.examples for c in data.clients)
    assert sum(len(c.commands) for c in data.clients) == len(data.by_command)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"clients": [{"id": "x", "commands": ["x"], "target": "moon",
                       "examples": [{"command": "x", "targets": []}]}]}, "target must be"),
        ({"clients": [{"id": "x", "commands": ["x"], "target": "host", "options": {"-h": "hst"},
                       "examples": [{"command": "x", "targets": []}]}]}, "unknown part 'hst'"),
        ({"clients": [{"id": "x", "commands": ["x"], "target": "host"}]}, "examples are required"),
        ({"clients": [{"id": "x", "commands": ["x"], "target": "host", "colour": 1,
                       "examples": [{"command": "x", "targets": []}]}]}, "unknown keys"),
        ({"clients": [
            {"id": "a", "commands": ["x"], "target": "host",
             "examples": [{"command": "x", "targets": []}]},
            {"id": "b", "commands": ["x"], "target": "host",
             "examples": [{"command": "x", "targets": []}]}]}, "already described"),
    ],
)
def test_a_broken_connection_file_names_the_client_and_the_problem(
    raw: object, message: str
) -> None:
    with pytest.raises(CatalogError, match=message):
        parse_connection_data(raw, "connections.yaml")
