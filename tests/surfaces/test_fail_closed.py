"""Every way the hook itself can fail ends in a refusal the agent honours, never a pass.

Each test injects one real failure — malformed or oversized input, a missing field, a broken
policy file, a broken config, an unreachable or silent approval server, stdin that never closes —
and checks the answer with the agent's own rules.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from safehold.surfaces.install import probes

from .conftest import SAFEHOLD, audit_entries, claude, run_hook

AGENTS = ("claude-code", "cursor", "codex", "gemini", "copilot")


def refused(agent: str, run) -> bool:
    return probes.verdict(agent, run.stdout, run.code, run.stderr) == "deny"


@pytest.mark.parametrize("agent", AGENTS)
def test_malformed_json_is_refused(agent: str, env: dict):
    run = run_hook(agent, None, env, raw=b'{"tool_name": "Bash", "tool_input": {')
    assert refused(agent, run), run
    assert "not valid JSON" in run.stdout + run.stderr


def test_claude_code_hard_block_is_exit_2_with_reason_on_stderr(env: dict):
    run = run_hook("claude-code", None, env, raw=b"not json at all")
    assert run.code == 2
    assert run.stdout == ""
    assert "fails closed" in run.stderr


@pytest.mark.parametrize("agent", AGENTS)
def test_oversized_input_is_refused(agent: str, env: dict, project: Path):
    env = {**env, "SAFEHOLD_HOOK_MAX_INPUT": "2000"}
    payload = probes.shell_payload(agent, "echo " + "a" * 5000, str(project))
    run = run_hook(agent, payload, env)
    assert refused(agent, run), run
    assert "larger than 2000 bytes" in run.stdout + run.stderr


def test_a_huge_stdin_is_refused_without_reading_it_all(env: dict):
    run = run_hook("claude-code", None, env, raw=b"{" + b" " * (8 * 1024 * 1024) + b"}")
    assert run.code == 2
    assert "larger than" in run.stderr


@pytest.mark.parametrize(
    ("agent", "payload"),
    [
        ("claude-code", {"session_id": "s", "cwd": "/", "hook_event_name": "PreToolUse"}),
        ("claude-code", {"tool_name": "Bash", "tool_input": {"description": "no command"}}),
        ("claude-code", {"tool_name": 7, "tool_input": {}}),
        ("codex", {"tool_name": "apply_patch", "tool_input": {"command": "no envelope"}}),
        ("gemini", {"hook_event_name": "BeforeTool", "tool_name": "write_file",
                    "tool_input": {"content": "x"}}),
        ("cursor", {"hook_event_name": "beforeShellExecution", "cwd": "/"}),
        ("copilot", {"cwd": "/", "toolName": "bash", "toolArgs": "{not json"}),
        ("copilot", {"cwd": "/"}),
    ],
)
def test_missing_or_mistyped_fields_are_refused(agent: str, payload: dict, env: dict):
    run = run_hook(agent, payload, env)
    assert refused(agent, run), run


def test_a_json_array_is_refused(env: dict):
    assert run_hook("claude-code", [1, 2], env).code == 2


def test_unknown_agent_blocks(env: dict):
    proc = subprocess.run([SAFEHOLD, "hook", "nonesuch"], input=b"{}", capture_output=True,
                          env=env)
    assert proc.returncode == 2
    assert b"unknown agent" in proc.stderr


@pytest.mark.parametrize("agent", AGENTS)
def test_a_broken_policy_file_refuses_everything(agent: str, env: dict, project: Path):
    policy = project / "broken.cedar"
    policy.write_text('@id("x") permit (principal, action, resource) when { context.nope ==')
    run = run_hook(agent, probes.shell_payload(agent, "ls", str(project)),
                   {**env, "SAFEHOLD_POLICY": str(policy)})
    assert refused(agent, run), run
    assert "broken.cedar" in run.stdout + run.stderr


def test_a_broken_config_file_refuses(env: dict, project: Path):
    (project / "safehold.toml").write_text("database_url = [unclosed\n")
    run = run_hook("claude-code", claude("ls", cwd=project), env)
    assert run.code == 2
    assert "safehold.toml" in run.stderr


def test_a_malformed_setting_refuses(env: dict, project: Path):
    run = run_hook("gemini", probes.shell_payload("gemini", "ls", str(project)),
                   {**env, "SAFEHOLD_HOOK_TIMEOUT": "soon"})
    assert run.code == 2
    assert "SAFEHOLD_HOOK_TIMEOUT" in run.stderr


def _ask_payload(agent: str, project: Path) -> dict:
    payload = probes.shell_payload(agent, "true", str(project))
    payload.update(tool_name="mcp__notes__delete_all_notes", tool_input={})
    return payload


@pytest.mark.parametrize("agent", ["claude-code", "codex", "gemini"])
def test_an_unreachable_approval_server_refuses(agent: str, env: dict, project: Path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**env, "SAFEHOLD_SERVER_URL": f"http://127.0.0.1:{port}", "SAFEHOLD_TOKEN": "t"}
    run = run_hook(agent, _ask_payload(agent, project), env)
    assert probes.verdict(agent, run.stdout, run.code, run.stderr) == "deny", run
    assert "unreachable" in run.stdout + run.stderr


def test_the_watchdog_answers_before_the_agent_gives_up(env: dict, project: Path):
    """A server that accepts the connection and never replies: the hook must still answer,
    with a refusal, within its own time limit."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    env = {
        **env,
        "SAFEHOLD_SERVER_URL": f"http://127.0.0.1:{listener.getsockname()[1]}",
        "SAFEHOLD_TOKEN": "t",
        "SAFEHOLD_HOOK_TIMEOUT": "2",
        "SAFEHOLD_APPROVAL_WAIT": "60",
    }
    try:
        run = run_hook("claude-code", _ask_payload("claude-code", project), env)
    finally:
        listener.close()
        for conn in accepted:
            conn.close()
    assert run.code == 2, run
    assert "safehold" in run.stderr
    # The watchdog's own refusal, not the approval wait running out (run_hook gives up at 60 s).
    assert "no decision within 2 s" in run.stderr, run


def test_stdin_that_never_closes_is_refused_in_time(env: dict):
    proc = subprocess.Popen([SAFEHOLD, "hook", "copilot"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**env, "SAFEHOLD_HOOK_TIMEOUT": "1.5"})
    assert proc.stdin is not None
    proc.stdin.write(b'{"toolName": "bash", ')
    proc.stdin.flush()
    try:
        proc.wait(timeout=60)  # the hook must end on its own while its stdin is still open
    finally:
        proc.stdin.close()
    assert proc.stdout is not None
    answer = json.loads(proc.stdout.read())
    assert proc.returncode == 0
    assert answer["permissionDecision"] == "deny"
    assert "no decision within 1.5 s" in json.dumps(answer), answer


def test_failures_are_audited(env: dict):
    run_hook("cursor", None, env, raw=b"{{{")
    entries = audit_entries(env, 1)
    failure = next(e for e in entries if e.type == "surface.failure")
    assert failure.agent == "cursor"
    assert failure.decision == "deny"
    assert "not valid JSON" in failure.data["failure"]
