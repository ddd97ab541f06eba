"""The dashboard over HTTP: sign-in, CSRF on every POST, roles, and what a page shows."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from server_helpers import (
    PASSWORD,
    ask_input,
    bearer,
    csrf_of,
    delay_input,
    production_approval,
    sign_in,
)


def file_request(client: TestClient, token: str, input: Any, **extra: Any) -> dict[str, Any]:
    body = {"kind": "http", "input": input, "agent": "claude-code", "session": "s-9", **extra}
    r = client.post("/api/v1/decisions", json=body, headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()


def test_pages_send_anonymous_visitors_to_sign_in(client: TestClient) -> None:
    for path in ("/", "/delays", "/audit", "/inventory", "/approvals/ap_x"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/login?next=")


def test_sign_in_rejects_a_wrong_password_and_unknown_users(client: TestClient) -> None:
    for user, password in (("alice", "not the password"), ("mallory", PASSWORD), ("alice", "")):
        csrf = csrf_of(client.get("/login").text)
        r = client.post(
            "/login",
            data={"username": user, "password": password, "csrf_token": csrf},
            follow_redirects=False,
        )
        assert r.status_code == 401
        assert "Wrong username or password" in r.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_sign_in_needs_the_forms_csrf_token(client: TestClient) -> None:
    client.get("/login")
    r = client.post(
        "/login", data={"username": "alice", "password": PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 303


def test_sign_in_redirects_only_within_the_site(client: TestClient) -> None:
    csrf = csrf_of(client.get("/login?next=//evil.example/x").text)
    r = client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": csrf,
              "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/"


def test_disabling_a_user_or_changing_the_password_ends_sessions(
    client: TestClient, accounts: Any
) -> None:
    sign_in(client, "bob")
    assert client.get("/", follow_redirects=False).status_code == 200
    accounts.set_disabled("bob", True)
    assert client.get("/", follow_redirects=False).status_code == 303
    accounts.set_disabled("bob", False)
    sign_in(client, "bob")
    accounts.set_password("bob", "a brand new password")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_pending_page_shows_what_an_approver_needs(
    client: TestClient, tokens: dict[str, str]
) -> None:
    prod = file_request(
        client, tokens["agent"], ask_input(1, host="api.prod.example.com"),
        reason="clearing the cache fixes the login loop",
    )["approval"]["id"]
    sign_in(client, "alice")
    page = client.get("/").text
    assert f'id="approval-{prod}"' in page
    assert "DELETE https://api.prod.example.com/v1/caches/1" in page
    assert "PRODUCTION" in page
    assert "clearing the cache fixes the login loop" in page
    assert "destructive-needs-approval" in page
    assert "claude-code" in page and "s-9" in page
    assert "1 url in production" in page
    assert "expires in" in page
    assert "Approve once" in page


def test_approve_through_the_form_then_the_action_runs_once(
    client: TestClient, tokens: dict[str, str]
) -> None:
    ap = file_request(client, tokens["agent"], ask_input(2))["approval"]["id"]
    csrf = sign_in(client, "alice")
    r = client.post(
        f"/approvals/{ap}/decide",
        data={"verdict": "approve", "comment": "ok", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert file_request(client, tokens["agent"], ask_input(2))["decision"] == "allow"
    assert file_request(client, tokens["agent"], ask_input(2))["decision"] == "ask"


def test_every_post_needs_the_sessions_csrf_token(
    client: TestClient, tokens: dict[str, str]
) -> None:
    ap = file_request(client, tokens["agent"], ask_input(3))["approval"]["id"]
    dl = file_request(client, tokens["agent"], delay_input(3))["delay"]["id"]
    sign_in(client, "alice")
    for path, data in (
        (f"/approvals/{ap}/decide", {"verdict": "approve"}),
        (f"/approvals/{ap}/decide", {"verdict": "approve", "csrf_token": "forged"}),
        (f"/delays/{dl}/cancel", {}),
        (f"/delays/{dl}/run-now", {"csrf_token": ""}),
        ("/logout", {}),
    ):
        r = client.post(path, data=data, follow_redirects=False)
        assert r.status_code == 403, path
    h = bearer(tokens["admin"])
    assert client.get(f"/api/v1/approvals/{ap}", headers=h).json()["state"] == "pending"
    assert client.get("/api/v1/delays?state=pending", headers=h).json()["delays"][0]["id"] == dl


def test_htmx_deny_swaps_the_card_and_keeps_the_comment(
    client: TestClient, tokens: dict[str, str]
) -> None:
    ap = file_request(client, tokens["agent"], ask_input(4))["approval"]["id"]
    csrf = sign_in(client, "alice")
    r = client.post(
        f"/approvals/{ap}/decide",
        data={"verdict": "deny", "comment": "use the runbook instead"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )
    assert r.status_code == 200
    assert f'id="approval-{ap}"' in r.text
    assert "Denied" in r.text and "use the runbook instead" in r.text
    again = client.post(
        f"/approvals/{ap}/decide",
        data={"verdict": "approve"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )
    assert again.status_code == 200
    assert "already" in again.text or "is denied" in again.text


def test_viewers_see_but_cannot_decide(client: TestClient, tokens: dict[str, str]) -> None:
    ap = file_request(client, tokens["agent"], ask_input(5))["approval"]["id"]
    csrf = sign_in(client, "vic")
    page = client.get("/").text
    assert f'id="approval-{ap}"' in page
    assert "can see but not decide" in page
    assert "Approve once" not in page
    r = client.post(f"/approvals/{ap}/decide", data={"verdict": "approve", "csrf_token": csrf})
    assert r.status_code == 403


@pytest.mark.parametrize("verb, state", [("cancel", "cancelled"), ("run-now", "pending")])
def test_delays_page_cancel_and_run_now(
    client: TestClient, tokens: dict[str, str], verb: str, state: str
) -> None:
    dl = file_request(client, tokens["agent"], delay_input(6))["delay"]["id"]
    csrf = sign_in(client, "alice")
    page = client.get("/delays").text
    assert f'id="delay-{dl}"' in page and "released in" in page
    r = client.post(f"/delays/{dl}/{verb}", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    record = client.get("/api/v1/delays", headers=bearer(tokens["admin"])).json()["delays"][0]
    assert record["state"] == state
    if verb == "run-now":
        assert file_request(client, tokens["agent"], delay_input(6))["decision"] == "allow"


def test_audit_page_filters_and_shows_verification(
    client: TestClient, tokens: dict[str, str]
) -> None:
    file_request(client, tokens["agent"], ask_input(7), session="s-night")
    file_request(client, tokens["agent"], {"method": "GET", "url": "https://example.com/"},
                 session="s-day", agent="cursor")
    sign_in(client, "root")
    page = client.get("/audit").text
    assert "Chain verified" in page
    assert "s-night" in page and "s-day" in page
    filtered = client.get("/audit?session=s-night").text
    assert "s-night" in filtered and "s-day" not in filtered
    by_agent = client.get("/audit?agent=cursor&decision=allow").text
    assert "s-day" in by_agent and "s-night" not in by_agent


def test_inventory_page_lists_environments_with_production_first(client: TestClient) -> None:
    sign_in(client, "alice")
    page = client.get("/inventory").text
    assert page.index("production") < page.index("staging")
    assert "https://api.prod.example.com" in page


def test_logout_ends_the_session(client: TestClient) -> None:
    csrf = sign_in(client, "alice")
    r = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


def test_unknown_approval_page_is_a_404(client: TestClient) -> None:
    sign_in(client, "alice")
    r = client.get("/approvals/ap_missing", headers={"Accept": "text/html"})
    assert r.status_code == 404
    assert "Not found" in r.text


def test_production_can_need_two_approvers(tmp_path: Any) -> None:
    from server_helpers import write_config

    from safehold.config import parse_config_file
    from safehold.server.accounts import Accounts
    from safehold.server.app import create_app
    from safehold.service import Safehold

    config = parse_config_file(
        write_config(tmp_path, "[approvals]\nproduction_approvers = 2\n")
    )
    with Safehold.open(config, notify_in_background=False) as sh:
        accounts = Accounts(sh.store)
        for name in ("alice", "bob"):
            accounts.add_user(name, PASSWORD, "approver")
        agent = accounts.create_token("agent", "agent").secret
        app = create_app(sh, config.server, tick_seconds=0)
        with TestClient(app) as client:
            prod = ask_input(1, host="api.prod.example.com")
            ap = file_request(client, agent, prod)["approval"]["id"]
            csrf = sign_in(client, "alice")
            assert "0 of 2 approvals" in client.get("/").text
            form = production_approval(client.get(f"/approvals/{ap}").text, csrf)
            client.post(f"/approvals/{ap}/decide", data=form)
            page = client.get(f"/approvals/{ap}").text
            assert "1 of 2 approvals" in page and "You have voted" in page
            assert file_request(client, agent, prod)["decision"] == "ask"
            client.post("/logout", data={"csrf_token": csrf})
            csrf = sign_in(client, "bob")
            form = production_approval(client.get(f"/approvals/{ap}").text, csrf)
            client.post(f"/approvals/{ap}/decide", data=form)
            released = file_request(client, agent, prod)
            assert released["decision"] == "deny"  # snapshot first, and no driver covers it
            assert "not released" in " ".join(released["reasons"])


def test_repeated_failed_sign_ins_are_throttled_and_audited(
    client: TestClient, tokens: dict[str, str]
) -> None:
    def attempt(password: str) -> Any:
        csrf = csrf_of(client.get("/login").text)
        return client.post("/login", data={"username": "alice", "password": password,
                                           "csrf_token": csrf}, follow_redirects=False)

    for _ in range(5):
        assert attempt("guess guess guess").status_code == 401
    blocked = attempt(PASSWORD)
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert "Too many failed sign-ins" in blocked.text
    sign_in(client, "bob")
    failures = client.get("/api/v1/audit?type=user.sign_in_failed",
                          headers=bearer(tokens["admin"])).json()["records"]
    assert len(failures) == 5
    assert all(r["payload"]["user"] == "alice" for r in failures)
    assert all("guess" not in str(r) for r in failures)


def test_every_page_says_when_the_server_runs_in_same_user_mode(client: TestClient) -> None:
    """Without the system deployment's evidence (a root-owned client file naming this server's
    user), approvers are told that the agent's user may change what they see."""
    assert "Same-user mode" not in client.get("/login").text
    sign_in(client, "alice")
    for page in ("/", "/audit", "/delays"):
        text = client.get(page).text
        assert "Same-user mode" in text and "docs/security.md" in text, page
