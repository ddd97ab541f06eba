"""A real chromium drives the dashboard of a real `safehold serve` subprocess.

Screenshots of each step land in the test's temp dir, or in `$SAFEHOLD_SCREENSHOTS` when set,
so a person can look at what the approver saw.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from server_helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    LiveServer,
    ask_input,
    bearer,
    delay_input,
    write_config,
)

from safehold.config import parse_config_file
from safehold.server.accounts import Accounts
from safehold.service import Safehold

pytestmark = pytest.mark.browser


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    config_path = write_config(tmp_path)
    with Safehold.open(parse_config_file(config_path), notify_in_background=False) as sh:
        accounts = Accounts(sh.store)
        accounts.add_user("alice", PASSWORD, "approver")
        accounts.add_user("ops", PASSWORD, "admin")
        tokens = {
            "agent": accounts.create_token("laptop-agent", "agent").secret,
            "admin": accounts.create_token("ops-admin", "admin", "ops").secret,
        }
    server = LiveServer(config_path).start()
    try:
        yield server, tokens
    finally:
        server.stop()


@pytest.fixture
def page(tmp_path: Path) -> Iterator[object]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            yield context.new_page()
        finally:
            browser.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    target = Path(os.environ.get("SAFEHOLD_SCREENSHOTS") or tmp_path / "screenshots")
    target.mkdir(parents=True, exist_ok=True)
    return target


def test_approve_and_deny_through_the_real_page(
    live: tuple[LiveServer, dict[str, str]], page: object, shots: Path
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    server, tokens = live
    prod = server.decide(
        tokens["agent"],
        ask_input(1, host="api.prod.example.com"),
        reason="the cache holds the stale credential",
    )["approval"]["id"]
    staging = server.decide(tokens["agent"], ask_input(2))["approval"]["id"]
    server.decide(tokens["agent"], delay_input(1))

    page.goto(server.base + "/")
    expect(page).to_have_url(f"{server.base}/login?next=/")
    page.screenshot(path=str(shots / "01-login.png"))
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")

    expect(page.locator("h1")).to_have_text("2 requests waiting for a decision")
    prod_card = page.locator(f"#approval-{prod}")
    expect(prod_card).to_contain_text("DELETE https://api.prod.example.com/v1/caches/1")
    expect(prod_card).to_contain_text("PRODUCTION")
    expect(prod_card).to_contain_text("the cache holds the stale credential")
    snapshot = prod_card.locator("dd.snapshot")
    expect(snapshot).to_have_attribute("data-state", "impossible")
    expect(snapshot).to_contain_text("cannot be taken; approving will not release this action")
    expect(snapshot).to_contain_text("no snapshot driver covers a url")
    expect(prod_card).not_to_contain_text("taken before it runs")
    expect(prod_card.locator(".clock")).to_have_text(
        re.compile(r"^(59|[1-5]?\d):\d\d$")
    )
    cards = page.locator("article[data-approval]")
    expect(cards.first).to_have_attribute("id", f"approval-{prod}")
    page.screenshot(path=str(shots / "02-pending.png"), full_page=True)

    page.locator(f"#req-{prod} summary").click()
    prod_card.locator("input[name=comment]").fill("cache only; checked with the team")
    prod_card.locator("label.confirm input").check()
    prod_card.get_by_role("button", name="Approve once").click()
    approved = page.locator(f"#approval-{prod}")
    expect(approved.locator(".state")).to_have_text("approved")
    expect(approved).to_contain_text("Approved, but it will not be released")
    expect(approved).not_to_contain_text("the agent may run exactly this action once")
    expect(approved).to_contain_text("cache only; checked with the team")

    staging_card = page.locator(f"#approval-{staging}")
    page.locator(f"#req-{staging} summary").click()
    staging_card.locator("input[name=comment]").fill("use the runbook instead")
    staging_card.get_by_role("button", name="Deny").click()
    denied = page.locator(f"#approval-{staging}")
    expect(denied.locator(".state")).to_have_text("denied")
    expect(denied).to_contain_text("use the runbook instead")
    expect(page.locator("#pending-heading")).to_have_text("Nothing waiting for a decision")
    expect(page.locator("#pending-count")).to_have_text("0")
    page.screenshot(path=str(shots / "03-decided.png"), full_page=True)

    refused = server.decide(tokens["agent"], ask_input(1, host="api.prod.example.com"))
    assert refused["decision"] == "deny", "approved, but no snapshot can be taken first"
    assert "not released" in " ".join(refused["reasons"])
    assert server.decide(tokens["agent"], ask_input(2))["decision"] == "ask"

    page.get_by_role("link", name="Audit").click()
    expect(page.locator("#verify")).to_contain_text("Chain verified")
    timeline = page.locator("table.audit")
    for event in ("approval.requested", "approval.approved", "approval.denied", "approval.used",
                  "snapshot.refused", "user.sign_in"):
        expect(timeline).to_contain_text(event)
    expect(timeline).to_contain_text("use the runbook instead")
    page.screenshot(path=str(shots / "04-audit.png"), full_page=True)

    page.select_option("select[name=decision]", "deny")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"decision=deny"))
    rows = page.locator("table.audit tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("DELETE https://api.prod.example.com/v1/caches/1")


def test_delay_countdown_ticks_and_cancel_works(
    live: tuple[LiveServer, dict[str, str]], page: object, shots: Path
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    server, tokens = live
    held = server.decide(tokens["agent"], delay_input(9))["delay"]["id"]
    page.goto(server.base + "/delays")
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    card = page.locator(f"#delay-{held}")
    clock = card.locator(".clock")
    first = clock.inner_text()
    page.wait_for_timeout(2200)
    assert clock.inner_text() != first, "the countdown must move"
    page.screenshot(path=str(shots / "05-delays.png"), full_page=True)
    card.get_by_role("button", name="Cancel it").click()
    expect(page.locator(f"#delay-{held} .state")).to_have_text("cancelled")
    r = httpx.get(server.base + "/api/v1/delays", headers=bearer(tokens["admin"]))
    assert r.json()["delays"][0]["state"] == "cancelled"
    assert server.decide(tokens["agent"], delay_input(9))["decision"] == "delay"


def test_api_docs_render_from_vendored_assets(
    live: tuple[LiveServer, dict[str, str]], page: object, shots: Path
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    server, _ = live
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(server.base) else outside.append(r.url))
    page.goto(server.base + "/docs")
    expect(page.get_by_text("/api/v1/decisions").first).to_be_visible()
    page.screenshot(path=str(shots / "06-docs.png"))
    assert outside == [], f"the docs page reached outside the server: {outside}"


def test_pages_run_under_a_strict_policy_and_announce_new_requests(
    live: tuple[LiveServer, dict[str, str]], page: object
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    server, tokens = live
    hostile = {"method": "DELETE",
               "url": "https://api.staging.example.com/v1/x/<script>alert(1)</script>"}
    ap = server.decide(tokens["agent"], hostile, reason="<img src=x onerror=alert(2)>")
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))
    page.goto(server.base + "/")
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    card = page.locator(f"#approval-{ap['approval']['id']}")
    expect(card).to_contain_text("<img src=x onerror=alert(2)>")
    server.decide(tokens["agent"], ask_input(77))
    notice = page.locator("#pending-notice")
    expect(notice).to_contain_text("1 new request waiting", timeout=12_000)
    notice.get_by_role("link").click()
    expect(page.locator("#pending-heading")).to_have_text("2 requests waiting for a decision")
    assert problems == []


def test_snapshot_line_says_what_will_be_captured_then_what_was(
    tmp_path: Path, page: object, shots: Path
) -> None:
    """Before approval the card names the driver, the database and the store; once the agent's
    retry is released, it names the snapshot that exists and verified."""
    import sqlite3
    import tempfile

    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    prod = tmp_path / "prod"
    prod.mkdir()
    db = prod / "app.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
        c.executemany("INSERT INTO orders VALUES (?)", [(i,) for i in range(40)])
    offsite = Path(tempfile.mkdtemp(prefix="safehold-offsite-", dir="/dev/shm"))
    config_path = write_config(tmp_path, f"""
[environments.live]
databases = ["sqlite:///{db}"]
paths = ["{prod}"]

[snapshots.stores.offsite]
kind = "directory"
path = "{offsite}"
""")
    with Safehold.open(parse_config_file(config_path), notify_in_background=False) as sh:
        accounts = Accounts(sh.store)
        accounts.add_user("alice", PASSWORD, "approver")
        agent = accounts.create_token("laptop-agent", "agent").secret
    server = LiveServer(config_path).start()
    try:
        body = {"kind": "shell", "input": f"sqlite3 {db} 'DROP TABLE orders'",
                "cwd": str(tmp_path), "session": "s-live"}

        def ask() -> dict[str, object]:
            r = httpx.post(server.base + "/api/v1/decisions", json=body, headers=bearer(agent),
                           timeout=60)
            r.raise_for_status()
            return dict(r.json())

        filed = ask()
        assert filed["decision"] == "ask"
        ap = filed["approval"]["id"]  # type: ignore[index]
        page.goto(server.base + f"/approvals/{ap}")
        page.fill("#username", "alice")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        card = page.locator(f"#approval-{ap}")
        line = card.locator("dd.snapshot")
        expect(line).to_have_attribute("data-state", "planned")
        expect(line).to_contain_text("before the action is released safehold captures")
        expect(line).to_contain_text(f"the SQLite database {db} (SQLite online backup)")
        expect(line).to_contain_text("store offsite")
        expect(line).not_to_contain_text("snap_")
        page.screenshot(path=str(shots / "07-snapshot-planned.png"), full_page=True)
        card.locator("input[name=comment]").fill("orders is rebuilt nightly")
        card.locator("label.confirm input").check()
        card.get_by_role("button", name="Approve once").click()
        expect(page.locator(f"#approval-{ap} .state")).to_have_text("approved")
        expect(page.locator(f"#approval-{ap}")).to_contain_text(
            "after safehold has taken the snapshot above")

        released = ask()
        assert released["decision"] == "allow", released["reasons"]
        (snap,) = released["snapshots"]  # type: ignore[misc]
        page.reload()
        line = page.locator(f"#approval-{ap} dd.snapshot")
        expect(line).to_have_attribute("data-state", "taken")
        expect(line).to_contain_text("taken and verified")
        expect(line).to_contain_text(snap["id"])
        expect(line).to_contain_text(f"store offsite ({offsite})")
        assert (offsite / snap["id"] / "manifest.json").is_file()
        page.screenshot(path=str(shots / "08-snapshot-taken.png"), full_page=True)
        page.get_by_role("link", name="Backups").click()
        row = page.locator(f'tr[data-resource="sqlite:///{db}"]')
        expect(row.locator("td.newest")).to_contain_text(snap["id"])
        expect(row.locator("td.age")).to_have_text(re.compile(r"^\d+s$"))
        expect(row.locator("td.drill")).to_contain_text("never drilled")
        page.screenshot(path=str(shots / "09-backups.png"), full_page=True)
    finally:
        server.stop()
        import shutil

        shutil.rmtree(offsite, ignore_errors=True)
