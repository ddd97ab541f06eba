"""Two real `safehold serve` processes on one real PostgreSQL, as behind a load balancer.

What one server guarantees must hold across both: an approval filed on one is decided on the
other and used once in all; a delay runs once even when the server that queued it is gone; the
audit log stays one chain under load on both, and killing one mid-load loses no answered
decision; failed sign-ins count the same on every server.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

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

pytestmark = pytest.mark.postgres


class Pair:
    """Servers A and B on one database, with an agent token and an approver's token."""

    def __init__(self, root: Path, url: str):
        self.config = write_config(root, database_url=url)
        with Safehold.open(parse_config_file(self.config), notify_in_background=False) as sh:
            accounts = Accounts(sh.store)
            accounts.add_user("pat", PASSWORD, "approver")
            self.agent = accounts.create_token("agent", "agent").secret
            self.approver = accounts.create_token("pat-token", "approver", "pat").secret
        self.a = LiveServer(self.config)
        self.b = LiveServer(self.config)

    def start(self) -> Pair:
        self.a.start()
        self.b.start()
        return self

    def stop(self) -> None:
        self.a.stop()
        self.b.stop()

    def open(self) -> Safehold:
        return Safehold.open(parse_config_file(self.config), notify_in_background=False)


@pytest.fixture
def pair(tmp_path: Path, pg_server: Any) -> Iterator[Pair]:
    servers = Pair(tmp_path, pg_server.create_database()).start()
    try:
        yield servers
    finally:
        servers.stop()


def _post(server: LiveServer, path: str, token: str) -> httpx.Response:
    return httpx.post(server.base + path, headers=bearer(token), timeout=30)


def test_an_approval_filed_on_one_server_is_decided_on_the_other_and_used_once(
    pair: Pair,
) -> None:
    asked = pair.a.decide(pair.agent, ask_input(1))
    assert asked["decision"] == "ask"
    approval = asked["approval"]["id"]
    seen = httpx.get(f"{pair.b.base}/api/v1/approvals/{approval}",
                     headers=bearer(pair.approver), timeout=30)
    assert seen.status_code == 200 and seen.json()["state"] == "pending"
    voted = _post(pair.b, f"/api/v1/approvals/{approval}/approve", pair.approver)
    assert voted.status_code == 200 and voted.json()["state"] == "approved"
    allowed = pair.a.decide(pair.agent, ask_input(1))
    assert allowed["decision"] == "allow"
    assert allowed["approval"]["id"] == approval
    again = [pair.a.decide(pair.agent, ask_input(1)), pair.b.decide(pair.agent, ask_input(1))]
    assert [d["decision"] for d in again] == ["ask", "ask"], "an approval is used once"
    assert all(d["approval"]["id"] != approval for d in again)


def test_twenty_concurrent_retries_over_both_servers_are_allowed_exactly_once(
    pair: Pair,
) -> None:
    approval = pair.b.decide(pair.agent, ask_input(7))["approval"]["id"]
    assert _post(pair.a, f"/api/v1/approvals/{approval}/approve",
                 pair.approver).json()["state"] == "approved"
    start = threading.Barrier(20)

    def retry(n: int) -> str:
        server = pair.a if n % 2 else pair.b
        start.wait()
        return str(server.decide(pair.agent, ask_input(7), request_approval=False)["decision"])

    with ThreadPoolExecutor(20) as pool:
        verdicts = list(pool.map(retry, range(20)))
    assert verdicts.count("allow") == 1, verdicts
    assert verdicts.count("ask") == 19
    with pair.open() as sh:
        assert [e.data["approval"] for e in sh.audit.tail(50, type="approval.used")] == [approval]
        allowed = [e for e in sh.audit.tail(100, type="decision") if e.decision == "allow"]
        assert len(allowed) == 1


def test_a_delay_due_while_its_server_is_down_is_released_once_by_the_other(
    pair: Pair,
) -> None:
    queued = pair.a.decide(pair.agent, delay_input(3))
    assert queued["decision"] == "delay"
    delay = queued["delay"]["id"]
    pair.a.kill()
    # the grace period ends while A is down
    ran = _post(pair.b, f"/api/v1/delays/{delay}/run-now", pair.approver)
    assert ran.status_code == 200, ran.text
    released = pair.b.decide(pair.agent, delay_input(3))
    assert released["decision"] == "allow"
    assert released["delay"]["id"] == delay
    pair.a.start()
    after = [pair.a.decide(pair.agent, delay_input(3)), pair.b.decide(pair.agent, delay_input(3))]
    assert [d["decision"] for d in after] == ["delay", "delay"], "a delay is released once"
    assert all(d["delay"]["id"] != delay for d in after)
    with pair.open() as sh:
        assert [e.data["delay"] for e in sh.audit.tail(50, type="delay.released")] == [delay]


def _load(pair: Pair, clients: int, each: int, *, midway: Any = None) -> list[str]:
    """`each` decisions from each of `clients` threads, alternating between the servers; the
    tool-use ids of those answered. `midway` runs once half of them were answered."""
    answered: list[str] = []
    lock = threading.Lock()
    half = threading.Event()

    def client(n: int) -> None:
        with httpx.Client(timeout=60) as http:
            for i in range(each):
                server = pair.a if (n + i) % 2 else pair.b
                tid = f"c{n}-{i}"
                body = {"kind": "shell", "input": f"ls -la /tmp/dir{n}/{i}",
                        "session": f"load-{n}", "tool_use_id": tid}
                try:
                    r = http.post(server.base + "/api/v1/decisions", json=body,
                                  headers=bearer(pair.agent))
                except httpx.HTTPError:
                    continue  # the killed server: nothing was answered
                if r.status_code == 200:
                    assert r.json()["decision"] == "allow"
                    with lock:
                        answered.append(tid)
                        if len(answered) >= clients * each // 2:
                            half.set()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    if midway is not None:
        half.wait(timeout=600)
        midway()
    for t in threads:
        t.join()
    return answered


def _verify(config: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("safehold")
    return subprocess.run([str(exe), "audit", "verify", "--config", str(config)],
                          capture_output=True, text=True, timeout=120)


def test_the_audit_chain_verifies_after_interleaved_load_on_both_servers(pair: Pair) -> None:
    answered = _load(pair, clients=8, each=15)
    assert len(answered) == 8 * 15
    with pair.open() as sh:
        recorded = {e.tool_use_id for e in sh.audit.entries() if e.type == "decision"}
    assert set(answered) <= recorded
    pair.stop()  # each signs a shutdown checkpoint into the shared checkpoint file
    result = _verify(pair.config)
    assert result.returncode == 0, result.stdout + result.stderr


def test_killing_one_server_mid_load_loses_no_answered_decision(pair: Pair) -> None:
    answered = _load(pair, clients=8, each=30, midway=pair.a.kill)
    assert pair.a.proc is not None and pair.a.proc.returncode == -9
    assert len(answered) >= 8 * 30 // 2
    with pair.open() as sh:
        recorded = {e.tool_use_id for e in sh.audit.entries() if e.type == "decision"}
    missing = set(answered) - recorded
    assert not missing, f"{len(missing)} answered decisions have no audit record"
    pair.b.stop()
    result = _verify(pair.config)
    assert result.returncode == 0, result.stdout + result.stderr


def _failed_sign_in(server: LiveServer, username: str) -> httpx.Response:
    with httpx.Client(base_url=server.base, timeout=30) as browser:
        csrf = csrf_of(browser.get("/login").text)
        return browser.post("/login", data={"username": username, "password": "wrong guess!",
                                             "csrf_token": csrf})


def test_failed_sign_ins_count_on_every_server(pair: Pair) -> None:
    statuses = [_failed_sign_in(pair.a if n % 2 else pair.b, "pat").status_code
                for n in range(5)]
    assert statuses == [401] * 5
    assert _failed_sign_in(pair.a, "pat").status_code == 429
    assert _failed_sign_in(pair.b, "pat").status_code == 429, (
        "guesses spread over two servers must be throttled as if sent to one"
    )


def test_a_burst_of_guesses_over_both_servers_gets_no_more_tries_than_the_limit(
    pair: Pair,
) -> None:
    start = threading.Barrier(12)

    def guess(n: int) -> int:
        start.wait()
        return _failed_sign_in(pair.a if n % 2 else pair.b, "pat").status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(guess, range(12)))
    assert statuses.count(401) == 5, statuses
    assert statuses.count(429) == 7


def test_a_session_signed_in_on_one_server_works_and_ends_on_the_other(pair: Pair) -> None:
    with httpx.Client(base_url=pair.a.base, timeout=30) as on_a:
        csrf = csrf_of(on_a.get("/login").text)
        r = on_a.post("/login", data={"username": "pat", "password": PASSWORD,
                                      "csrf_token": csrf})
        assert r.status_code == 303
        assert "Sign out" in on_a.get("/").text
        cookies = dict(on_a.cookies)
    with httpx.Client(base_url=pair.b.base, timeout=30, cookies=cookies) as on_b:
        page = on_b.get("/", follow_redirects=False)
        assert page.status_code == 200, "the session signed in on A is known on B"
        out = on_b.post("/logout", data={"csrf_token": csrf_of(page.text)},
                        follow_redirects=False)
        assert out.status_code == 303
    with httpx.Client(base_url=pair.a.base, timeout=30, cookies=cookies) as back_on_a:
        assert back_on_a.get("/", follow_redirects=False).status_code == 303, (
            "signing out on B ends the session on A"
        )
