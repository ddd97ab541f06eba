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


def verdict(agent: str, stdout: str, exit_code: int | None, stderr: str = "") -> str:
    """What the agent would make of this answer: allow, deny, ask, none (no objection, the
    agent's own rules apply) or broken (the agent would ignore it: fail open). Gemini CLI and
    Codex are read as their hook runners read it (see docs/agents.md for the source)."""
    if agent == "gemini":
        return _gemini(stdout, stderr, exit_code)
    if agent == "codex":
        return _codex(stdout, stderr, exit_code)
    if exit_code == 2 and agent != "copilot":
        return "deny"
    if exit_code != 0:
        return "broken"
    body = _object(stdout)
    if body is None:
        return "none" if not stdout.strip() else "broken"
    if agent == "claude-code":
        out = body.get("hookSpecificOutput") or {}
        return str(out.get("permissionDecision") or "none")
    if agent == "cursor":
        return str(body.get("permission") or "none")
    if agent == "copilot":
        return str(body.get("permissionDecision") or "none")
    return "broken"


def _object(text: str) -> dict[str, Any] | None:
    try:
        body = json.loads(text)
        if isinstance(body, str):  # Gemini decodes a JSON string holding JSON once more
            body = json.loads(body)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _gemini(stdout: str, stderr: str, exit_code: int | None) -> str:
    """hookRunner.ts: stdout (else stderr) as JSON decides whatever the status; text with
    status 0 or 1 allows, any other status denies; a signal (no status) counts as 0."""
    code = exit_code if exit_code is not None and exit_code > 0 else 0  # < 0: a signal
    text = stdout.strip() or stderr.strip()
    if not text:
        return "none"
    body = _object(text)
    if body is None:
        return "allow" if code in (0, 1) else "deny"
    decision = body.get("decision")
    return {"block": "deny", "approve": "allow", None: "none"}.get(decision, str(decision))


def _codex(stdout: str, stderr: str, exit_code: int | None) -> str:
    """codex-rs/hooks events/pre_tool_use.rs: only a deny with a reason (JSON on stdout with
    status 0, or status 2 with the reason on stderr) blocks; every failure lets the call go."""
    if exit_code == 2:
        return "deny" if stderr.strip() else "broken"
    if exit_code != 0:
        return "broken"
    text = stdout.strip()
    if not text:
        return "allow"
    body = _object(text)
    if body is None:
        return "broken" if text[0] in "{[" else "allow"
    out = body.get("hookSpecificOutput")
    if isinstance(out, dict):
        unsupported = set(out) - {"hookEventName", "permissionDecision",
                                  "permissionDecisionReason"}
        reason = out.get("permissionDecisionReason")
        if out.get("permissionDecision") == "deny" and reason and not unsupported:
            return "deny"
        return "broken"
    if body.get("decision") == "block" and body.get("reason"):
        return "deny"
    return "broken" if body.get("decision") else "allow"
