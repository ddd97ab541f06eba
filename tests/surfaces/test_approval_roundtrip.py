"""Hook -> real `safehold serve` -> human approval -> the identical call passes, once.

The server is the real one, started as a subprocess on SQLite with real tokens; the hook is
the real hook process. Nothing here stands in for either side.
"""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from safehold.config import parse_config_file
from safehold.server.accounts import Accounts
from safehold.service import Safehold

from .conftest import SAFEHOLD, claude, run_hook

PASSWORD = "correct horse battery staple"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path, env: dict):
    port = _port()
    root = tmp_path / "srv"
    root.mkdir()
    config = root / "safehold.toml"
    config.write_text(
        f'database_url = "sqlite:///{root / "safehold.db"}"\n\n[server]\n'
        f'secret_key = "{root / "secret.key"}"\nbase_url = "http://127.0.0.1:{port}"\n'
    )
    with Safehold.open(parse_config_file(config), notify_in_background=False) as sh:
        accounts = Accounts(sh.store)
        accounts.add_user("alice", PASSWORD, "approver")
        accounts.add_user("pat", PASSWORD, "approver")
        agent = accounts.create_token("laptop-agent", "agent").secret
        approver = accounts.create_token("pager-bot", "approver", "pat").secret
    log = (root / "serve.log").open("wb")
    proc = subprocess.Popen([SAFEHOLD, "serve", "--port", str(port), "--config", str(config)],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((root / "serve.log").read_text())
            time.sleep(0.2)
        hook_env = {**env, "SAFEHOLD_CONFIG": str(config), "SAFEHOLD_TOKEN": agent,
                    "SAFEHOLD_APPROVAL_WAIT": "1"}
        yield base, hook_env, approver
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


def wipe_notes(project: Path) -> dict:
    return claude(tool="mcp__notes__delete_all_notes",
                  tool_input={"description": "reset the demo notes before the test run"},
                  cwd=project, session="sess-approval")


def approval_id(text: str) -> str:
    m = re.search(r"Approval request (\S+?)[ (:]", text)
    assert m, text
    return m.group(1)


def test_approved_once_means_the_identical_call_passes_once(server, project: Path):
    base, env, approver = server
    held = run_hook("claude-code", wipe_notes(project), env)
    out = held.json["hookSpecificOutput"]
    assert out["permissionDecision"] == "deny"
    rid = approval_id(out["permissionDecisionReason"])
    assert "run exactly the same call again" in out["permissionDecisionReason"]

    h = {"Authorization": f"Bearer {approver}"}
    record = httpx.get(f"{base}/api/v1/approvals/{rid}", headers=h).json()
    assert record["state"] == "pending"
    assert "reset the demo notes" in str(record)
    assert "sess-approval" in str(record)

    r = httpx.post(f"{base}/api/v1/approvals/{rid}/approve", headers=h, json={})
    assert r.status_code == 200, r.text

    passed = run_hook("claude-code", wipe_notes(project), env)
    assert passed.json["hookSpecificOutput"]["permissionDecision"] == "allow"
    assert rid in passed.json["hookSpecificOutput"]["permissionDecisionReason"]

    again = run_hook("claude-code", wipe_notes(project), env)
    assert again.json["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert approval_id(again.json["hookSpecificOutput"]["permissionDecisionReason"]) != rid


def test_a_hook_waiting_for_approval_passes_when_a_human_approves(server, project: Path):
    base, env, approver = server
    h = {"Authorization": f"Bearer {approver}"}

    def approve_when_filed() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pending = httpx.get(f"{base}/api/v1/approvals?state=pending", headers=h).json()
            for a in pending["approvals"]:
                httpx.post(f"{base}/api/v1/approvals/{a['id']}/approve", headers=h, json={})
                return
            time.sleep(0.2)

    approver_thread = threading.Thread(target=approve_when_filed)
    approver_thread.start()
    run = run_hook("codex", {**wipe_notes(project), "turn_id": "t1", "model": "gpt-5"},
                   {**env, "SAFEHOLD_APPROVAL_WAIT": "15"})
    approver_thread.join()
    assert (run.code, run.stdout.strip()) == (0, ""), run  # Codex: allow is silence


def test_a_denied_request_is_refused(server, project: Path):
    base, env, approver = server
    h = {"Authorization": f"Bearer {approver}"}
    held = run_hook("gemini", {
        "session_id": "g1", "cwd": str(project), "hook_event_name": "BeforeTool",
        "tool_name": "mcp__notes__delete_all_notes", "tool_input": {}}, env)
    rid = approval_id(held.json["reason"])
    assert httpx.post(f"{base}/api/v1/approvals/{rid}/deny", headers=h, json={}).status_code == 200
    record = httpx.get(f"{base}/api/v1/approvals/{rid}", headers=h).json()
    assert record["state"] == "denied"


def test_a_bad_token_is_a_refusal_not_a_pass(server, project: Path):
    _base, env, _approver = server
    run = run_hook("claude-code", wipe_notes(project), {**env, "SAFEHOLD_TOKEN": "wrong"})
    out = run.json["hookSpecificOutput"]
    assert out["permissionDecision"] == "deny"
    assert "HTTP 401" in out["permissionDecisionReason"]


def test_the_mcp_proxy_holds_a_call_until_it_is_approved(server, tmp_path: Path):
    import json
    import sys

    import anyio
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    from .conftest import HERE

    base, env, approver = server
    store = tmp_path / "notes.json"
    params = StdioServerParameters(
        command=SAFEHOLD,
        args=["mcp-proxy", "--approval-wait", "1", "--", sys.executable,
              str(HERE / "notes_server.py"), str(store)],
        env=env,
    )
    h = {"Authorization": f"Bearer {approver}"}

    async def main() -> tuple[object, object]:
        async with Client(params) as client:
            held = await client.call_tool("delete_all_notes", {})
            rid = approval_id(held.content[0].text)
            r = httpx.post(f"{base}/api/v1/approvals/{rid}/approve", headers=h, json={})
            assert r.status_code == 200, r.text
            return held, await client.call_tool("delete_all_notes", {})

    held, passed = anyio.run(main)
    assert held.is_error
    assert not passed.is_error
    assert json.loads(store.read_text())["calls"] == ["delete_all_notes"]


def test_the_approve_command_the_agent_is_given_works_as_written(server, project: Path):
    """The refusal names a command for the user; pasted into a terminal as it stands, it
    approves the request (asking who they are and their password), and the call passes."""
    from terminal import run_in_terminal

    _base, env, _ = server
    held = run_hook("claude-code", wipe_notes(project), env)
    reason = held.json["hookSpecificOutput"]["permissionDecisionReason"]
    rid = approval_id(reason)
    suggested = re.search(r"`([^`]*approvals approve[^`]*)`", reason)
    assert suggested, reason
    typed = run_in_terminal(suggested.group(1), [("dashboard username", "alice"),
                                                 ("Password for alice", PASSWORD)],
                            env=env, cwd=project)
    assert typed.code == 0, typed.output
    assert f"{rid}: approved" in typed.output
    passed = run_hook("claude-code", wipe_notes(project), env)
    assert passed.json["hookSpecificOutput"]["permissionDecision"] == "allow"
