"""Fixtures shared across test packages: a real PostgreSQL, store URLs for both backends, an
open store on each, and a clock that moves only when a test says so. The run ends with a line
saying how many `postgres` tests really ran, so a green run cannot hide that they were skipped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import needs
import pg
from approval_values import Clock
from safehold.store import Store, open_store

#: Test directories whose every test starts real processes (hooks, servers, the CLI, a system
#: deployment).
SLOW_DIRS = ("surfaces", "server", "cli", "deploy")
HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "slow: starts real processes (tests/surfaces, server, cli, deploy) or runs a "
        "Hypothesis search; `-m 'not slow'` is the quick loop",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        in_slow_dir = any(HERE / name in item.path.parents for name in SLOW_DIRS)
        searching = getattr(getattr(item, "obj", None), "is_hypothesis_test", False)
        if in_slow_dir or searching:
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Under a require-all run a skip of any kind (a missing program, a `skipif`) fails, with
    the skip's own reason: a green CI run is one where every collected test ran."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and needs.required() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped where nothing may be ({needs.REQUIRE_ALL_ENV}=1): {reason}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pg.PostgresServer]:
    needs.postgres_bindir()
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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Count the `postgres` tests by what happened to them (a test counts once)."""
    outcomes: dict[str, str] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            if "postgres" in getattr(report, "keywords", {}):
                if outcomes.get(report.nodeid) in ("failed", "error"):
                    continue
                outcomes[report.nodeid] = outcome
    if not outcomes:
        return
    counts = {o: sum(1 for v in outcomes.values() if v == o) for o in set(outcomes.values())}
    executed = counts.get("passed", 0) + counts.get("failed", 0)
    where = pg.PG_BIN or "no PostgreSQL found"
    terminalreporter.write_line(
        f"postgres tests: {executed} executed ({counts.get('passed', 0)} passed, "
        f"{counts.get('failed', 0)} failed), {counts.get('error', 0)} errors, "
        f"{counts.get('skipped', 0)} skipped; server programs: {where}"
    )
