"""Gemini CLI's BeforeTool hook.

Input: `session_id`, `cwd`, `hook_event_name`, `tool_name` (`run_shell_command`, `write_file`,
`replace`, `mcp_<server>_<tool>`…), `tool_input`, and `mcp_context` (`server_name`,
`tool_name`) for an MCP tool: the server is taken from there, since a server name may itself
hold an underscore; only without it is the name read by `mcp_names` (refused when ambiguous).
Output: `decision` allow | deny with `reason` (sent to the model as the tool's error)
and `systemMessage` (shown to the user). Gemini has no ask a hook can
return, so an ask without a server is a deny that says how to get approval.
Gemini reads stdout (else stderr) as JSON first, whatever the exit status; text with exit 2 or
more is a deny, exit 1 an allow with a warning, a signal-killed hook counts as exit 0 (allow) and
a timeout gives no decision. So every refusal, safehold's own failures included, is a JSON deny
on stdout with exit 2 (`refusal.refuse`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from safehold.model import Action
from safehold.surfaces.hooks import mcp_names, refusal
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

#: `mcp_<server>_<tool>`; the Claude-style `mcp__<server>__<tool>` is left to `action_for`
_GEMINI_MCP = re.compile(r"^mcp_(?!_).+_.+$")


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
        action = _mcp(tool, payload.get("mcp_context"), tool_input, ctx, self.environ)
        if action is None:
            action = action_for(tool, tool_input, ctx)
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


def _mcp(tool: str, context: Any, tool_input: Mapping[str, Any], ctx: Context,
         environ: Mapping[str, str]) -> Action | None:
    """The MCP call in this payload, or None when the tool is not an MCP tool."""
    if isinstance(context, Mapping):
        server = context.get("server_name") or context.get("serverName")
        if isinstance(server, str) and server:
            name = context.get("tool_name") or context.get("toolName")
            if not isinstance(name, str) or not name:
                prefix = f"mcp_{server}_"
                name = tool[len(prefix):] if tool.startswith(prefix) else tool
            return mcp_action(server, name, dict(tool_input), ctx)
    if _GEMINI_MCP.match(tool):
        known = mcp_names.configured_servers("gemini", environ, ctx.cwd)
        server, name = mcp_names.split(tool[len("mcp_"):], "_", known, tool)
        return mcp_action(server, name, dict(tool_input), ctx)
    return None
