"""The Users and tokens page (admins only, CSRF-checked, audited like the CLI) and the audit
chain banner every page carries, kept current without re-walking the whole log per click."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from server_helpers import PASSWORD, ask_input, bearer, csrf_of, sign_in
from sqlalchemy import text

from safehold.server import control
from safehold.server.accounts import Accounts
from safehold.server.chain import ChainWatch
from safehold.service import Safehold


def _secret(html: str) -> str:
    m = re.search(r'aria-label="new token">([^<]+)</pre>', html)
    assert m, "the new token is not on the page"
    return m.group(1).strip()


def test_an_admin_creates_revokes_and_sees_tokens_and_each_step_is_audited(
    client: TestClient, sh: Safehold
) -> None:
    csrf = sign_in(client, "root")
    page = client.get("/users")
    assert page.status_code == 200 and 'href="/users"' in page.text
    made = client.post("/tokens/create", data={"name": "ci-bot", "role": "agent",
                                               "csrf_token": csrf})
    assert made.status_code == 200
    secret = _secret(made.text)
    assert "shown only this once" in made.text
    assert secret not in client.get("/users").text, "a token is shown once, then never"
    assert client.post("/api/v1/decisions", json={"kind": "shell", "input": "ls"},
                       headers=bearer(secret)).status_code == 200
    row = client.get("/users").text
    row = row[row.index('data-token="ci-bot"'):]
    row = row[:row.index("</tr>")]
    assert "never" not in row and "UTC" in row, "last use is shown"
    created = sh.audit.tail(1, type="token.created")[0]
    assert created.actor == "user/root" and created.data["name"] == "ci-bot"

    token_id = re.search(r'data-token-id="([0-9a-f]+)"', row)
    assert token_id
    r = client.post(f"/tokens/{token_id.group(1)}/revoke", data={"csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    assert client.post("/api/v1/decisions", json={"kind": "shell", "input": "ls"},
                       headers=bearer(secret)).status_code == 401
    assert sh.audit.tail(1, type="token.revoked")[0].actor == "user/root"

    owned = client.post("/tokens/create", data={"name": "alice-phone", "role": "approver",
                                                "user": "alice", "csrf_token": csrf})
    assert owned.status_code == 200 and "for user alice" in owned.text
    refused = client.post("/tokens/create", data={"name": "x", "role": "admin",
                                                  "user": "vic", "csrf_token": csrf})
    assert refused.status_code == 422 and "cannot hold admin tokens" in refused.text


def test_an_admin_adds_and_disables_users_but_not_themselves(
    client: TestClient, sh: Safehold
) -> None:
    csrf = sign_in(client, "root")
    added = client.post("/users/add", data={"username": "carol", "role": "approver",
                                            "password": "", "csrf_token": csrf})
    assert added.status_code == 200
    m = re.search(r'aria-label="new password">([^<]+)</pre>', added.text)
    assert m, "a generated password is shown once"
    assert sh.audit.tail(1, type="user.created")[0].actor == "user/root"
    r = client.post("/users/alice/disable", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert sh.audit.tail(1, type="user.disabled")[0].actor == "user/root"
    with TestClient(client.app, base_url="http://127.0.0.1:8474") as other:
        login = other.get("/login")
        r = other.post("/login", data={"username": "alice", "password": PASSWORD,
                                       "csrf_token": csrf_of(login.text)},
                       follow_redirects=False)
        assert r.status_code == 401, "a disabled user cannot sign in"
        fresh = other.get("/login")
        r = other.post("/login", data={"username": "carol", "password": m.group(1),
                                       "csrf_token": csrf_of(fresh.text)},
                       follow_redirects=False)
        assert r.status_code == 303, "the password shown works"
    own = client.post("/users/root/disable", data={"csrf_token": csrf})
    assert own.status_code == 409
    assert not next(u for u in Accounts(sh.store).users() if u.username == "root").disabled


def test_only_a_signed_in_admin_reaches_the_page(
    client: TestClient, tokens: dict[str, str], sh: Safehold
) -> None:
    """An agent's token, an approver and a viewer are each refused, reading and writing; a
    forged or missing CSRF token is refused even for the admin."""
    before = len(Accounts(sh.store).tokens())
    for name in ("alice", "vic"):
        csrf = sign_in(client, name)
        assert 'href="/users"' not in client.get("/").text
        assert client.get("/users").status_code == 403
        r = client.post("/tokens/create", data={"name": "mine", "role": "admin",
                                                "user": "root", "csrf_token": csrf})
        assert r.status_code == 403
        assert client.post("/users/root/disable", data={"csrf_token": csrf}).status_code == 403
        client.post("/logout", data={"csrf_token": csrf})
    with TestClient(client.app, base_url="http://127.0.0.1:8474") as agent:
        h = bearer(tokens["agent"])
        r = agent.get("/users", headers=h, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        r = agent.post("/tokens/create", data={"name": "mine", "role": "agent"}, headers=h)
        assert r.status_code == 403
        admin_token = bearer(tokens["admin"])
        assert agent.post("/tokens/create", data={"name": "mine", "role": "agent"},
                          headers=admin_token).status_code == 403
    csrf = sign_in(client, "root")
    for bad in ("", "forged"):
        r = client.post("/tokens/create", data={"name": "mine", "role": "agent",
                                                "csrf_token": bad})
        assert r.status_code == 403
    assert len(Accounts(sh.store).tokens()) == before
    assert not any(u.disabled for u in Accounts(sh.store).users())


def _tamper(sh: Safehold, seq: int) -> None:
    with sh.store.session() as s:
        s.execute(text("UPDATE audit_records SET decision = 'allow' WHERE seq = :s"), {"s": seq})
        s.commit()


def test_a_broken_chain_shows_on_every_page(
    client: TestClient, tokens: dict[str, str], sh: Safehold
) -> None:
    client.post("/api/v1/decisions", json={"kind": "http", "input": ask_input(1)},
                headers=bearer(tokens["agent"]))
    sign_in(client, "alice")
    assert "AUDIT CHAIN BROKEN" not in client.get("/").text
    newest = sh.audit.tail(1)[0].seq
    _tamper(sh, newest)
    for path in ("/", "/delays", "/inventory", "/backups", "/audit"):
        page = client.get(path).text
        assert 'id="chain-banner"' in page, path
        assert f"record {newest}" in page


def test_the_watch_checks_new_records_per_page_and_walks_the_whole_log_rarely(
    sh: Safehold,
) -> None:
    walks: list[int] = []
    now = [0.0]

    def full(subject: Any) -> dict[str, Any]:
        walks.append(1)
        return control.verify(subject)

    watch = ChainWatch(sh, full, full_every=300, clock=lambda: now[0])
    for n in range(5):
        sh.audit.append("test.note", {"n": n})
        assert watch.problem() is None
    assert len(walks) == 1, "one full walk; the rest checks only what was added"

    sh.audit.append("test.note", {"n": 99})
    _tamper(sh, 2)
    assert watch.problem() is None, "an edit deep in the log waits for the next full walk"
    now[0] += 301
    problem = watch.problem()
    assert problem and "record 2" in problem and len(walks) == 2
    now[0] += 10_000
    assert watch.problem() == problem, "a broken chain stays reported"


def test_the_watch_sees_the_newest_records_removed_without_a_full_walk(sh: Safehold) -> None:
    for n in range(4):
        sh.audit.append("test.note", {"n": n})
    watch = ChainWatch(sh, control.verify, full_every=10**9)
    assert watch.problem() is None
    newest = sh.audit.tail(1)[0].seq
    with sh.store.session() as s:
        s.execute(text("DELETE FROM audit_records WHERE seq = :s"), {"s": newest})
        s.commit()
    problem = watch.problem()
    assert problem and f"record {newest}" in problem and "removed" in problem
