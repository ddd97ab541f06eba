"""The real `safehold hook <agent>` process, fed each agent's own pre-tool JSON.

What matters is what the agent does with the answer, so every case is read back with the
agent's own rules (`probes.verdict`) and the raw shape of the answer is checked as well.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from safehold.surfaces.install import probes

from .conftest import audit_entries, claude, run_hook

AGENTS = ("claude-code", "cursor", "codex", "gemini", "copilot")
#: what "not allowed without a human" looks like to each agent when no server is configured
HELD = {"claude-code": "ask", "cursor": "ask", "codex": "deny", "gemini": "deny", "copilot": "deny"}
#: what "safehold has nothing against it" looks like: silence where an allow would also skip
#: the agent's own permission prompt (Codex reads silence as go ahead)
PASSED = {"claude-code": "none", "cursor": "allow", "codex": "allow", "gemini": "allow",
          "copilot": "none"}


def shell(agent: str, command: str, cwd: Path) -> dict[str, Any]:
    return probes.shell_payload(agent, command, str(cwd), session=f"{agent}-session")


def write(agent: str, path: str, cwd: Path) -> dict[str, Any] | None:
    if agent == "claude-code":
        return claude(tool="Write", tool_input={"file_path": path, "content": "x"}, cwd=cwd)
    if agent == "codex":
        patch = f"*** Begin Patch\n*** Add File: {path}\n+x\n*** End Patch\n"
        return {
            "session_id": "s", "turn_id": "t", "cwd": str(cwd), "hook_event_name": "PreToolUse",
            "model": "gpt-5", "permission_mode": "default", "transcript_path": None,
            "tool_name": "apply_patch", "tool_input": {"command": patch}, "tool_use_id": "c1",
        }
    if agent == "gemini":
        return {
            "session_id": "s", "transcript_path": "", "cwd": str(cwd),
            "hook_event_name": "BeforeTool", "timestamp": "2026-01-01T00:00:00Z",
            "tool_name": "write_file", "tool_input": {"file_path": path, "content": "x"},
        }
    if agent == "copilot":
        return {
            "sessionId": "s", "timestamp": 1704614600000, "cwd": str(cwd), "toolName": "create",
            "toolArgs": json.dumps({"path": path, "file_text": "x"}),
        }
    if agent == "cursor":
        return {
            "conversation_id": "c", "generation_id": "g", "hook_event_name": "preToolUse",
            "workspace_roots": [str(cwd)], "tool_name": "Write",
            "tool_input": {"file_path": path, "content": "x"},
        }
    return None


def mcp(agent: str, tool: str, arguments: dict[str, Any], cwd: Path) -> dict[str, Any] | None:
    if agent in ("claude-code", "codex"):
        payload = shell(agent, "true", cwd)
        payload.update(tool_name=f"mcp__notes__{tool}", tool_input=arguments)
        return payload
    if agent == "gemini":
        payload = shell(agent, "true", cwd)
        payload.update(tool_name=f"mcp_notes_{tool}", tool_input=arguments,
                       mcp_context={"server_name": "notes", "tool_name": tool})
        return payload
    if agent == "cursor":
        return {
            "conversation_id": "c", "generation_id": "g", "hook_event_name": "beforeMCPExecution",
            "workspace_roots": [str(cwd)], "tool_name": tool,
            "tool_input": json.dumps(arguments), "mcp_server_name": "notes",
            "command": "npx -y notes-mcp-server",
        }
    return None


def verdict(agent: str, run: Any) -> str:
    return probes.verdict(agent, run.stdout, run.code, run.stderr)


@pytest.mark.parametrize("agent", AGENTS)
def test_a_listing_passes_and_deleting_home_is_refused(agent: str, env: dict, project: Path):
    """Deleting home is irreversible with no environment bound: every agent is told deny, and
    the audit log says safehold decided deny (not a question some agents also show as deny)."""
    listed = run_hook(agent, shell(agent, "ls", project), env, cwd=project)
    assert verdict(agent, listed) == PASSED[agent], listed
    wiped = run_hook(agent, shell(agent, "rm -rf ~", project), env, cwd=project)
    assert verdict(agent, wiped) == "deny", wiped
    decided = {e.data["action"]["input"]: e.decision for e in audit_entries(env, 2)
               if e.type == "decision"}
    assert decided == {"ls": "allow", "rm -rf ~": "deny"}


@pytest.mark.parametrize("agent", AGENTS)
@pytest.mark.parametrize(
    ("where", "allowed"),
    [
        ("src/new.py", True),
        (".git/HEAD", False),
        ("data/app.sqlite3", False),
        ("~/.bashrc", False),
    ],
)
def test_editor_writes_are_judged_by_where_they_land(
    agent: str, where: str, allowed: bool, env: dict, project: Path
):
    path = where.replace("~", env["HOME"]) if where.startswith("~") else str(project / where)
    payload = write(agent, path, project)
    run = run_hook(agent, payload, env, cwd=project)
    # Cursor does not enforce an ask on preToolUse, where its editor's writes arrive
    held = "deny" if agent == "cursor" else HELD[agent]
    expected = PASSED[agent] if allowed else held
    assert verdict(agent, run) == expected, run


@pytest.mark.parametrize("agent", ["claude-code", "codex", "gemini", "cursor"])
def test_mcp_tools_are_judged_with_their_arguments(agent: str, env: dict, project: Path):
    read = run_hook(agent, mcp(agent, "read_note", {"name": "welcome"}, project), env)
    assert verdict(agent, read) == PASSED[agent], read
    wipe = run_hook(agent, mcp(agent, "delete_all_notes", {}, project), env)
    assert verdict(agent, wipe) == HELD[agent], wipe
    assert "delete_all_notes" in wipe.stdout


@pytest.mark.parametrize("agent", AGENTS)
def test_tools_safehold_does_not_judge_get_no_opinion(agent: str, env: dict, project: Path):
    if agent == "cursor":
        payload: dict[str, Any] = {
            "conversation_id": "c", "generation_id": "g", "hook_event_name": "preToolUse",
            "workspace_roots": [str(project)], "tool_name": "Read",
            "tool_input": {"file_path": str(project / "src/app.py")},
        }
    elif agent == "copilot":
        payload = {"sessionId": "s", "timestamp": 1, "cwd": str(project), "toolName": "view",
                   "toolArgs": json.dumps({"path": "src/app.py"})}
    else:
        payload = shell(agent, "true", project)
        payload.update(tool_name="Read" if agent != "gemini" else "read_file",
                       tool_input={"file_path": str(project / "src/app.py")})
    run = run_hook(agent, payload, env)
    assert run.code == 0
    assert verdict(agent, run) in ("none", "allow" if agent == "codex" else "none")


def test_claude_code_answers_in_its_own_shape(env: dict, project: Path):
    run = run_hook("claude-code", claude(tool="Write", tool_input={
        "file_path": str(project / ".git/config"), "content": "[core]"}, cwd=project), env)
    assert run.code == 0
    out = run.json["hookSpecificOutput"]
    assert out["hookEventName"] == "PreToolUse"
    assert out["permissionDecision"] == "ask"
    assert ".git" in out["permissionDecisionReason"]
    assert "The agent says" not in out["permissionDecisionReason"]  # Write has no description


def test_claude_code_ask_tells_the_human_what_the_agent_said(env: dict, project: Path):
    payload = claude(tool="mcp__notes__delete_all_notes", tool_input={
        "description": "clean up the test notes"}, cwd=project)
    run = run_hook("claude-code", payload, env)
    reason = run.json["hookSpecificOutput"]["permissionDecisionReason"]
    assert "clean up the test notes" in reason
    assert "delete_all_notes" in reason


def test_codex_turns_ask_into_a_deny_that_says_how_to_get_approval(env: dict, project: Path):
    run = run_hook("codex", mcp("codex", "delete_all_notes", {}, project), env)
    out = run.json["hookSpecificOutput"]
    assert out["permissionDecision"] == "deny"
    assert out["permissionDecisionReason"].strip()
    assert "human" in out["permissionDecisionReason"]
    assert "Tell the user" in out["permissionDecisionReason"]


def test_codex_allow_is_silence(env: dict, project: Path):
    payload = write("codex", str(project / "src/ok.py"), project)
    run = run_hook("codex", payload, env)
    assert (run.code, run.stdout.strip()) == (0, "")


def test_copilot_refusal_is_a_deny_on_stdout_with_exit_zero(env: dict, project: Path):
    run = run_hook("copilot", write("copilot", str(project / ".git/HEAD"), project), env)
    assert run.code == 0
    assert run.json["permissionDecision"] == "deny"
    assert ".git" in run.json["permissionDecisionReason"]


def test_copilot_vs_code_form_is_understood(env: dict, project: Path):
    payload = {"hook_event_name": "PreToolUse", "session_id": "s", "timestamp": "t",
               "cwd": str(project), "tool_name": "create",
               "tool_input": {"path": str(project / ".git/HEAD"), "file_text": "x"}}
    run = run_hook("copilot", payload, env)
    assert run.json["permissionDecision"] == "deny"


def test_gemini_deny_carries_reason_and_user_message(env: dict, project: Path):
    run = run_hook("gemini", write("gemini", str(project / ".git/HEAD"), project), env)
    assert run.code == 0
    assert run.json["decision"] == "deny"
    assert ".git" in run.json["reason"]
    assert run.json["systemMessage"]


def test_cursor_ask_has_messages_for_user_and_agent(env: dict, project: Path):
    run = run_hook("cursor", mcp("cursor", "delete_all_notes", {}, project), env)
    body = run.json
    assert body["permission"] == "ask"
    assert body["user_message"] and body["agent_message"]


def test_every_decision_is_audited_with_session_tool_use_and_parent(env: dict, project: Path):
    payload = claude(tool="Write", tool_input={"file_path": str(project / "src/x.py"),
                                               "content": "x"}, cwd=project, session="main-7",
                     agent_id="sub-3", agent_type="Explore")
    run_hook("claude-code", payload, env)
    run_hook("gemini", write("gemini", str(project / ".git/HEAD"), project), env)
    entries = audit_entries(env, 2)
    by_agent = {e.agent: e for e in entries}
    sub = by_agent["claude-code"]
    assert sub.type == "decision"
    assert sub.decision == "allow"
    assert sub.session == "main-7/sub-3"
    assert sub.parent_session == "main-7"
    assert sub.tool_use_id == "toolu_01"
    payload_data = sub.data
    assert payload_data["surface"] == "hook"
    assert payload_data["tool"] == "Write"
    assert payload_data["action"]["cwd"] == str(project)
    assert by_agent["gemini"].decision == "ask"
    assert by_agent["gemini"].data["outcome"] == "deny"


def test_the_project_directory_stays_the_workspace_when_the_shell_has_moved(
    env: dict, project: Path
):
    """Claude Code keeps the shell's directory between calls: an agent that ran `cd` elsewhere
    earlier reports that directory as its cwd. Deleting there is not clean-up."""
    hook_env = {**env, "CLAUDE_PROJECT_DIR": str(project)}
    moved = run_hook("claude-code", claude("rm -rf build", cwd=Path("/srv/app")), hook_env)
    assert verdict("claude-code", moved) in ("ask", "deny"), moved
    inside = run_hook("claude-code", claude("rm -rf build", cwd=project / "src"), hook_env)
    assert verdict("claude-code", inside) == "none", inside
