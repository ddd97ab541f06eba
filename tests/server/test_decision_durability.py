"""The decision API under load: no answer before its audit record is durable, and a cached
token revoked by another process gets no answer from its next request.

The agent is the adversary here in two ways: it keeps a token an operator has just revoked
(`safehold tokens revoke` from another process, while the server holds the token verified in
memory), and it hammers the server with concurrent decisions while the server dies by `kill -9`
— every decision it was answered must be in the audit log, and the chain must verify.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_helpers import LiveServer, bearer, write_config

from safehold.audit.log import AuditLog
from safehold.config import parse_config_file
from safehold.server.accounts import Accounts
from safehold.store import open_store

SAFEHOLD = str(Path(sys.executable).with_name("safehold"))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SAFEHOLD, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def served(tmp_path: Path) -> Any:
    config_path = write_config(tmp_path)
    store = open_store(parse_config_file(config_path).database_url)
    accounts = Accounts(store)
    accounts.add_user("alice", "correct horse battery staple", "approver")
    secrets = {
        "agent": accounts.create_token("laptop-agent", "agent").secret,
        "approver": accounts.create_token("pager", "approver", "alice").secret,
    }
    store.close()
    server = LiveServer(config_path).start()
    try:
        yield server, config_path, secrets
    finally:
        server.stop()


def _decide(server: LiveServer, secret: str, tool_use_id: str) -> httpx.Response:
    body = {"kind": "shell", "input": "ls -la", "agent": "claude-code", "session": "s-1",
            "tool_use_id": tool_use_id}
    return httpx.post(server.base + "/api/v1/decisions", json=body, headers=bearer(secret),
                      timeout=30)


def _records(config_path: Path) -> list[Any]:
    store = open_store(parse_config_file(config_path).database_url)
    try:
        return list(AuditLog(store).entries())
    finally:
        store.close()


def test_a_token_revoked_by_another_process_gets_no_answer_from_its_next_request(
    served: Any,
) -> None:
    server, config_path, secrets = served
    for n in range(3):  # verified once, then served from the server's memory
        assert _decide(server, secrets["agent"], f"before-{n}").status_code == 200
    revoked = _cli("tokens", "revoke", "laptop-agent", "--config", str(config_path))
    assert revoked.returncode == 0, revoked.stderr

    r = _decide(server, secrets["agent"], "after-revoke")
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert _decide(server, secrets["agent"], "again").status_code == 401
    records = _records(config_path)
    answered = [e for e in records if e.type == "decision"]
    assert [e.tool_use_id for e in answered] == ["before-0", "before-1", "before-2"]
    refusal = next(e for e in records if e.tool_use_id == "after-revoke")
    assert refusal.type == "request.rejected" and refusal.data["status"] == 401
    assert refusal.actor == "token/laptop-agent" and refusal.decision is None


def test_disabling_the_owner_of_a_cached_token_stops_it_at_once(served: Any) -> None:
    server, config_path, secrets = served
    assert _decide(server, secrets["approver"], "as-alice").status_code == 200
    disabled = _cli("users", "disable", "alice", "--config", str(config_path))
    assert disabled.returncode == 0, disabled.stderr
    assert _decide(server, secrets["approver"], "alice-disabled").status_code == 401
    enabled = _cli("users", "enable", "alice", "--config", str(config_path))
    assert enabled.returncode == 0, enabled.stderr
    assert _decide(server, secrets["approver"], "alice-back").status_code == 200


def test_every_answered_decision_survives_kill_9_mid_load(served: Any) -> None:
    server, config_path, secrets = served
    answered: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(k: int) -> None:
        with httpx.Client(base_url=server.base, headers=bearer(secrets["agent"]),
                          timeout=30) as http:
            n = 0
            while not stop.is_set():
                tool_use_id = f"c{k}-{n}"
                n += 1
                body = {"kind": "shell", "input": f"git log -n {n}", "session": f"s-{k}",
                        "tool_use_id": tool_use_id}
                try:
                    r = http.post("/api/v1/decisions", json=body)
                except httpx.HTTPError:
                    return  # the server is gone: this request was never answered
                if r.status_code == 200 and r.json()["decision"] == "allow":
                    with lock:
                        answered.append(tool_use_id)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(24)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(answered) < 150 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert len(answered) >= 150, "the server answered too few decisions to test anything"

    recorded = {e.tool_use_id for e in _records(config_path) if e.type == "decision"}
    missing = [t for t in answered if t not in recorded]
    assert not missing, f"answered but not in the audit log: {missing[:10]}"
    verify = _cli("audit", "verify", "--config", str(config_path))
    assert verify.returncode == 0, verify.stdout + verify.stderr
