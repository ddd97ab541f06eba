"""One person, one vote: however a person reaches safehold (dashboard, CLI, API tokens), their
approvals count once toward a quorum, and a token never stands beside its owner as a second
approver. Only people decide: agent tokens and tokens that belong to no one cannot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from server_helpers import PASSWORD, ask_input, bearer, production_approval, sign_in, write_config
from sqlalchemy import text
from typer.testing import CliRunner

from safehold.cli import build_app
from safehold.config import parse_config_file
from safehold.server.accounts import AccountError, Accounts
from safehold.server.app import create_app
from safehold.service import Safehold

runner = CliRunner()
PROD = ask_input(1, host="api.prod.example.com")


@pytest.fixture
def two_approvers(tmp_path: Path) -> Iterator[tuple[Path, Safehold, TestClient, str]]:
    path = write_config(tmp_path, "[approvals]\nproduction_approvers = 2\n")
    config = parse_config_file(path)
    with Safehold.open(config, notify_in_background=False) as sh:
        accounts = Accounts(sh.store)
        accounts.add_user("root", PASSWORD, "admin")
        for name in ("alice", "bob"):
            accounts.add_user(name, PASSWORD, "approver")
        agent = accounts.create_token("agent", "agent").secret
        with TestClient(create_app(sh, config.server, tick_seconds=0)) as client:
            yield path, sh, client, agent


def _ask(client: TestClient, agent: str) -> dict[str, Any]:
    body = {"kind": "http", "input": PROD, "session": "s1", "agent": "claude-code"}
    r = client.post("/api/v1/decisions", json=body, headers=bearer(agent))
    assert r.status_code == 200, r.text
    return r.json()


def test_a_cli_token_with_the_approvers_name_does_not_add_a_second_vote(
    two_approvers: tuple[Path, Safehold, TestClient, str],
) -> None:
    path, sh, client, agent = two_approvers
    ap = _ask(client, agent)["approval"]["id"]
    csrf = sign_in(client, "alice")
    client.post(f"/approvals/{ap}/decide",
                data=production_approval(client.get(f"/approvals/{ap}").text, csrf))
    assert sh.approvals.get(ap).approvers == ("user/alice",)

    # The attack: mint a token named like the approver and approve again with it.
    bare = runner.invoke(build_app(), ["tokens", "create", "alice", "--role", "approver",
                                       "--config", str(path)])
    assert bare.exit_code == 1 and "act for a person" in bare.output
    made = runner.invoke(build_app(), ["tokens", "create", "alice", "--role", "approver",
                                       "--user", "alice", "--config", str(path)])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    r = client.post(f"/api/v1/approvals/{ap}/approve", headers=bearer(token))
    assert r.status_code == 409 and "already voted" in r.json()["detail"]
    approval = sh.approvals.get(ap)
    assert approval.state == "pending" and approval.approvers == ("user/alice",)
    assert _ask(client, agent)["decision"] == "ask"

    refused = sh.audit.tail(1, type="approval.vote_refused")[0].data
    assert refused["approver"] == "user/alice" and refused["via"] == "token/alice"

    cli_vote = runner.invoke(build_app(), ["approvals", "approve", ap, "--as", "alice",
                                           "--config", str(path)], input=PASSWORD + "\n")
    assert cli_vote.exit_code == 1 and "already voted" in cli_vote.output
    assert sh.approvals.get(ap).approvers == ("user/alice",)

    client.post("/logout", data={"csrf_token": csrf})
    csrf = sign_in(client, "bob")
    client.post(f"/approvals/{ap}/decide",
                data=production_approval(client.get(f"/approvals/{ap}").text, csrf))
    approval = sh.approvals.get(ap)
    assert approval.state == "approved"
    assert approval.approvers == ("user/alice", "user/bob"), "two people, two votes"


def test_two_tokens_of_one_person_are_one_voter(
    two_approvers: tuple[Path, Safehold, TestClient, str],
) -> None:
    _path, sh, client, agent = two_approvers
    accounts = Accounts(sh.store)
    first = accounts.create_token("alice-laptop", "approver", "alice").secret
    second = accounts.create_token("alice-phone", "approver", "alice").secret
    ap = _ask(client, agent)["approval"]["id"]
    r = client.post(f"/api/v1/approvals/{ap}/approve", headers=bearer(first))
    assert r.status_code == 200 and r.json()["approvals"] == 1
    assert r.json()["votes"][0]["approver"] == "user/alice"
    r = client.post(f"/api/v1/approvals/{ap}/approve", headers=bearer(second))
    assert r.status_code == 409
    assert sh.approvals.get(ap).state == "pending"
    vote = sh.audit.tail(1, type="approval.vote")[0].data
    assert vote["via"] == "token/alice-laptop"


def test_a_token_that_belongs_to_no_one_cannot_decide(
    two_approvers: tuple[Path, Safehold, TestClient, str],
) -> None:
    """Tokens minted before tokens had owners (or rows written by hand) are no voters."""
    _path, sh, client, agent = two_approvers
    accounts = Accounts(sh.store)
    legacy = accounts.create_token("pager-bot", "approver", "bob")
    with sh.store.session() as s:
        s.execute(text("UPDATE api_tokens SET user_id = NULL WHERE id = :i"),
                  {"i": legacy.info.id})
    ap = _ask(client, agent)["approval"]["id"]
    r = client.post(f"/api/v1/approvals/{ap}/approve", headers=bearer(legacy.secret))
    assert r.status_code == 403 and "belongs to no user" in r.json()["detail"]
    r = client.post(f"/api/v1/approvals/{ap}/approve", headers=bearer(agent))
    assert r.status_code == 403
    assert sh.approvals.get(ap).votes == ()


def test_a_token_never_exceeds_or_outlives_its_owner(
    two_approvers: tuple[Path, Safehold, TestClient, str],
) -> None:
    _path, sh, client, agent = two_approvers
    accounts = Accounts(sh.store)
    accounts.add_user("vic", PASSWORD, "viewer")
    with pytest.raises(AccountError, match="cannot hold approver tokens"):
        accounts.create_token("vic-token", "approver", "vic")
    with pytest.raises(AccountError, match="cannot hold admin tokens"):
        accounts.create_token("alice-admin", "admin", "alice")
    with pytest.raises(AccountError, match="act for an agent"):
        accounts.create_token("agent-2", "agent", "alice")
    token = accounts.create_token("bob-token", "approver", "bob").secret
    ap = _ask(client, agent)["approval"]["id"]
    accounts.set_disabled("bob", True)
    r = client.post(f"/api/v1/approvals/{ap}/approve", headers=bearer(token))
    assert r.status_code == 401
    assert sh.approvals.get(ap).votes == ()


def test_only_an_admin_mints_tokens_over_the_api(
    two_approvers: tuple[Path, Safehold, TestClient, str],
) -> None:
    _path, sh, client, agent = two_approvers
    accounts = Accounts(sh.store)
    admin = accounts.create_token("root-cli", "admin", "root").secret
    alice = accounts.create_token("alice-cli", "approver", "alice").secret
    body = {"name": "alice-2", "role": "approver", "user": "alice"}
    for refused in (agent, alice):
        assert client.post("/api/v1/tokens", json=body, headers=bearer(refused)).status_code == 403
    r = client.post("/api/v1/tokens", json={"name": "x", "role": "approver"},
                    headers=bearer(admin))
    assert r.status_code == 422 and "act for a person" in r.json()["detail"]
    r = client.post("/api/v1/tokens", json=body, headers=bearer(admin))
    assert r.status_code == 201 and r.json()["user"] == "alice"
    minted = r.json()["token"]
    ap = _ask(client, agent)["approval"]["id"]
    assert client.post(f"/api/v1/approvals/{ap}/approve", headers=bearer(alice)).status_code == 200
    assert client.post(f"/api/v1/approvals/{ap}/approve", headers=bearer(minted)).status_code == 409
    created = sh.audit.tail(1, type="token.created")[0]
    assert created.actor == "user/root" and created.data["user"] == "alice"
