"""The shipped decision path, shared by the SQL analyser tests that check what is allowed."""

from __future__ import annotations

import pytest

from safehold.decide import Guard


@pytest.fixture(scope="session")
def guard() -> Guard:
    return Guard.load()
