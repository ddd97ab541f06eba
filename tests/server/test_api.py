"""The JSON API against a real Safehold: roles, bad input, and the approve-once flow."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from server_helpers import PASSWORD, ask_input, bearer, delay_input, sign_in
from sqlalchemy import update

from safehold.service import Safehold
from safehold.store.models import AuditRecord


def decide(client: TestClient, token: str, input: Any, **extra: Any) -> dict[str, Any]:
    body = {"kind": "http", "input": input, "agent": "claude-code", "session": "s-1", **extra}
    r = client.post("/api/v1/decisions", json=body, headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()


def test_health_needs_no_token(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_openapi_documents_every_endpoint(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/decisions",
        "/api/v1/approvals",
        "/api/v1/approvals/{approval_id}",
        "/api/v1/approvals/{approval_id}/approve",
        "/api/v1/approvals/{approval_id}/deny",
        "/api/v1/delays",
        "/api/v1/delays/{delay_id}/cancel",
        "/api/v1/delays/{delay_id}/run-now",
        "/api/v1/audit",
        "/api/v1/audit/verify",
        "/healthz",
    ):
        assert path in paths
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


@pytest.mark.parametrize(
    "headers, detail",
    [
        ({}, "missing Authorization"),
        ({"Authorization": "Basic YWxpY2U6eA=="}, "must be 'Bearer"),
        ({"Authorization": "Bearer shk_not-a-real-token"}, "unknown or revoked"),
        ({"Authorization": "Bearer "}, "must be 'Bearer"),
    ],
)
def test_requests_without_a_valid_token_get_401(
    client: TestClient, headers: dict[str, str], detail: str
) -> None:
    r = client.post("/api/v1/decisions", json={"kind": "shell", "input": "ls"}, headers=headers)
    assert r.status_code == 401
    assert r.json()["error"] == "unauthorized"
    assert detail in r.json()["detail"]
    assert r.headers["www-authenticate"] == "Bearer"


def test_a_revoked_token_stops_working(client: TestClient, accounts: Any) -> None:
    issued = accounts.create_token("short-lived", "agent")
    body = {"kind": "http", "input": {"method": "GET", "url": "https://example.com/"}}
    r = client.post("/api/v1/decisions", json=body, headers=bearer(issued.secret))
    assert r.status_code == 200
    accounts.revoke_token(issued.info.id)
    r = client.post("/api/v1/decisions", json=body, headers=bearer(issued.secret))
    assert r.status_code == 401


def test_session_cookies_do_not_authenticate_the_api(client: TestClient) -> None:
    sign_in(client, "root")
    assert client.get("/api/v1/approvals").status_code == 401


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "telnet", "input": "x"}, "kind"),
        ({"input": "ls"}, "kind"),
        ({"kind": "shell"}, "input"),
        ({"kind": "shell", "input": "ls", "colour": "red"}, "colour"),
        ({"kind": "shell", "input": 42}, "input"),
        ({"kind": "shell", "input": "ls", "request_approval": "maybe"}, "request_approval"),
        ({"kind": "shell", "input": "ls", "session": "s" * 201}, "session"),
    ],
)
def test_malformed_decision_requests_get_422_naming_the_field(
    client: TestClient, tokens: dict[str, str], body: dict[str, Any], field: str
) -> None:
    r = client.post("/api/v1/decisions", json=body, headers=bearer(tokens["agent"]))
    assert r.status_code == 422
    data = r.json()
    assert data["error"] == "invalid_request"
    assert any(p["field"].startswith(field) for p in data["problems"]), data


def test_not_json_and_empty_and_oversized_inputs_are_refused(
    client: TestClient, tokens: dict[str, str]
) -> None:
    h = {**bearer(tokens["agent"]), "Content-Type": "application/json"}
    assert client.post("/api/v1/decisions", content=b"{not json", headers=h).status_code == 422
    r = client.post("/api/v1/decisions", json={"kind": "shell", "input": "   "}, headers=h)
    assert r.status_code == 422
    assert "empty" in r.json()["detail"]
    big = {"kind": "shell", "input": "echo " + "a" * 300_000}
    r = client.post("/api/v1/decisions", json=big, headers=h)
    assert r.status_code == 413
    assert r.json()["error"] == "too_large"
    huge = {"kind": "shell", "input": "echo " + "a" * 2_000_000}
    r = client.post("/api/v1/decisions", json=huge, headers=h)
    assert r.status_code == 413
    assert "request bodies are limited" in r.json()["detail"]


def test_an_approved_action_runs_exactly_once(
    client: TestClient, tokens: dict[str, str]
) -> None:
    agent, approver = tokens["agent"], tokens["approver"]
    first = decide(client, agent, ask_input(7), reason="stale cache after deploy")
    assert first["decision"] == "ask"
    approval = first["approval"]
    assert approval["state"] == "pending"
    assert approval["url"].endswith(f"/approvals/{approval['id']}")

    polled = client.get(f"/api/v1/approvals/{approval['id']}", headers=bearer(agent))
    assert polled.status_code == 200
    assert polled.json()["state"] == "pending"
    assert polled.json()["stated_reason"] == "stale cache after deploy"
    assert polled.json()["url"] == approval["url"]

    again = decide(client, agent, ask_input(7))
    assert again["decision"] == "ask"
    assert again["approval"]["id"] == approval["id"], "the same action must not file twice"

    r = client.post(
        f"/api/v1/approvals/{approval['id']}/approve",
        json={"comment": "cache only, fine"},
        headers=bearer(approver),
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "approved"
    assert r.json()["votes"][0]["approver"] == "user/alice"
    assert r.json()["votes"][0]["comment"] == "cache only, fine"

    different = decide(client, agent, ask_input(8))
    assert different["decision"] == "ask", "approval must not unlock a different action"

    allowed = decide(client, agent, ask_input(7))
    assert allowed["decision"] == "allow"
    assert f"approval:{approval['id']}" in allowed["rules"]

    after = decide(client, agent, ask_input(7))
    assert after["decision"] == "ask"
    assert after["approval"]["id"] != approval["id"]
    assert after["approval"]["state"] == "pending"

    used = client.get(f"/api/v1/approvals/{approval['id']}", headers=bearer(agent)).json()
    assert used["state"] == "used"


def test_agent_tokens_can_never_approve_deny_cancel_or_read_the_audit(
    client: TestClient, tokens: dict[str, str]
) -> None:
    agent = bearer(tokens["agent"])
    ap = decide(client, tokens["agent"], ask_input(1))["approval"]["id"]
    dl = decide(client, tokens["agent"], delay_input(1))["delay"]["id"]
    for method, path in (
        ("post", f"/api/v1/approvals/{ap}/approve"),
        ("post", f"/api/v1/approvals/{ap}/deny"),
        ("post", f"/api/v1/delays/{dl}/cancel"),
        ("post", f"/api/v1/delays/{dl}/run-now"),
        ("get", "/api/v1/approvals"),
        ("get", "/api/v1/delays"),
        ("get", "/api/v1/audit"),
        ("get", "/api/v1/audit/verify"),
    ):
        r = client.request(method, path, headers=agent)
        assert r.status_code == 403, (path, r.text)
        assert r.json()["error"] == "forbidden"
    state = client.get(f"/api/v1/approvals/{ap}", headers=bearer(tokens["admin"])).json()["state"]
    assert state == "pending"


def test_agents_poll_only_their_own_requests(
    client: TestClient, tokens: dict[str, str], accounts: Any
) -> None:
    other = accounts.create_token("other-agent", "agent").secret
    ap = decide(client, tokens["agent"], ask_input(2))["approval"]["id"]
    assert client.get(f"/api/v1/approvals/{ap}", headers=bearer(other)).status_code == 404
    r = client.get(f"/api/v1/approvals/{ap}", headers=bearer(tokens["approver"]))
    assert r.status_code == 200


def test_the_requester_cannot_approve_its_own_request(
    client: TestClient, tokens: dict[str, str]
) -> None:
    ap = decide(client, tokens["approver"], ask_input(3))["approval"]["id"]
    r = client.post(f"/api/v1/approvals/{ap}/approve", headers=bearer(tokens["approver"]))
    assert r.status_code == 403
    assert "cannot approve" in r.json()["detail"]
    r = client.post(f"/api/v1/approvals/{ap}/approve", headers=bearer(tokens["admin"]))
    assert r.status_code == 200


def test_deny_records_the_comment_and_the_action_asks_again(
    client: TestClient, tokens: dict[str, str]
) -> None:
    ap = decide(client, tokens["agent"], ask_input(4))["approval"]["id"]
    r = client.post(
        f"/api/v1/approvals/{ap}/deny",
        json={"comment": "not during the incident"},
        headers=bearer(tokens["approver"]),
    )
    assert r.status_code == 200
    assert r.json()["state"] == "denied"
    assert r.json()["votes"][0]["comment"] == "not during the incident"
    again = decide(client, tokens["agent"], ask_input(4))
    assert again["decision"] == "ask"
    assert again["approval"]["id"] != ap


def test_voting_on_a_closed_or_unknown_request(client: TestClient, tokens: dict[str, str]) -> None:
    ap = decide(client, tokens["agent"], ask_input(5))["approval"]["id"]
    h = bearer(tokens["approver"])
    assert client.post(f"/api/v1/approvals/{ap}/deny", headers=h).status_code == 200
    r = client.post(f"/api/v1/approvals/{ap}/approve", headers=bearer(tokens["admin"]))
    assert r.status_code == 409
    assert r.json()["error"] == "conflict"
    assert client.post("/api/v1/approvals/ap_nope/approve", headers=h).status_code == 404
    assert client.get("/api/v1/approvals/ap_nope", headers=h).status_code == 404
    r = client.post(f"/api/v1/approvals/{ap}/approve", json={"comment": 5}, headers=h)
    assert r.status_code == 422


def test_list_approvals_by_state(client: TestClient, tokens: dict[str, str]) -> None:
    a = decide(client, tokens["agent"], ask_input(10))["approval"]["id"]
    b = decide(client, tokens["agent"], ask_input(11))["approval"]["id"]
    h = bearer(tokens["approver"])
    client.post(f"/api/v1/approvals/{b}/approve", headers=h)
    pending = client.get("/api/v1/approvals?state=pending", headers=h).json()["approvals"]
    assert [x["id"] for x in pending] == [a]
    approved = client.get("/api/v1/approvals?state=approved", headers=h).json()["approvals"]
    assert [x["id"] for x in approved] == [b]
    assert client.get("/api/v1/approvals?state=bogus", headers=h).status_code == 422


def test_delays_cancel_and_run_now(client: TestClient, tokens: dict[str, str]) -> None:
    h = bearer(tokens["approver"])
    held = decide(client, tokens["agent"], delay_input(1))
    assert held["decision"] == "delay"
    dl = held["delay"]["id"]
    listed = client.get("/api/v1/delays?state=pending", headers=h).json()["delays"]
    assert [d["id"] for d in listed] == [dl]

    r = client.post(f"/api/v1/delays/{dl}/cancel", headers=h)
    assert r.status_code == 200
    assert r.json()["state"] == "cancelled"
    assert r.json()["cancelled_by"] == "user/alice"
    assert client.post(f"/api/v1/delays/{dl}/cancel", headers=h).status_code == 409
    assert decide(client, tokens["agent"], delay_input(1))["decision"] == "delay"

    other = decide(client, tokens["agent"], delay_input(2))["delay"]["id"]
    assert decide(client, tokens["agent"], delay_input(2))["decision"] == "delay"
    r = client.post(f"/api/v1/delays/{other}/run-now", headers=h)
    assert r.status_code == 200
    released = decide(client, tokens["agent"], delay_input(2))
    assert released["decision"] == "allow"
    assert f"delay:{other}" in released["rules"]
    assert client.post("/api/v1/delays/dl_nope/cancel", headers=h).status_code == 404


def test_audit_filters_and_verify_detects_an_edited_row(
    client: TestClient, tokens: dict[str, str], sh: Safehold
) -> None:
    h = bearer(tokens["approver"])
    decide(client, tokens["agent"], ask_input(20), session="s-audit")
    decide(client, tokens["agent"], {"method": "GET", "url": "https://example.com/"},
           session="s-other")
    asks = client.get("/api/v1/audit?decision=ask", headers=h).json()["records"]
    assert asks and all(r["decision"] == "ask" for r in asks)
    in_session = client.get("/api/v1/audit?session=s-audit&type=decision", headers=h).json()
    assert [r["session"] for r in in_session["records"]] == ["s-audit"]
    assert client.get("/api/v1/audit?limit=0", headers=h).status_code == 422
    assert client.get("/api/v1/audit?decision=maybe", headers=h).status_code == 422

    verified = client.get("/api/v1/audit/verify", headers=h).json()
    assert verified["ok"] is True
    assert verified["count"] >= 4

    with sh.store.session() as s:
        s.execute(
            update(AuditRecord).where(AuditRecord.seq == 2).values(decision="allow")
        )
    broken = client.get("/api/v1/audit/verify", headers=h).json()
    assert broken["ok"] is False
    assert broken["first_bad_seq"] == 2
    assert "altered" in broken["message"]


def test_an_internal_failure_is_a_json_500_that_allows_nothing(
    sh: Safehold, config: Any, tokens: dict[str, str]
) -> None:
    from sqlalchemy import text

    from safehold.server.app import create_app

    with sh.store.session() as s:
        s.execute(text("DROP TABLE approval_votes"))
        s.execute(text("DROP TABLE approvals"))
    app = create_app(sh, config.server, tick_seconds=0)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/api/v1/decisions", json={"kind": "http", "input": ask_input(1)},
                   headers=bearer(tokens["agent"]))
        assert r.status_code == 500
        assert r.json()["error"] == "internal_error"
        assert "not allowed" in r.json()["detail"]
        assert "decision" not in r.json()


def test_request_approval_false_only_answers(client: TestClient, tokens: dict[str, str]) -> None:
    answer = decide(client, tokens["agent"], ask_input(30), request_approval=False)
    assert answer["decision"] == "ask"
    assert answer["approval"] is None
    h = bearer(tokens["approver"])
    assert client.get("/api/v1/approvals?state=pending", headers=h).json()["approvals"] == []


def test_the_server_clock_expires_unanswered_requests(tmp_path: Any) -> None:
    import time

    from server_helpers import write_config

    from safehold.config import parse_config_file
    from safehold.server.accounts import Accounts
    from safehold.server.app import create_app

    config = parse_config_file(write_config(tmp_path, "[approvals]\nttl = 1\n"))
    with Safehold.open(config, notify_in_background=False) as sh:
        accounts = Accounts(sh.store)
        accounts.add_user("root", PASSWORD, "admin")
        agent = accounts.create_token("agent", "agent").secret
        admin = accounts.create_token("admin", "admin", "root").secret
        app = create_app(sh, config.server, tick_seconds=0.2)
        with TestClient(app) as client:
            ap = decide(client, agent, ask_input(1))["approval"]["id"]
            deadline = time.monotonic() + 10
            state = "pending"
            while state == "pending" and time.monotonic() < deadline:
                time.sleep(0.2)
                state = client.get(f"/api/v1/approvals/{ap}", headers=bearer(admin)).json()["state"]
            assert state == "expired"
            r = client.post(f"/api/v1/approvals/{ap}/approve", headers=bearer(admin))
            assert r.status_code == 409


def test_the_workspace_travels_with_a_decision_request(
    client: TestClient, tokens: dict[str, str]
) -> None:
    """A shell left in another directory is not the workspace the agent's hook named."""
    moved = decide(client, tokens["agent"], "rm -rf build", kind="shell", cwd="/home/dev/other",
                   workspace="/home/dev/project", request_approval=False)
    assert moved["decision"] != "allow", moved
    inside = decide(client, tokens["agent"], "rm -rf build", kind="shell",
                    cwd="/home/dev/project/web",
                    workspace="/home/dev/project", request_approval=False)
    assert inside["decision"] == "allow", inside
