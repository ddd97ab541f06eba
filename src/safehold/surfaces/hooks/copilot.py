"""GitHub Copilot CLI's preToolUse hook.

Input, camelCase form: `sessionId`, `timestamp`, `cwd`, `toolName` (`bash`, `create`, `edit`…)
and `toolArgs` (a JSON string); with the PascalCase `PreToolUse` event name the VS Code form:
`session_id`, `tool_name`, `tool_input`. Output: `permissionDecision` with
`permissionDecisionReason`; only deny is reliably honoured, so no objection is silence (allow only
with SAFEHOLD_AUTO_APPROVE=1). MCP tools are named `<server>-<tool>`; Copilot's own tools
have no hyphen, so a hyphenated name is judged as an MCP call; server names may hold hyphens
too (`github-mcp-server`), so `mcp_names` reads it against the configured servers.
Copilot treats a failing or timed-out hook as no objection — exit codes never block —
so even safehold's own failure is answered as a deny on stdout with exit 0.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

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


class Copilot(Protocol):
    name = "copilot"
    can_ask = False
    allow_skips_prompt = True

    def parse(self, payload: Mapping[str, Any]) -> ToolCall:
        if "toolName" in payload:
            tool = text(payload, "toolName", required=True) or ""
            tool_input = mapping(payload, "toolArgs")
            session = text(payload, "sessionId")
        elif "tool_name" in payload:
            tool = text(payload, "tool_name", required=True) or ""
            tool_input = mapping(payload, "tool_input")
            session = text(payload, "session_id")
        else:
            raise HookInputError("the hook input has no 'toolName'")
        cwd = text(payload, "cwd")
        ctx = Context(agent=self.name, cwd=cwd, session=session, workspace=cwd)
        action = action_for(tool, tool_input, ctx)
        if action is None and "-" in tool.strip("-"):
            known = mcp_names.configured_servers(self.name, self.environ, cwd)
            server, name = mcp_names.split(tool, "-", known, tool)
            action = mcp_action(server, name, dict(tool_input), ctx)
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
            return Answer()
        if outcome.verdict == "allow":
            return Answer(stdout=json.dumps({"permissionDecision": "allow"}))
        return self.refuse(outcome.agent_message or "refused by safehold")

    def refuse(self, reason: str) -> Answer:
        return Answer(*refusal.refuse(self.name, reason))
