"""Pending approvals, delays and sessions survive `kill -9` of a real server on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from server_helpers import (
    PASSWORD,
    LiveServer,
    ask_input,
    bearer,
    csrf_of,
    delay_input,
    write_config,
)

from safehold.config import parse_config_file
from safehold.server.accounts import Accounts
from safehold.service import Safehold


@pytest.fixture
def prepared(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    config_path = write_config(tmp_path)
    with Safehold.open(parse_config_file(config_path), notify_in_background=False) as sh:
        accounts = Accounts(sh.store)
        accounts.add_user("alice", PASSWORD, "approver")
        accounts.add_user("pat", PASSWORD, "approver")
        tokens = {
            "agent": accounts.create_token("laptop-agent", "agent").secret,
            "approver": accounts.create_token("pager-bot", "approver", "pat").secret,
        }
    yield config_path, tokens


def test_state_survives_kill_9_and_stays_actionable(
    prepared: tuple[Path, dict[str, str]],
) -> None:
    config_path, tokens = prepared
    server = LiveServer(config_path).start()
    try:
        first = server.decide(tokens["agent"], ask_input(1))["approval"]["id"]
        second = server.decide(tokens["agent"], ask_input(2, host="api.prod.example.com"))
        second_id = second["approval"]["id"]
        held = server.decide(tokens["agent"], delay_input(1))["delay"]["id"]
        browser = httpx.Client(base_url=server.base, follow_redirects=True)
        csrf = csrf_of(browser.get("/login").text)
        signed = browser.post("/login", data={"username": "alice", "password": PASSWORD,
                                              "csrf_token": csrf})
        assert signed.status_code == 200 and f"approval-{first}" in signed.text
        server.kill()

        port = server.port
        server = LiveServer(config_path, port=port).start()
        h = bearer(tokens["approver"])
        pending = httpx.get(server.base + "/api/v1/approvals?state=pending", headers=h).json()
        assert {a["id"] for a in pending["approvals"]} == {first, second_id}
        delays = httpx.get(server.base + "/api/v1/delays?state=pending", headers=h).json()
        assert [d["id"] for d in delays["delays"]] == [held]

        page = browser.get("/")
        assert page.status_code == 200, "the session cookie must outlive the process"
        assert f"approval-{first}" in page.text and f"delay-{held}" in page.text

        r = httpx.post(f"{server.base}/api/v1/approvals/{first}/approve", headers=h)
        assert r.json()["state"] == "approved"
        assert server.decide(tokens["agent"], ask_input(1))["decision"] == "allow"
        assert server.decide(tokens["agent"], ask_input(1))["decision"] == "ask"

        csrf = csrf_of(page.text)
        r = browser.post(f"/delays/{held}/cancel", data={"csrf_token": csrf})
        assert r.status_code == 200
        state = httpx.get(server.base + "/api/v1/delays", headers=h).json()["delays"][0]["state"]
        assert state == "cancelled"

        verified = httpx.get(server.base + "/api/v1/audit/verify", headers=h).json()
        assert verified["ok"] is True
    finally:
        server.stop()
