"""What a card states must be true and whole: where an action lands, what its text really is,
who gave which reason, and that approving production takes a deliberate act the server checks.

These drive the real app in-process (the browser tests in test_browser_dashboard.py look at the
same pages in chromium); each attacks the dashboard as an agent or a hurried approver would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from server_helpers import (
    PASSWORD,
    ask_input,
    bearer,
    delay_input,
    production_approval,
    sign_in,
    write_config,
)

from safehold.config import parse_config_file
from safehold.server.accounts import Accounts
from safehold.server.app import create_app
from safehold.service import Safehold

DATABASES = """
[environments.live]
hosts = ["db.prod.internal"]
databases = ["postgresql://db.prod.internal/shop"]
"""


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[tuple[TestClient, Safehold, str]]:
    config = parse_config_file(write_config(tmp_path, DATABASES))
    with Safehold.open(config, notify_in_background=False) as sh:
        accounts = Accounts(sh.store)
        accounts.add_user("alice", PASSWORD, "approver")
        agent = accounts.create_token("agent", "agent").secret
        with TestClient(create_app(sh, config.server, tick_seconds=0),
                        base_url="http://127.0.0.1:8474") as client:
            yield client, sh, agent


def file(client: TestClient, token: str, kind: str, input: Any, **extra: Any) -> dict[str, Any]:
    body = {"kind": kind, "input": input, "session": "s-1", "agent": "claude-code", **extra}
    r = client.post("/api/v1/decisions", json=body, headers=bearer(token))
    assert r.status_code == 200, r.text
    return dict(r.json())


def card(page: str, approval_id: str) -> str:
    """The text of one card, tags stripped, whitespace collapsed."""
    start = page.index(f'id="approval-{approval_id}"')
    body = page[start:page.index("</article>", start)]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_a_claimed_production_card_says_the_claim_is_all_it_rests_on(
    app_client: tuple[TestClient, Safehold, str],
) -> None:
    """`psql -c 'DROP TABLE orders'` from a session that claims production: nothing places
    the table, so the card must not say PRODUCTION and 'environment unknown' as if both were
    facts about the table; it says the session claims production and the table is unplaced."""
    client, _sh, agent = app_client
    filed = file(client, agent, "shell", "psql -c 'DROP TABLE orders'", environment="production",
                 cwd="/srv/shop")
    ap = filed["approval"]["id"]
    sign_in(client, "alice")
    text = card(client.get(f"/approvals/{ap}").text, ap)
    assert "PRODUCTION (claimed by the session)" in text
    assert "environment unknown" not in text
    assert "1 table in no inventory environment" in text
    assert "working directory /srv/shop" in text
    assert "table orders unknown env — not in the inventory" in text
    assert "Session claims production" in text
    assert "judged from only the session's claim" in text


def test_a_table_lives_where_the_database_it_runs_against_lives(
    app_client: tuple[TestClient, Safehold, str],
) -> None:
    client, _sh, agent = app_client
    cmd = "psql -h db.prod.internal -d shop -c 'DROP TABLE orders'"
    filed = file(client, agent, "shell", cmd, cwd="/home/dev/app")
    assert filed["decision"] == "ask", filed
    ap = filed["approval"]["id"]
    sign_in(client, "alice")
    text = card(client.get(f"/approvals/{ap}").text, ap)
    assert "PRODUCTION " in text and "claimed by the session" not in text
    assert ("table orders live — inside database postgresql://db.prod.internal/shop, which "
            "this operation runs against") in text
    assert ("database postgresql://db.prod.internal/shop live — by the inventory's databases "
            "entry") in text
    assert "1 database, 1 table in live" in text
    assert "no inventory environment" not in text
    assert "Session claims no environment" in text
    assert "working directory /home/dev/app" in text
    assert "judged from a target resolved there" in text


def test_approving_production_is_refused_without_comment_and_confirmation(
    app_client: tuple[TestClient, Safehold, str],
) -> None:
    """The browser's `required` is a courtesy; the server decides. A bare POST, a comment
    alone, a confirmation copied from another production request, or one naming the wrong
    environment approves nothing."""
    client, sh, agent = app_client
    ap = file(client, agent, "http", ask_input(1, host="api.prod.example.com"))["approval"]["id"]
    other = file(client, agent, "http", ask_input(2, host="api.prod.example.com")
                 )["approval"]["id"]
    csrf = sign_in(client, "alice")
    good = production_approval(client.get(f"/approvals/{ap}").text, csrf)
    assert good["confirm"] == "production: url https://api.prod.example.com/v1/caches/1"
    copied = production_approval(client.get(f"/approvals/{other}").text, csrf)
    attempts = [
        {"verdict": "approve", "csrf_token": csrf},
        {"verdict": "approve", "comment": "looks fine", "csrf_token": csrf},
        {**good, "comment": ""},
        {**good, "confirm": copied["confirm"]},
        {**good, "confirm": good["confirm"].replace("production", "staging")},
    ]
    for data in attempts:
        r = client.post(f"/approvals/{ap}/decide", data=data, follow_redirects=False)
        assert r.status_code == 422, data
        assert "nothing was approved" in r.text
        assert sh.approvals.get(ap).state == "pending"
    htmx = client.post(f"/approvals/{ap}/decide", data={"verdict": "approve"},
                       headers={"HX-Request": "true", "X-CSRF-Token": csrf})
    assert htmx.status_code == 200 and "nothing was approved" in htmx.text
    assert sh.approvals.get(ap).state == "pending"
    denied = client.post(f"/approvals/{other}/decide", data={"verdict": "deny", "csrf_token": csrf},
                         follow_redirects=False)
    assert denied.status_code == 303, "denying production stays one click"
    r = client.post(f"/approvals/{ap}/decide", data=good, follow_redirects=False)
    assert r.status_code == 303
    assert sh.approvals.get(ap).state == "approved"
    assert sh.approvals.get(ap).votes[0].comment == "checked with the team"


def test_approving_outside_production_stays_one_click(
    app_client: tuple[TestClient, Safehold, str],
) -> None:
    client, sh, agent = app_client
    ap = file(client, agent, "http", ask_input(3))["approval"]["id"]
    csrf = sign_in(client, "alice")
    page = client.get(f"/approvals/{ap}").text
    assert 'name="confirm"' not in page
    r = client.post(f"/approvals/{ap}/decide", data={"verdict": "approve", "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    assert sh.approvals.get(ap).state == "approved"


@pytest.mark.parametrize(
    "kind, input, hidden",
    [
        ("shell", "git push --force origin \u202emain", "\u202e"),
        ("shell", "git push --force origin ma\u200bin", "\u200b"),
        ("http", {"method": "DELETE", "url": "https://\u0430pi.staging.example.com/v1/x"},
         "\u0430"),
        ("shell", "git push --force origin \uff4d\uff41in", "\uff4d"),
    ],
)
def test_invisible_and_look_alike_characters_are_shown_escaped_with_a_warning(
    app_client: tuple[TestClient, Safehold, str], kind: str, input: Any, hidden: str
) -> None:
    client, _sh, agent = app_client
    filed = file(client, agent, kind, input, reason="fix the re\u200dlease")
    assert filed["decision"] == "ask", filed
    ap = filed["approval"]["id"]
    sign_in(client, "alice")
    for path in (f"/approvals/{ap}", "/"):
        page = client.get(path).text
        assert hidden not in page, f"{path} shows the raw {ord(hidden):04X}"
        assert "\u200d" not in page
        assert f"⟦U+{ord(hidden):04X}⟧" in page
        assert "Invisible or look-alike characters" in page
    assert "ZERO WIDTH JOINER" in client.get(f"/approvals/{ap}").text


def test_a_reason_in_another_script_is_not_flagged_but_a_mixed_word_is(
    app_client: tuple[TestClient, Safehold, str],
) -> None:
    client, _sh, agent = app_client
    ap = file(client, agent, "http", ask_input(8), reason="кэш устарел")["approval"]["id"]
    mixed = file(client, agent, "http", ask_input(9), reason="approved by p\u0430ypal team"
                 )["approval"]["id"]
    sign_in(client, "alice")
    assert "Invisible or look-alike" not in client.get(f"/approvals/{ap}").text
    assert "кэш устарел" in client.get(f"/approvals/{ap}").text
    page = client.get(f"/approvals/{mixed}").text
    assert "p⟦U+0430⟧ypal" in re.sub(r"<[^>]+>", "", page)
    assert "CYRILLIC SMALL LETTER A" in page


def test_the_delayed_actions_page_shows_the_reason_the_agent_sent(
    app_client: tuple[TestClient, Safehold, str],
) -> None:
    client, _sh, agent = app_client
    held = file(client, agent, "http", delay_input(4),
                reason="the nightly job is stuck since 02:00")["delay"]["id"]
    quiet = file(client, agent, "http", delay_input(5))["delay"]["id"]
    sign_in(client, "alice")
    for path in ("/delays", "/"):
        page = client.get(path).text
        one = page[page.index(f'id="delay-{held}"'):]
        one = one[:one.index("</article>")]
        assert "the nightly job is stuck since 02:00" in one, path
        assert "none given" not in one
        other = page[page.index(f'id="delay-{quiet}"'):]
        assert "none given" in other[:other.index("</article>")]
