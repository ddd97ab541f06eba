"""The dashboard an approver meets at 3 a.m., in a real chromium, on a desktop and a phone.

Each test runs at 1280×900 and at 390×844 against a real `safehold serve`. The run saves the
screenshots a person should look at (the pending list, a production card) to
`test-artifacts/screenshots/` in the checkout, or `$SAFEHOLD_SCREENSHOTS`; the run's summary
prints where.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    SAVED_SCREENSHOTS,
    LiveServer,
    ask_input,
    bearer,
    delay_input,
    review_screenshot_dir,
    write_config,
)

from safehold.config import parse_config_file
from safehold.server.accounts import Accounts
from safehold.service import Safehold

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
DATABASES = """
[environments.live]
hosts = ["db.prod.internal"]
databases = ["postgresql://db.prod.internal/shop"]
"""
NAV = ["Pending", "Delayed", "Audit", "Inventory", "Backups", "Users and tokens"]


class Served:
    """A running server with an approver (alice), an admin (ops) and an agent token."""

    def __init__(self, root: Path):
        self.config_path = write_config(root, DATABASES)
        self.db = root / "safehold.db"
        with Safehold.open(parse_config_file(self.config_path), notify_in_background=False) as sh:
            accounts = Accounts(sh.store)
            accounts.add_user("alice", PASSWORD, "approver")
            accounts.add_user("ops", PASSWORD, "admin")
            self.agent = accounts.create_token("laptop-agent", "agent").secret
            self.admin = accounts.create_token("ops-admin", "admin", "ops").secret
        self.server = LiveServer(self.config_path).start()
        self.base = self.server.base

    def file(self, kind: str, input: Any, **extra: Any) -> dict[str, Any]:
        body = {"kind": kind, "input": input, "agent": "claude-code", "session": "s-night",
                **extra}
        r = httpx.post(self.base + "/api/v1/decisions", json=body, headers=bearer(self.agent),
                       timeout=30)
        r.raise_for_status()
        return dict(r.json())

    def state(self, approval_id: str) -> str:
        r = httpx.get(f"{self.base}/api/v1/approvals/{approval_id}", headers=bearer(self.admin))
        return str(r.json()["state"])


def _served(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Served]:
    served = Served(tmp_path_factory.mktemp(name))
    try:
        yield served
    finally:
        served.server.stop()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from _served(tmp_path_factory, "dash")


@pytest.fixture
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A server of the test's own, for tests that count requests or break the chain."""
    yield from _served(tmp_path_factory, "dash-own")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(params=list(VIEWPORTS))
def device(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _context(browser: Any, device: str, **extra: Any) -> Any:
    phone = device == "phone"
    return browser.new_context(viewport=VIEWPORTS[device], is_mobile=phone, has_touch=phone,
                               **extra)


@pytest.fixture
def page(browser: Any, device: str) -> Iterator[Any]:
    context = _context(browser, device)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="session")
def review_shots() -> Path:
    return review_screenshot_dir()


def sign_in(page: Any, base: str, user: str, path: str = "/") -> None:
    page.goto(base + path)
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def shoot(target: Any, path: Path, **kw: Any) -> None:
    target.screenshot(path=str(path), **kw)
    SAVED_SCREENSHOTS.append(path)


def test_a_production_card_says_where_and_approving_it_takes_a_deliberate_act(
    served: Served, page: Any, device: str, review_shots: Path
) -> None:
    from playwright.sync_api import expect

    table = f"orders_{device}"
    filed = served.file("shell", f"psql -h db.prod.internal -d shop -c 'DROP TABLE {table}'",
                        cwd="/srv/shop", reason="the old orders table was migrated last week")
    assert filed["decision"] == "ask", filed
    ap = filed["approval"]["id"]
    sign_in(page, served.base, "alice", f"/approvals/{ap}")
    card = page.locator(f"#approval-{ap}")
    expect(card.locator(".card-head .env.prod")).to_have_text("PRODUCTION")
    where = card.locator("dd.where")
    expect(where).to_contain_text("working directory /srv/shop")
    expect(where.locator("li.where-target", has_text=f"table {table}")).to_contain_text(
        "inside database postgresql://db.prod.internal/shop")
    expect(where.locator("li.where-target").filter(has_not_text="table")).to_contain_text(
        "by the inventory's databases entry")
    expect(where).not_to_contain_text("unknown env")
    expect(card.locator("dd.claimed")).to_have_text("no environment")
    expect(card.locator("dd.judged")).to_contain_text("judged from a target resolved there")
    expect(card.locator(".blast")).to_contain_text("1 database, 1 table in live")
    snapshot = card.locator("dd.snapshot")  # only what is true: no store, so none can be taken
    expect(snapshot).to_have_attribute("data-state", "impossible")
    expect(snapshot).to_contain_text("cannot be taken; approving will not release this action")
    expect(snapshot).to_contain_text("no snapshot store is configured for environment live")
    shoot(card, review_shots / f"production-card-{device}.png")

    approve = card.get_by_role("button", name="Approve once in production")
    approve.click()
    page.wait_for_timeout(300)
    assert served.state(ap) == "pending", "no comment, no confirmation: nothing happens"
    card.locator("input[name=comment]").fill("table is empty since the migration; checked")
    approve.click()
    page.wait_for_timeout(300)
    assert served.state(ap) == "pending", "a comment without the confirmation is not enough"
    confirm = card.locator("label.confirm")
    expect(confirm).to_contain_text(f"table {table}")
    expect(confirm).to_contain_text("database postgresql://db.prod.internal/shop")
    expect(confirm).to_contain_text("live")
    confirm.locator("input[type=checkbox]").check()
    approve.click()
    expect(page.locator(f"#approval-{ap} .state")).to_have_text("approved")
    assert served.state(ap) == "approved"

    staging = served.file("http", ask_input(100 + len(device)))["approval"]["id"]
    page.goto(f"{served.base}/approvals/{staging}")
    staging_card = page.locator(f"#approval-{staging}")
    expect(staging_card.locator("input[name=confirm]")).to_have_count(0)
    staging_card.get_by_role("button", name="Approve once").click()
    expect(page.locator(f"#approval-{staging} .state")).to_have_text("approved")


def test_twenty_requests_make_a_short_list_most_dangerous_first(
    fresh: Served, page: Any, device: str, review_shots: Path
) -> None:
    from playwright.sync_api import expect

    ids = []
    for n in range(20):
        if n % 7 == 3:
            ids.append(fresh.file("http", ask_input(n, host="api.prod.example.com")))
        elif n % 5 == 0:
            ids.append(fresh.file("shell", f"git push --force origin feature-{n}"))
        else:
            ids.append(fresh.file("http", ask_input(n)))
    assert all(f["decision"] == "ask" for f in ids)
    sign_in(page, fresh.base, "alice")
    expect(page.locator("#pending-heading")).to_have_text("20 requests waiting for a decision")
    lines = page.locator("details.req")
    expect(lines).to_have_count(20)
    height = page.evaluate("document.documentElement.scrollHeight")
    limit = 2000 if device == "desktop" else 4000
    assert height < limit, f"the list of 20 is {height}px tall at {device}"
    shoot(page, review_shots / f"pending-list-{device}.png", full_page=True)

    danger = page.evaluate("""() => [...document.querySelectorAll('details.req > summary')].map(
        s => [s.querySelector('.env').classList.contains('prod'),
              s.querySelector('.effect').textContent.trim()])""")
    rank = {"read": 0, "write": 1, "destructive": 2, "irreversible": 3}
    keys = [(prod, rank[effect.lower()]) for prod, effect in danger]
    assert keys[0][0], "a production request comes first"
    assert keys == sorted(keys, reverse=True), keys
    first = lines.first.locator("summary")
    expect(first).to_contain_text("claude-code")
    expect(first).to_contain_text("ago")
    expect(first).to_contain_text("expires in")
    expect(first).to_contain_text("api.prod.example.com")

    card = lines.nth(5).locator("article")
    expect(card).to_be_hidden()
    lines.nth(5).locator("summary").click()
    expect(card).to_be_visible()
    expect(card.get_by_role("button", name="Deny")).to_be_visible()
    card.get_by_role("button", name="Deny").click()
    expect(lines.nth(5).locator("summary .state")).to_have_text("denied")
    expect(page.locator("#pending-heading")).to_have_text("19 requests waiting for a decision")


def test_the_list_and_its_forms_work_without_javascript(
    served: Served, browser: Any, device: str
) -> None:
    from playwright.sync_api import expect

    ap = served.file("http", ask_input(200 + len(device)))["approval"]["id"]
    context = _context(browser, device, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, served.base, "alice")
        line = page.locator(f"#req-{ap}")
        expect(line.locator("article")).to_be_hidden()
        line.locator("summary").click()
        expect(line.locator("article")).to_be_visible()
        line.get_by_role("button", name="Approve once").click()
        page.wait_for_load_state()
        assert served.state(ap) == "approved"
        expect(page.locator(f"#req-{ap}")).to_have_count(0)
    finally:
        context.close()


def test_a_right_to_left_override_cannot_disguise_the_branch(
    served: Served, page: Any, device: str
) -> None:
    from playwright.sync_api import expect

    cmd = f"git push --force origin \u202eniam-{device}"
    filed = served.file("shell", cmd, reason="re\u200bbase done")
    ap = filed["approval"]["id"]
    sign_in(page, served.base, "alice")
    line = page.locator(f"#req-{ap}")
    expect(line.locator("summary")).to_contain_text("hidden characters")
    expect(line.locator("summary code.line")).to_contain_text(f"⟦U+202E⟧niam-{device}")
    line.locator("summary").click()
    action = line.locator("pre.action")
    expect(action).to_have_text(f"git push --force origin ⟦U+202E⟧niam-{device}")
    warning = line.locator(".hidden-chars")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("RIGHT-TO-LEFT OVERRIDE")
    expect(warning).to_contain_text("ZERO WIDTH SPACE")
    assert "\u202e" not in page.content() and "\u200b" not in page.content()
    # what is drawn: the marker sits left of the letters, which run left to right
    boxes = page.evaluate("""(id) => {
        const pre = document.querySelector('#req-' + id + ' pre.action');
        const mark = pre.querySelector('mark.hidden-char');
        const range = document.createRange();
        const tail = mark.nextSibling;
        range.setStart(tail, 0); range.setEnd(tail, 1);
        const first = range.getBoundingClientRect().left;
        range.setStart(tail, 3); range.setEnd(tail, 4);
        return [mark.getBoundingClientRect().right, first, range.getBoundingClientRect().left];
    }""", ap)
    assert boxes[0] <= boxes[1] + 1 and boxes[1] < boxes[2], f"text reordered on screen: {boxes}"


def test_the_delayed_actions_page_shows_the_agents_reason(
    served: Served, page: Any, device: str
) -> None:
    from playwright.sync_api import expect

    held = served.file("http", delay_input(300 + len(device)),
                       reason="the nightly job hangs since 02:00")["delay"]["id"]
    sign_in(page, served.base, "alice", "/delays")
    card = page.locator(f"#delay-{held}")
    expect(card).to_contain_text("“the nightly job hangs since 02:00”")
    expect(card).not_to_contain_text("none given")


def test_an_admin_manages_users_and_tokens_and_no_one_else_can(
    served: Served, page: Any, browser: Any, device: str
) -> None:
    from playwright.sync_api import expect

    sign_in(page, served.base, "ops")
    page.get_by_role("link", name="Users and tokens").click()
    expect(page.locator("h1")).to_have_text("Users and tokens")
    form = page.locator("form.create-token")
    name = f"night-agent-{device}"
    form.locator("input[name=name]").fill(name)
    form.locator("select[name=role]").select_option("agent")
    form.get_by_role("button", name="Create token").click()
    secret = page.locator("#issued-token pre").inner_text().strip()
    assert secret.startswith("shk_")
    r = httpx.post(served.base + "/api/v1/decisions", json={"kind": "shell", "input": "ls"},
                   headers=bearer(secret))
    assert r.status_code == 200
    page.goto(served.base + "/users")
    expect(page.locator("#issued-token")).to_have_count(0)
    assert secret not in page.content()
    row = page.locator(f'tr[data-token="{name}"]')
    expect(row.locator("td.last-used")).to_contain_text("UTC")
    row.get_by_role("button", name="Revoke").click()
    expect(page.locator(f'tr[data-token="{name}"] td.state-cell')).to_have_text("revoked")
    r = httpx.post(served.base + "/api/v1/decisions", json={"kind": "shell", "input": "ls"},
                   headers=bearer(secret))
    assert r.status_code == 401

    other = _context(browser, device)
    try:
        approver = other.new_page()
        sign_in(approver, served.base, "alice")
        expect(approver.get_by_role("link", name="Users and tokens")).to_have_count(0)
        approver.goto(served.base + "/users")
        expect(approver.locator("h1")).to_have_text("Not allowed")
        expect(approver.locator("#issued-token, table.tokens")).to_have_count(0)
    finally:
        other.close()


def test_every_nav_link_is_visible_and_reachable(
    served: Served, page: Any, device: str
) -> None:
    from playwright.sync_api import expect

    width = VIEWPORTS[device]["width"]
    sign_in(page, served.base, "ops")
    for name in NAV:
        for target in NAV:
            link = page.locator("header.top nav").get_by_role("link", name=target)
            expect(link).to_be_visible()
            box = link.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, (name, target, box)
        page.locator("header.top nav").get_by_role("link", name=name).click()
        expect(page.locator("header.top nav a.active")).to_contain_text(name)
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"the {name} page scrolls sideways at {device}: {overflow}px"


def test_a_broken_audit_chain_shows_on_every_page(
    fresh: Served, page: Any, device: str
) -> None:
    from playwright.sync_api import expect

    fresh.file("http", ask_input(1))
    sign_in(page, fresh.base, "ops")
    expect(page.locator("#chain-banner")).to_have_count(0)
    with sqlite3.connect(fresh.db) as db:
        seq = db.execute("SELECT max(seq) FROM audit_records").fetchone()[0]
        db.execute("UPDATE audit_records SET decision = 'allow' WHERE seq = ?", (seq,))
    for name in NAV:
        page.goto(fresh.base + {"Pending": "/", "Delayed": "/delays", "Audit": "/audit",
                                "Inventory": "/inventory", "Backups": "/backups",
                                "Users and tokens": "/users"}[name])
        banner = page.locator("#chain-banner")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text(f"AUDIT CHAIN BROKEN: record {seq}")
        expect(banner).to_be_in_viewport()
