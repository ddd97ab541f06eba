"""Cursor's `beforeShellExecution` and `beforeMCPExecution` hooks (and the generic `preToolUse`).

Input: `hook_event_name`, `conversation_id`, `generation_id`, `workspace_roots`, then `command`
and `cwd` for a shell command, or `tool_name`, `tool_input` (a JSON string in older releases)
and `mcp_server_name` (with the server's `url` or launch `command`) for an MCP call. Output:
`permission` allow | deny | ask, `user_message` for the person, `agent_message` for the agent.
Exit 2 is a deny as well, so a failure answers both ways. Cursor accepts `ask` on `preToolUse`
but does not enforce it, so an ask there is a deny that says how to get approval.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from safehold.model import Action
from safehold.surfaces.hooks import refusal
from safehold.surfaces.hooks.protocol import (
    Answer,
    HookInputError,
    Outcome,
    Protocol,
    ToolCall,
    mapping,
    text,
)
from safehold.surfaces.hooks.tools import Context, action_for, mcp_action, shell_action


class Cursor(Protocol):
    name = "cursor"
    can_ask = True

    def parse(self, payload: Mapping[str, Any]) -> ToolCall:
        event = text(payload, "hook_event_name", required=True)
        session = text(payload, "conversation_id")
        roots = payload.get("workspace_roots")
        workspace = roots[0] if isinstance(roots, list) and roots else None
        if not isinstance(workspace, str):
            workspace = None
        cwd = text(payload, "cwd") or workspace
        ctx = Context(agent=self.name, cwd=cwd, session=session, workspace=workspace or cwd)
        action: Action | None
        can_ask: bool | None = None
        if event == "beforeShellExecution":
            command = text(payload, "command", required=True)
            assert command is not None
            tool, action = "shell", shell_action(command, ctx)
        elif event == "beforeMCPExecution":
            tool = text(payload, "tool_name", required=True) or ""
            server = _server_name(payload)
            action = mcp_action(server, tool, dict(mapping(payload, "tool_input")), ctx)
        elif event == "preToolUse":
            tool = text(payload, "tool_name", required=True) or ""
            action = action_for(tool, mapping(payload, "tool_input"), ctx)
            can_ask = False
        else:
            raise HookInputError(f"this hook does not judge Cursor's {event!r} event")
        return ToolCall(
            agent=self.name,
            tool=tool,
            action=action,
            session=session,
            tool_use_id=text(payload, "generation_id"),
            cwd=cwd,
            can_ask=can_ask,
        )

    def answer(self, outcome: Outcome) -> Answer:
        if outcome.verdict == "none":
            return Answer(stdout="{}")
        body = {"permission": outcome.verdict}
        if outcome.verdict != "allow":
            body["user_message"] = outcome.user_message or outcome.agent_message
            body["agent_message"] = outcome.agent_message
        return Answer(stdout=json.dumps(body))

    def refuse(self, reason: str) -> Answer:
        return Answer(*refusal.refuse(self.name, reason))


def _server_name(payload: Mapping[str, Any]) -> str:
    """The server's name as configured in mcp.json (`mcp_server_name`), which is what policies
    name; only releases that do not send it fall back to how the server is reached."""
    for key in ("mcp_server_name", "server_name", "server"):
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return value
    url = payload.get("url")
    if isinstance(url, str) and url.strip():
        return urlsplit(url).hostname or url
    command = payload.get("command")
    if isinstance(command, str) and command.strip():
        words = command.split()
        runners = {"npx", "uvx", "node", "python", "python3", "bunx", "pnpm", "deno", "docker"}
        named = [w for w in words if not w.startswith("-") and os.path.basename(w) not in runners]
        return os.path.basename(named[0]) if named else os.path.basename(words[0])
    return "unknown"
