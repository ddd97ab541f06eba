"""What a test needs from the machine, and what happens when it is not there.

A run with `SAFEHOLD_TEST_REQUIRE_ALL=1` (CI: `.ci/run` sets it) must exercise everything, so a
missing prerequisite (PostgreSQL's server programs, the peer corpora) fails the test that needed
it. Anywhere else the test is skipped, and the skip says what is missing and how to get it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

import corpora
import pg

REQUIRE_ALL_ENV = "SAFEHOLD_TEST_REQUIRE_ALL"


def required() -> bool:
    return os.environ.get(REQUIRE_ALL_ENV) == "1"


def missing(reason: str) -> NoReturn:
    """Fail under a require-all run, skip otherwise; either way say exactly what is missing."""
    if required():
        pytest.fail(f"{reason} ({REQUIRE_ALL_ENV}=1: nothing may be skipped)", pytrace=False)
    pytest.skip(reason)


def postgres_bindir() -> Path:
    if pg.PG_BIN is None:
        missing(pg.missing_reason())
    return pg.PG_BIN


def corpora_dir() -> Path:
    found = corpora.find()
    if found is None:
        missing(corpora.missing_reason())
    return found
