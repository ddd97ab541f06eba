"""Dashboard sessions live on the server: a copied cookie stops working the moment its owner
signs out, changes password or is disabled, not when it would have expired."""

from __future__ import annotations

from fastapi.testclient import TestClient
from server_helpers import PASSWORD, ask_input, bearer, sign_in

from safehold.server.accounts import Accounts
from safehold.server.auth import SESSION_COOKIE
from safehold.service import Safehold


def _replay(client: TestClient, cookie: str) -> int:
    """What a second browser holding a copy of the cookie gets from the pending page."""
    with TestClient(client.app, base_url="http://127.0.0.1:8474") as other:
        other.cookies.set(SESSION_COOKIE, cookie)
        return other.get("/", follow_redirects=False).status_code


def test_a_cookie_copied_before_sign_out_is_refused_after_it(client: TestClient) -> None:
    csrf = sign_in(client, "alice")
    stolen = client.cookies[SESSION_COOKIE]
    assert _replay(client, stolen) == 200
    r = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert _replay(client, stolen) == 303, "the old cookie must lead back to sign-in"


def test_a_copied_cookie_cannot_vote_after_sign_out(
    client: TestClient, tokens: dict[str, str], sh: Safehold
) -> None:
    body = {"kind": "http", "input": ask_input(3), "session": "s"}
    ap = client.post("/api/v1/decisions", json=body, headers=bearer(tokens["agent"])).json()
    ap_id = ap["approval"]["id"]
    csrf = sign_in(client, "alice")
    stolen = client.cookies[SESSION_COOKIE]
    client.post("/logout", data={"csrf_token": csrf})
    with TestClient(client.app, base_url="http://127.0.0.1:8474") as other:
        other.cookies.set(SESSION_COOKIE, stolen)
        r = other.post(f"/approvals/{ap_id}/decide",
                       data={"verdict": "approve", "csrf_token": csrf}, follow_redirects=False)
        assert r.status_code == 401
    assert sh.approvals.get(ap_id).votes == ()
    assert sh.audit.tail(1, type="user.sign_out")[0].actor == "user/alice"


def test_a_password_change_or_disabling_ends_every_session(
    client: TestClient, accounts: Accounts
) -> None:
    sign_in(client, "alice")
    alice = client.cookies[SESSION_COOKIE]
    client.cookies.clear()
    sign_in(client, "bob")
    bob = client.cookies[SESSION_COOKIE]
    accounts.set_password("alice", PASSWORD + "!")
    accounts.set_disabled("bob", True)
    assert _replay(client, alice) == 303
    assert _replay(client, bob) == 303
