"""Gemini CLI's BeforeTool hook.

Input: `session_id`, `cwd`, `hook_event_name`, `tool_name` (`run_shell_command`, `write_file`,
`replace`, `mcp__<server>__<tool>`…), `tool_input`, `mcp_context`. Output: `decision` allow |
deny with `reason` (sent to the model as the tool's error) and `systemMessage` (shown to the
user). Gemini has no ask a hook can return, so an ask without a server is a deny that says how
to get approval. Exit 2 with the reason on stderr is its hard block.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

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
from safehold.surfaces.hooks.tools import Context, action_for, mcp_action, stated_reason


class Gemini(Protocol):
    name = "gemini"
    can_ask = False

    def parse(self, payload: Mapping[str, Any]) -> ToolCall:
        event = text(payload, "hook_event_name")
        if event is not None and event != "BeforeTool":
            raise HookInputError(f"this hook answers BeforeTool, not {event}")
        tool = text(payload, "tool_name", required=True) or ""
        tool_input = mapping(payload, "tool_input")
        cwd = text(payload, "cwd")
        session = text(payload, "session_id")
        ctx = Context(
            agent=self.name,
            cwd=cwd,
            session=session,
            workspace=self.environ.get("GEMINI_PROJECT_DIR") or cwd,
        )
        action = action_for(tool, tool_input, ctx)
        mcp = payload.get("mcp_context")
        if action is None and isinstance(mcp, Mapping):
            server = mcp.get("server_name") or mcp.get("serverName")
            if isinstance(server, str) and server:
                name = mcp.get("tool_name") or mcp.get("toolName") or tool
                action = mcp_action(server, str(name), dict(tool_input), ctx)
        return ToolCall(
            agent=self.name,
            tool=tool,
            action=action,
            session=session,
            cwd=cwd,
            stated_reason=stated_reason(tool_input),
        )

    def answer(self, outcome: Outcome) -> Answer:
        if outcome.verdict == "none":
            return Answer(stdout="{}")
        if outcome.verdict == "allow":
            return Answer(stdout=json.dumps({"decision": "allow"}))
        body = {
            "decision": "deny",
            "reason": outcome.agent_message or "refused by safehold",
            "systemMessage": outcome.user_message or outcome.agent_message,
        }
        return Answer(stdout=json.dumps(body))

    def refuse(self, reason: str) -> Answer:
        return Answer(*refusal.refuse(self.name, reason))
