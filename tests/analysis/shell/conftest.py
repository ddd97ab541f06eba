"""One guard and one fixed world (home, temp dir, project directory) for the shell tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from safehold.decide import Guard

HOME = "/home/dev"
PROJECT = "/home/dev/project"


@pytest.fixture(scope="session")
def guard() -> Guard:
    return Guard.load()


@pytest.fixture(autouse=True)
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HOME", HOME)
    monkeypatch.setenv("TMPDIR", "/tmp")
    yield
