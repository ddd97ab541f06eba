"""The same approve-once flow on PostgreSQL, the backend teams and several replicas use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from server_helpers import ask_input, bearer, write_config

from safehold.config import parse_config_file
from safehold.server.accounts import Accounts
from safehold.server.app import create_app
from safehold.service import Safehold

pytestmark = pytest.mark.postgres


def test_approve_once_on_postgres(tmp_path: Path, pg_server: Any) -> None:
    config = parse_config_file(write_config(tmp_path, database_url=pg_server.create_database()))
    with Safehold.open(config, notify_in_background=False) as sh:
        accounts = Accounts(sh.store)
        accounts.add_user("pat", "correct horse battery staple", "approver")
        agent = accounts.create_token("agent", "agent").secret
        approver = accounts.create_token("approver", "approver", "pat").secret
        with TestClient(create_app(sh, config.server, tick_seconds=0)) as client:
            def decide() -> dict[str, Any]:
                body = {"kind": "http", "input": ask_input(1), "session": "pg"}
                return client.post("/api/v1/decisions", json=body, headers=bearer(agent)).json()

            ap = decide()["approval"]["id"]
            r = client.post(f"/api/v1/approvals/{ap}/approve", headers=bearer(approver))
            assert r.json()["state"] == "approved"
            assert decide()["decision"] == "allow"
            assert decide()["decision"] == "ask"
            verified = client.get("/api/v1/audit/verify", headers=bearer(approver)).json()
            assert verified["ok"] is True
