"""Claude Code's PreToolUse hook.

Input: `session_id`, `cwd`, `tool_name`, `tool_input`, `tool_use_id`, and `agent_id` /
`agent_type` when a subagent makes the call. Output: `hookSpecificOutput.permissionDecision`
allow | deny | ask with `permissionDecisionReason` (shown to Claude on deny, to the user on
ask). A hard block is exit 2 with the reason on stderr; any other failure lets the call go
ahead unless the entry says `"onFailure": "block"` (Claude Code 2.1.295 and later).

Other agents read `.claude/settings.json` as well: Cursor calls this entry with its own
`preToolUse` payload (`conversation_id`, `workspace_roots`), Copilot with `toolName`/`toolArgs`.
Such a foreign call is judged all the same, and since its caller may not read Claude's JSON,
anything but no objection is answered with exit 2, the block every one of them honours.
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

    allow_skips_prompt = True
    #: the call being answered came from another agent reading `.claude/settings.json`
    foreign = False
    #: events of other agents that read `.claude/settings.json` and call this entry before a tool
    foreign_events = frozenset({"preToolUse"})

    def parse(self, payload: Mapping[str, Any]) -> ToolCall:
        event = text(payload, "hook_event_name")
        self.foreign = event in self.foreign_events or "toolName" in payload
        if event is not None and event != "PreToolUse" and not self.foreign:
            raise HookInputError(f"this hook answers PreToolUse, not {event}")
        if "toolName" in payload and "tool_name" not in payload:
            tool = text(payload, "toolName", required=True)
            tool_input = mapping(payload, "toolArgs")
        else:
            tool = text(payload, "tool_name", required=True)
            tool_input = mapping(payload, "tool_input")
        assert tool is not None
        session = text(payload, "session_id") or text(payload, "conversation_id") or text(
            payload, "sessionId"
        )
        subagent = text(payload, "agent_id")
        parent = session if subagent else None
        if subagent:
            session = f"{session or '?'}/{subagent}"
        cwd = text(payload, "cwd")
        roots = payload.get("workspace_roots")
        if cwd is None and isinstance(roots, list) and roots and isinstance(roots[0], str):
            cwd = roots[0]
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
            can_ask=False if self.foreign else None,
        )

    def answer(self, outcome: Outcome) -> Answer:
        if outcome.verdict == "none":
            return Answer()
        if self.foreign and outcome.verdict != "allow":
            return Answer("", outcome.agent_message or "refused by safehold", 2)
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
