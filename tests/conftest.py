"""Fixtures shared across test packages: a real PostgreSQL, store URLs for both backends, an
open store on each, and a clock that moves only when a test says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import pg
from approval_values import Clock
from safehold.store import Store, open_store


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pg.PostgresServer]:
    if not pg.available():
        pytest.skip(f"PostgreSQL binaries not found in {pg.PG_BIN}")
    server = pg.PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'safehold.db'}"
    server: pg.PostgresServer = request.getfixturevalue("pg_server")
    return server.create_database()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A migrated, empty store on each backend."""
    s = open_store(store_url)
    yield s
    s.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()
