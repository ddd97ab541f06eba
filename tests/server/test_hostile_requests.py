"""Requests built to hurt the server: text that cannot be stored, bodies that never end, and
headers that lie about where they come from. Each gets a clean refusal and an audit record."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from server_helpers import PASSWORD, LiveServer, bearer, csrf_of, write_config

from safehold.config import parse_config_file
from safehold.server.accounts import Accounts
from safehold.service import Safehold

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    "body",
    [
        '{"kind":"shell","input":"\\ud800"}',
        '{"kind":"shell","input":"ls","reason":"\\udfff"}',
        '{"kind":"mcp","input":{"server":"s","tool":"t","arguments":{"\\ud800":1}}}',
        '{"kind":"http","input":{"method":"GET","url":"https://x/","body":["\\ud800"]}}',
        '{"kind":"sql","input":"\\u0000 DROP TABLE users"}',
        '{"kind":"shell","input":"ls","cwd":"/tmp\\u0000"}',
        "[" * 5000 + "]" * 5000,
        '{"kind":"shell","input":' + '{"a":' * 2000 + "1" + "}" * 2000 + "}",
        "not json at all",
    ],
)
def test_unstorable_or_malformed_input_is_a_clean_4xx_with_an_audit_record(
    client: TestClient, tokens: dict[str, str], sh: Safehold, body: str
) -> None:
    before = sh.audit.tail(1)[-1].seq if sh.audit.tail(1) else 0
    r = client.post("/api/v1/decisions", content=body.encode("utf-8"),
                    headers={**bearer(tokens["agent"]), **JSON})
    assert r.status_code in (400, 422), r.text
    assert "Traceback" not in r.text
    rejected = sh.audit.tail(5, type="request.rejected", since_seq=before)
    assert rejected and rejected[-1].data["status"] == r.status_code
    assert rejected[-1].data["path"] == "/api/v1/decisions"
    assert sh.audit.verify().ok


def test_a_lone_surrogate_in_a_vote_comment_is_refused(
    client: TestClient, tokens: dict[str, str]
) -> None:
    r = client.post("/api/v1/approvals/ap_0/approve", content=b'{"comment":"\\ud800"}',
                    headers={**bearer(tokens["approver"]), **JSON})
    assert r.status_code == 422


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(write_config(tmp_path)).start()
    try:
        yield server
    finally:
        server.stop()


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _stream(total: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    block = b"x" * chunk
    for _ in range(total // chunk):
        yield block


@pytest.mark.parametrize(
    "path, kind",
    [("/api/v1/decisions", "application/json"), ("/login", "application/x-www-form-urlencoded")],
)
def test_an_endless_chunked_body_without_a_token_is_cut_off_early(
    live: LiveServer, path: str, kind: str
) -> None:
    """No Content-Length, no token, 96 MiB on the way: the server must stop reading at its
    limit, not hold the body in memory until authentication fails."""
    assert live.proc is not None
    pid = live.proc.pid
    before = _rss_kib(pid)
    try:
        r = httpx.post(live.base + path, content=_stream(96 * 1024 * 1024),
                       headers={"content-type": kind}, timeout=60)
        status: int | None = r.status_code
    except httpx.HTTPError:
        status = None  # the server answered and closed while the client was still sending
    grown = _rss_kib(pid) - before
    assert status in (413, None), status
    assert grown < 24 * 1024, f"server grew by {grown} KiB reading a body it should refuse"
    assert httpx.get(live.base + "/healthz", timeout=5).status_code == 200


def _failed_sign_in(base: str, username: str, forwarded: str) -> httpx.Response:
    with httpx.Client(base_url=base) as browser:
        csrf = csrf_of(browser.get("/login").text)
        return browser.post("/login", data={"username": username, "password": "wrong guess!",
                                             "csrf_token": csrf},
                            headers={"X-Forwarded-For": forwarded})


def _audit_addresses(config: Path) -> list[str]:
    with Safehold.open(parse_config_file(config), notify_in_background=False) as sh:
        return [e.data["address"] for e in sh.audit.tail(100, type="user.sign_in_failed")]


def test_x_forwarded_for_from_an_untrusted_peer_neither_spoofs_the_audit_nor_the_throttle(
    live: LiveServer,
) -> None:
    assert live.config_path is not None
    statuses = [
        _failed_sign_in(live.base, f"user{i}", f"203.0.113.{i}").status_code for i in range(21)
    ]
    assert statuses[:20] == [401] * 20
    assert statuses[20] == 429, "rotating X-Forwarded-For must not escape the address throttle"
    assert set(_audit_addresses(live.config_path)) == {"127.0.0.1"}


def test_x_forwarded_for_is_believed_from_a_configured_proxy(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    text = config.read_text().replace(
        'base_url = "http://127.0.0.1:8474"',
        'base_url = "http://127.0.0.1:8474"\ntrusted_proxies = ["127.0.0.0/8"]',
    )
    config.write_text(text)
    with Safehold.open(parse_config_file(config), notify_in_background=False) as sh:
        Accounts(sh.store).add_user("alice", PASSWORD, "approver")
    server = LiveServer(config).start()
    try:
        assert _failed_sign_in(server.base, "alice", "198.51.100.9").status_code == 401
    finally:
        server.stop()
    assert _audit_addresses(config) == ["198.51.100.9"]
