"""Each agent's documented pre-tool input for the cases where a hook used to stay silent or
answer something the agent does not enforce, fed to the real `safehold hook <agent>` process."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from safehold.surfaces.install import probes
from safehold.surfaces.install.targets import TARGETS

from .conftest import claude, run_hook


def _matcher(agent: str, project: Path, home: Path, event: str) -> list[str]:
    doc = TARGETS[agent].add({}, "/opt/safehold/bin/safehold hook " + agent)
    entries = doc["hooks"][event]
    return [e["matcher"] for e in entries if "matcher" in e]


def _fires(matchers: list[str], tool: str) -> bool:
    return any(re.fullmatch(m, tool) for m in matchers)


# --- Cursor -------------------------------------------------------------------------------

def _cursor_tool(tool: str, tool_input: dict[str, Any], project: Path) -> dict[str, Any]:
    return {
        "conversation_id": "c", "generation_id": "g", "hook_event_name": "preToolUse",
        "workspace_roots": [str(project)], "cursor_version": "2.0.77", "tool_name": tool,
        "tool_input": tool_input,
    }


def test_cursor_pre_tool_use_never_answers_an_ask_it_would_ignore(env: dict, project: Path):
    run = run_hook("cursor", _cursor_tool(
        "Write", {"file_path": str(project / ".git/config"), "content": "[core]"}, project), env)
    body = json.loads(run.stdout)
    assert body["permission"] == "deny", run
    assert "approv" in body["agent_message"].lower()
    assert body["user_message"]


def test_cursor_shell_ask_stays_an_ask(env: dict, project: Path):
    run = run_hook("cursor", probes.shell_payload("cursor", "rm -rf ~", str(project)), env)
    assert json.loads(run.stdout)["permission"] in ("ask", "deny")


def test_cursor_delete_tool_is_hooked_and_judged(env: dict, project: Path, tmp_path: Path):
    assert _fires(_matcher("cursor", project, tmp_path, "preToolUse"), "Delete")
    run = run_hook("cursor", _cursor_tool(
        "Delete", {"path": str(project / ".git/HEAD")}, project), env)
    assert json.loads(run.stdout)["permission"] == "deny", run
    fine = run_hook("cursor", _cursor_tool(
        "Delete", {"path": str(project / "src/old.py")}, project), env)
    assert json.loads(fine.stdout)["permission"] == "allow", fine


def test_cursor_mcp_call_is_judged_against_the_configured_server(env: dict, project: Path):
    payload = {
        "conversation_id": "c", "generation_id": "g", "hook_event_name": "beforeMCPExecution",
        "workspace_roots": [str(project)], "tool_name": "delete_repository",
        "tool_input": json.dumps({"owner": "acme", "repo": "api"}),
        "mcp_server_name": "github",
        "command": "docker run -i --rm -e GITHUB_PERSONAL_ACCESS_TOKEN ghcr.io/x/server",
    }
    run = run_hook("cursor", payload, env)
    assert json.loads(run.stdout)["permission"] == "deny", run


# --- Gemini -------------------------------------------------------------------------------

def _gemini_mcp(tool: str, args: dict[str, Any], project: Path, context: bool) -> dict[str, Any]:
    payload = probes.shell_payload("gemini", "true", str(project))
    payload.update(tool_name=tool, tool_input=args)
    if context:
        payload["mcp_context"] = {"server_name": "github", "tool_name": "delete_repository"}
    return payload


def test_gemini_installed_matcher_fires_for_its_mcp_tool_names(tmp_path: Path, project: Path):
    matchers = _matcher("gemini", project, tmp_path, "BeforeTool")
    assert _fires(matchers, "mcp_github_delete_repository")
    assert _fires(matchers, "run_shell_command")
    assert not _fires(matchers, "read_file")


@pytest.mark.parametrize("context", [True, False])
def test_gemini_mcp_tool_is_refused_by_its_server_rule(env: dict, project: Path, context: bool):
    payload = _gemini_mcp("mcp_github_delete_repository", {"owner": "a", "repo": "b"}, project,
                          context)
    run = run_hook("gemini", payload, env)
    assert probes.verdict("gemini", run.stdout, run.code, run.stderr) == "deny", run
    assert "delete_repository" in run.stdout


# --- Claude Code --------------------------------------------------------------------------

@pytest.mark.parametrize("tool", ["PowerShell", "Monitor"])
def test_claude_code_other_shell_tools_are_hooked_and_judged(
    tool: str, env: dict, project: Path, tmp_path: Path
):
    assert _fires(_matcher("claude-code", project, tmp_path, "PreToolUse"), tool)
    run = run_hook("claude-code", claude(tool=tool, tool_input={
        "command": "rm -rf ~", "description": "clean up"}, cwd=project), env)
    assert probes.verdict("claude-code", run.stdout, run.code, run.stderr) in ("deny", "ask"), run


@pytest.mark.parametrize("agent", ["claude-code", "copilot"])
def test_no_objection_leaves_the_agents_own_prompt_unless_opted_in(
    agent: str, env: dict, project: Path
):
    payload = probes.shell_payload(agent, "ls", str(project))
    quiet = run_hook(agent, payload, env)
    assert quiet.code == 0 and quiet.stdout.strip() == "", quiet
    opted = run_hook(agent, payload, {**env, "SAFEHOLD_AUTO_APPROVE": "1"})
    assert probes.verdict(agent, opted.stdout, opted.code, opted.stderr) == "allow", opted


def test_copilot_mcp_tool_gets_an_opinion(env: dict, project: Path):
    payload = {"sessionId": "s", "timestamp": 1704614600000, "cwd": str(project),
               "toolName": "github-delete_repository",
               "toolArgs": json.dumps({"owner": "acme", "repo": "api"})}
    run = run_hook("copilot", payload, env)
    assert probes.verdict("copilot", run.stdout, run.code, run.stderr) == "deny", run


# --- Claude Code's entry, called by another agent that reads .claude/settings.json ---------

def test_claude_entry_called_by_cursor_blocks_with_exit_2(env: dict, project: Path):
    payload = _cursor_tool("Shell", {"command": "rm -rf ~"}, project)
    run = run_hook("claude-code", payload, env)
    assert run.code == 2 and run.stderr.strip(), run
    fine = run_hook("claude-code", _cursor_tool("Shell", {"command": "ls"}, project), env)
    assert fine.code == 0 and fine.stdout.strip() == "", fine


def test_claude_entry_called_by_copilot_blocks_with_exit_2(env: dict, project: Path):
    payload = probes.shell_payload("copilot", "rm -rf ~", str(project))
    run = run_hook("claude-code", payload, env)
    assert run.code == 2 and run.stderr.strip(), run
