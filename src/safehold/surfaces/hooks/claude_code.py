"""Claude Code's PreToolUse hook.

Input: `session_id`, `cwd`, `tool_name`, `tool_input`, `tool_use_id`, and `agent_id` /
`agent_type` when a subagent makes the call. Output: `hookSpecificOutput.permissionDecision`
allow | deny | ask with `permissionDecisionReason` (shown to Claude on deny, to the user on
ask). A hard block is exit 2 with the reason on stderr — the only failure Claude Code does not
treat as "go ahead".
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
from safehold.surfaces.hooks.tools import Context, action_for, stated_reason


class ClaudeCode(Protocol):
    name = "claude-code"
    can_ask = True
    #: environment variable naming the project root the agent was started in
    project_dir_var = "CLAUDE_PROJECT_DIR"

    def parse(self, payload: Mapping[str, Any]) -> ToolCall:
        event = text(payload, "hook_event_name")
        if event is not None and event != "PreToolUse":
            raise HookInputError(f"this hook answers PreToolUse, not {event}")
        tool = text(payload, "tool_name", required=True)
        assert tool is not None
        tool_input = mapping(payload, "tool_input")
        session = text(payload, "session_id")
        subagent = text(payload, "agent_id")
        parent = session if subagent else None
        if subagent:
            session = f"{session or '?'}/{subagent}"
        cwd = text(payload, "cwd")
        ctx = Context(
            agent=self.name,
            cwd=cwd,
            session=session,
            workspace=self.environ.get(self.project_dir_var) or cwd,
        )
        return ToolCall(
            agent=self.name,
            tool=tool,
            action=action_for(tool, tool_input, ctx),
            session=session,
            tool_use_id=text(payload, "tool_use_id"),
            cwd=cwd,
            parent_session=parent,
            stated_reason=stated_reason(tool_input),
        )

    def answer(self, outcome: Outcome) -> Answer:
        if outcome.verdict == "none":
            return Answer()
        reason = outcome.user_message if outcome.verdict == "ask" else outcome.agent_message
        body = {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": outcome.verdict,
                "permissionDecisionReason": reason,
            }
        }
        return Answer(stdout=json.dumps(body))

    def refuse(self, reason: str) -> Answer:
        return Answer(*refusal.refuse(self.name, reason))
