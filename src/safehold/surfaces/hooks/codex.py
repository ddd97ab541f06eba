"""Codex CLI's PreToolUse hook (hooks.json, the Claude Code-compatible shape).

Input: `session_id`, `turn_id`, `cwd`, `tool_name` (`Bash`, `apply_patch`, MCP tools),
`tool_input`, `tool_use_id`, and `agent_id` for subagents. Codex honours only a deny
(`permissionDecision: "deny"` with a non-empty reason, or exit 2 with the reason on stderr);
allow and ask are rejected as unsupported. So allow is silence, and an ask never reaches this
module as ask: without a server the runner turns it into a deny that says how to get approval.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from safehold.surfaces.hooks.claude_code import ClaudeCode
from safehold.surfaces.hooks.protocol import Answer, Outcome


class Codex(ClaudeCode):
    name = "codex"
    can_ask = False
    project_dir_var = "CODEX_PROJECT_DIR"

    def parse(self, payload: Mapping[str, Any]) -> Any:
        return super().parse(payload)

    def answer(self, outcome: Outcome) -> Answer:
        if outcome.verdict in ("none", "allow"):
            return Answer()
        body = {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": outcome.agent_message or "refused by safehold",
            }
        }
        return Answer(stdout=json.dumps(body))
