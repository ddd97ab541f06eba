"""Secrets an agent pastes reach neither the database nor any page: safehold's own API tokens,
passwords found in a command (and repeated in the stated reason), and a password typed into
the username field of the sign-in form."""

from __future__ import annotations

import subprocess
from pathlib import Path

from fastapi.testclient import TestClient
from server_helpers import ask_input, bearer, csrf_of, sign_in

from safehold.config import Config
from safehold.server.accounts import Accounts
from safehold.service import Safehold


def _dump(config: Config) -> str:
    db = config.database_url.removeprefix("sqlite:///")
    return subprocess.run(["sqlite3", db, ".dump"], capture_output=True, text=True,
                          check=True).stdout


def _pages(client: TestClient) -> str:
    """Everything a viewer can read."""
    sign_in(client, "vic")
    return "".join(client.get(p).text for p in ("/", "/audit", "/delays"))


def test_safeholds_own_tokens_are_redacted_in_actions_mcp_arguments_and_reasons(
    client: TestClient, tokens: dict[str, str], accounts: Accounts, config: Config
) -> None:
    leaked = accounts.create_token("deploy-bot", "approver", "alice").secret
    agent = bearer(tokens["agent"])
    shell = {"kind": "shell", "input": f"curl -s https://ci.internal/run?key={leaked} -X POST",
             "reason": f"using {leaked} from .env", "session": "s1"}
    mcp = {"kind": "mcp", "session": "s1", "reason": "sync",
           "input": {"server": "github", "tool": "delete_repository",
                     "arguments": {"repo": "acme/app", "note": f"auth {leaked}"}}}
    ask = {"kind": "http", "input": {**ask_input(9), "body": f"t={leaked}"},
           "reason": f"the token {leaked} is mine", "session": "s1"}
    for body in (shell, mcp, ask):
        r = client.post("/api/v1/decisions", json=body, headers=agent)
        assert r.status_code == 200, r.text
    assert leaked not in _dump(config)
    assert leaked not in _pages(client)


def test_a_password_cut_from_the_input_is_cut_from_the_reason_too(
    client: TestClient, tokens: dict[str, str], sh: Safehold, config: Config
) -> None:
    password = "Wq8-zz-Lp4-Rv"
    body = {"kind": "http", "session": "s2",
            "input": {**ask_input(11), "headers": {"X-Api-Key": password}},
            "reason": f"retrying with {password} because the old one expired"}
    r = client.post("/api/v1/decisions", json=body, headers=bearer(tokens["agent"]))
    approval = sh.approvals.get(r.json()["approval"]["id"])
    assert approval.stated_reason == "retrying with [REDACTED] because the old one expired"
    assert password not in _dump(config)
    assert password not in _pages(client)


def test_a_password_typed_into_the_username_field_is_not_recorded(
    client: TestClient, sh: Safehold, config: Config
) -> None:
    typed = "Sup3r-Secret-Pa55"
    page = client.get("/login")
    r = client.post("/login", data={"username": typed, "password": "", "csrf_token":
                                    csrf_of(page.text)})
    assert r.status_code == 401
    page = client.get("/login")
    client.post("/login", data={"username": "alice", "password": "wrong password!",
                                "csrf_token": csrf_of(page.text)})
    failed = sh.audit.tail(5, type="user.sign_in_failed")
    assert [e.data["user"] for e in failed] == [None, "alice"]
    assert failed[0].data["unknown_name_length"] == len(typed)
    assert typed not in _dump(config)
    assert typed not in Path(config.database_url.removeprefix("sqlite:///")).read_bytes().decode(
        "utf-8", "replace")
