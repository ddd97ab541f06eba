"""One test per row of the protocol table in docs/agents.md: each agent's documented pre-tool
input, fed to the real `safehold hook <agent>` process, read back the way that agent's own hook
runner reads it (`probes.verdict`: Gemini CLI's hookRunner.ts, Codex's pre_tool_use.rs)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from safehold.surfaces.install import probes

from .conftest import run_hook

Payload = Callable[[Path], dict[str, Any]]


def _claude(tool: str, tool_input: dict[str, Any]) -> Payload:
    return lambda p: {"session_id": "s", "transcript_path": None, "cwd": str(p),
                      "hook_event_name": "PreToolUse", "permission_mode": "default",
                      "tool_name": tool, "tool_input": tool_input, "tool_use_id": "t1"}


def _codex(tool: str, tool_input: dict[str, Any]) -> Payload:
    return lambda p: {**_claude(tool, tool_input)(p), "turn_id": "turn", "model": "gpt-5"}


def _cursor(event: str, **fields: Any) -> Payload:
    return lambda p: {"conversation_id": "c", "generation_id": "g", "hook_event_name": event,
                      "workspace_roots": [str(p)], "cursor_version": "2.0.77",
                      **({"cwd": str(p)} if event == "beforeShellExecution" else {}),
                      **{k: (v(p) if callable(v) else v) for k, v in fields.items()}}


def _gemini(tool: str, tool_input: Any, context: dict[str, str] | None = None) -> Payload:
    def build(p: Path) -> dict[str, Any]:
        body = {"session_id": "s", "transcript_path": "", "cwd": str(p),
                "hook_event_name": "BeforeTool", "timestamp": "2026-01-01T00:00:00Z",
                "tool_name": tool, "tool_input": tool_input(p) if callable(tool_input)
                else tool_input}
        if context:
            body["mcp_context"] = context
        return body
    return build


def _copilot(tool: str, args: dict[str, Any]) -> Payload:
    return lambda p: {"sessionId": "s", "timestamp": 1704614600000, "cwd": str(p),
                      "toolName": tool, "toolArgs": json.dumps(args)}


RM_HOME = {"command": "rm -rf ~"}
LS = {"command": "ls"}
GITHUB_DELETE = {"owner": "acme", "repo": "api"}
BLOCKS = {"deny", "ask"}

#: (agent, case, documented input, what the agent must make of the answer)
CASES: list[tuple[str, str, Payload, set[str]]] = [
    ("claude-code", "Bash rm -rf ~", _claude("Bash", RM_HOME), BLOCKS),
    ("claude-code", "Bash ls", _claude("Bash", LS), {"none"}),
    ("claude-code", "PowerShell rm -rf ~", _claude("PowerShell", RM_HOME), BLOCKS),
    ("claude-code", "Monitor rm -rf ~", _claude("Monitor", RM_HOME), BLOCKS),
    ("claude-code", "MCP delete_repository",
     _claude("mcp__github__delete_repository", GITHUB_DELETE), {"deny"}),
    ("cursor", "beforeShellExecution rm -rf ~",
     _cursor("beforeShellExecution", command="rm -rf ~"), BLOCKS),
    ("cursor", "beforeShellExecution ls", _cursor("beforeShellExecution", command="ls"),
     {"allow"}),
    ("cursor", "beforeMCPExecution by mcp_server_name",
     _cursor("beforeMCPExecution", tool_name="delete_repository",
             tool_input=json.dumps(GITHUB_DELETE), mcp_server_name="github",
             command="docker run -i --rm ghcr.io/github/github-mcp-server"), {"deny"}),
    ("cursor", "preToolUse Write into .git (no ask)",
     _cursor("preToolUse", tool_name="Write",
             tool_input=lambda p: {"file_path": str(p / ".git/config"), "content": "x"}),
     {"deny"}),
    ("cursor", "preToolUse Delete", _cursor(
        "preToolUse", tool_name="Delete", tool_input=lambda p: {"path": str(p / ".git/HEAD")}),
     {"deny"}),
    ("codex", "Bash rm -rf ~", _codex("Bash", RM_HOME), {"deny"}),
    ("codex", "Bash ls", _codex("Bash", LS), {"allow"}),
    ("codex", "MCP delete_repository",
     _codex("mcp__github__delete_repository", GITHUB_DELETE), {"deny"}),
    ("gemini", "run_shell_command rm -rf ~", _gemini("run_shell_command", RM_HOME), {"deny"}),
    ("gemini", "write_file into .git",
     _gemini("write_file", lambda p: {"file_path": str(p / ".git/config"), "content": "x"}),
     {"deny"}),
    ("gemini", "MCP by mcp_context",
     _gemini("mcp_github_delete_repository", GITHUB_DELETE,
             {"server_name": "github", "tool_name": "delete_repository"}), {"deny"}),
    ("copilot", "bash rm -rf ~", _copilot("bash", RM_HOME), {"deny"}),
    ("copilot", "bash ls", _copilot("bash", LS), {"none"}),
    ("copilot", "MCP <server>-<tool>", _copilot("github-delete_repository", GITHUB_DELETE),
     {"deny"}),
    ("copilot", "built-in github-mcp-server",
     _copilot("github-mcp-server-delete_repository", GITHUB_DELETE), {"deny"}),
]


@pytest.mark.parametrize(("agent", "payload", "expected"),
                         [pytest.param(a, p, e, id=f"{a}: {c}") for a, c, p, e in CASES])
def test_documented_input_gets_the_documented_answer(
    agent: str, payload: Payload, expected: set[str], env: dict, project: Path
):
    run = run_hook(agent, payload(project), env)
    assert probes.verdict(agent, run.stdout, run.code, run.stderr) in expected, run


@pytest.mark.parametrize("agent", ["claude-code", "cursor", "codex", "gemini", "copilot"])
def test_safeholds_own_failure_is_a_block_the_agent_honours(agent: str, env: dict):
    """The crash column: input safehold cannot read is refused in the form the agent obeys."""
    run = run_hook(agent, None, env, raw=b"{not json")
    assert probes.verdict(agent, run.stdout, run.code, run.stderr) == "deny", run


def test_gemini_failure_is_a_json_deny_on_stdout(env: dict):
    """Gemini reads stdout JSON whatever the status, so the refusal does not hang on the exit
    status surviving (a signal-killed hook counts as status 0 there)."""
    run = run_hook("gemini", None, env, raw=b"{not json")
    body = json.loads(run.stdout)
    assert body["decision"] == "deny" and "safehold" in body["reason"]
    assert probes.verdict("gemini", run.stdout, None, run.stderr) == "deny"


# --- MCP names whose server holds the separator ------------------------------------------

DROP = {"sql": "DROP TABLE users"}


@pytest.mark.parametrize(("agent", "payload"), [
    ("gemini", _gemini("mcp_my_github_delete_repository", GITHUB_DELETE)),
    ("copilot", _copilot("my-github-delete_repository", GITHUB_DELETE)),
    ("gemini", _gemini("mcp_my_db_query", DROP)),
    ("copilot", _copilot("my-db-query", DROP)),
])
def test_ambiguous_mcp_name_is_never_judged_as_a_weaker_guess(
    agent: str, payload: Payload, env: dict, project: Path
):
    """Read at the first separator, `my_github` became server `my`: the GitHub catalog's hard
    refusal turned into a hold for approval naming a server that does not exist."""
    run = run_hook(agent, payload(project), env)
    assert probes.verdict(agent, run.stdout, run.code, run.stderr) == "deny", run
    assert "holding" not in run.stdout and "approv" not in run.stdout, run


@pytest.mark.parametrize(("agent", "payload", "config", "server"), [
    ("gemini", _gemini("mcp_my_github_delete_repository", GITHUB_DELETE),
     ".gemini/settings.json", "my_github"),
    ("copilot", _copilot("my-github-delete_repository", GITHUB_DELETE),
     ".copilot/mcp-config.json", "my-github"),
])
def test_configured_server_settles_the_github_reading(
    agent: str, payload: Payload, config: str, server: str, env: dict, project: Path
):
    run = _configured_run(agent, payload, config, server, env, project)
    assert "mcp-github:repo-delete" in run.stdout, run


@pytest.mark.parametrize(("agent", "payload", "config", "server"), [
    ("gemini", _gemini("mcp_postgres_prod_query", DROP), ".gemini/settings.json",
     "postgres_prod"),
    ("copilot", _copilot("postgres-prod-query", DROP), ".copilot/mcp-config.json",
     "postgres-prod"),
])
def test_configured_server_settles_the_reading(
    agent: str, payload: Payload, config: str, server: str, env: dict, project: Path
):
    run = _configured_run(agent, payload, config, server, env, project)
    assert "DROP" in run.stdout or "drop" in run.stdout.lower(), run
    safe = run_hook(agent, payload(project) | _args(agent, {"sql": "SELECT 1"}), env)
    assert probes.verdict(agent, safe.stdout, safe.code, safe.stderr) in ("allow", "none"), safe


def test_gemini_mcp_context_names_the_server_with_an_underscore(env: dict, project: Path):
    payload = _gemini("mcp_my_github_delete_repository", GITHUB_DELETE,
                      {"server_name": "my_github", "tool_name": "delete_repository"})(project)
    run = run_hook("gemini", payload, env)
    assert probes.verdict("gemini", run.stdout, run.code, run.stderr) == "deny", run
    assert "mcp-github:repo-delete" in run.stdout, run


def _configured_run(agent: str, payload: Payload, config: str, server: str, env: dict,
                    project: Path) -> Any:
    """The hook's answer once `server` is configured in the agent's own MCP settings; a deny."""
    path = Path(env["HOME"]) / config
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"mcpServers": {server: {"command": "x"}}}))
    run = run_hook(agent, payload(project), env)
    assert probes.verdict(agent, run.stdout, run.code, run.stderr) == "deny", run
    return run


def _args(agent: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"toolArgs": json.dumps(args)} if agent == "copilot" else {"tool_input": args}
