"""A real Safehold on SQLite in a temp dir, the real app, real users and tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from server_helpers import PASSWORD, SAVED_SCREENSHOTS, write_config

from safehold.config import Config, parse_config_file
from safehold.server.accounts import Accounts
from safehold.server.app import create_app
from safehold.service import Safehold


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture
def config(config_path: Path) -> Config:
    return parse_config_file(config_path)


@pytest.fixture
def sh(config: Config) -> Iterator[Safehold]:
    with Safehold.open(config, notify_in_background=False) as s:
        yield s


@pytest.fixture
def accounts(sh: Safehold) -> Accounts:
    a = Accounts(sh.store)
    a.add_user("root", PASSWORD, "admin")
    a.add_user("alice", PASSWORD, "approver")
    a.add_user("bob", PASSWORD, "approver")
    a.add_user("vic", PASSWORD, "viewer")
    return a


@pytest.fixture
def tokens(accounts: Accounts) -> dict[str, str]:
    return {
        role: accounts.create_token(
            f"{role}-token", role, {"agent": None, "approver": "alice", "admin": "root"}[role]
        ).secret
        for role in ("agent", "approver", "admin")
    }


@pytest.fixture
def client(sh: Safehold, config: Config, accounts: Accounts) -> Iterator[TestClient]:
    app = create_app(sh, config.server, tick_seconds=0)
    with TestClient(app, base_url="http://127.0.0.1:8474") as c:
        yield c


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Name the folder of the screenshots this run saved for review."""
    if SAVED_SCREENSHOTS:
        folder = SAVED_SCREENSHOTS[0].parent
        terminalreporter.write_line(
            f"dashboard screenshots for review: {folder} ({len(SAVED_SCREENSHOTS)} saved)")
