"""Each agent's pre-tool JSON for a shell command, and how to read its hook's answer back.

`safehold doctor` feeds an installed hook a probe exactly as the agent would and checks that the
answer is one the agent understands; the benchmark uses the same payloads.
"""

from __future__ import annotations

import json
from typing import Any


def shell_payload(
    agent: str, command: str, cwd: str, session: str = "safehold-probe"
) -> dict[str, Any]:
    """What `agent` sends its pre-tool hook before running `command` in `cwd`."""
    if agent in ("claude-code", "codex"):
        payload: dict[str, Any] = {
            "session_id": session,
            "transcript_path": None,
            "cwd": cwd,
            "hook_event_name": "PreToolUse",
            "permission_mode": "default",
            "tool_name": "Bash",
            "tool_input": {"command": command},
            "tool_use_id": "probe-1",
        }
        if agent == "codex":
            payload.update(turn_id="probe-turn", model="gpt-5")
        else:
            payload["tool_input"]["description"] = "safehold doctor probe"
        return payload
    if agent == "cursor":
        return {
            "conversation_id": session,
            "generation_id": "probe-1",
            "hook_event_name": "beforeShellExecution",
            "workspace_roots": [cwd],
            "command": command,
            "cwd": cwd,
        }
    if agent == "gemini":
        return {
            "session_id": session,
            "transcript_path": "",
            "cwd": cwd,
            "hook_event_name": "BeforeTool",
            "timestamp": "2026-01-01T00:00:00Z",
            "tool_name": "run_shell_command",
            "tool_input": {"command": command, "description": "safehold doctor probe"},
        }
    if agent == "copilot":
        return {
            "sessionId": session,
            "timestamp": 1704614600000,
            "cwd": cwd,
            "toolName": "bash",
            "toolArgs": json.dumps({"command": command, "description": "safehold doctor probe"}),
        }
    raise KeyError(agent)


def verdict(agent: str, stdout: str, exit_code: int | None) -> str:
    """What the agent would make of this answer: allow, deny, ask, none (no objection, the
    agent's own rules apply) or broken (the agent would ignore it: fail open)."""
    if exit_code == 2 and agent != "copilot":
        return "deny"
    if exit_code != 0:
        return "broken"
    text = stdout.strip()
    if not text:
        return "allow" if agent == "codex" else "none"
    try:
        body = json.loads(text)
    except ValueError:
        return "broken"
    if not isinstance(body, dict):
        return "broken"
    if agent in ("claude-code", "codex"):
        out = body.get("hookSpecificOutput") or {}
        return str(out.get("permissionDecision") or "none")
    if agent == "cursor":
        return str(body.get("permission") or "none")
    if agent == "gemini":
        d = body.get("decision")
        return {"block": "deny", None: "none"}.get(d, str(d))
    if agent == "copilot":
        return str(body.get("permissionDecision") or "none")
    return "broken"
