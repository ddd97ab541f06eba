"""Which agent tools safehold judges, and the Action each one amounts to.

Agents name the same three things differently: a shell command (`Bash`, `run_shell_command`,
`shell`, `bash`…), a file written by the agent's own editor (`Write`, `Edit`, `write_file`,
`apply_patch`…), and an MCP tool (`mcp__<server>__<tool>`). Everything else — reads, searches,
todo lists, web fetches — is left to the agent's own permission rules.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from safehold.model import Action
from safehold.surfaces.hooks.protocol import HookInputError

SHELL_TOOLS = frozenset({
    "Bash", "bash", "Shell", "shell", "run_shell_command", "exec_command", "local_shell",
    "unified_exec", "powershell", "PowerShell", "Monitor", "terminal", "run_in_terminal",
    "run_terminal_cmd",
})
WRITE_TOOLS = frozenset({"Write", "write_file", "create", "write", "create_file"})
EDIT_TOOLS = frozenset({
    "Edit", "MultiEdit", "NotebookEdit", "edit", "replace", "str_replace_editor",
    "str_replace_based_edit_tool", "edit_file", "search_replace",
})
PATCH_TOOLS = frozenset({"apply_patch", "ApplyPatch"})
DELETE_TOOLS = frozenset({"Delete", "delete_file"})
_PATH_KEYS = ("file_path", "path", "notebook_path", "filePath", "target_file", "targetFile")
_PATCH_LINE = re.compile(r"^\*\*\* (Add|Update|Delete) File: (.+?)\s*$|^\*\*\* Move to: (.+?)\s*$")
_MCP_NAME = re.compile(r"^mcp__(?P<server>.+?)__(?P<tool>.+)$")


@dataclass(frozen=True, slots=True)
class Context:
    """Where a call happens, as the agent reported it."""

    agent: str
    cwd: str | None
    session: str | None
    workspace: str | None = None
    environment: str | None = None


def action_for(tool: str, tool_input: Mapping[str, Any], ctx: Context) -> Action | None:
    """The Action for one tool call, or None when safehold has no opinion on this tool."""
    if tool in SHELL_TOOLS:
        return shell_action(_command(tool_input), ctx)
    if tool in WRITE_TOOLS or tool in EDIT_TOOLS:
        op = "write" if tool in WRITE_TOOLS else "edit"
        return file_action([{"op": op, "path": _path(tool_input)}], ctx)
    if tool in DELETE_TOOLS:
        return file_action([{"op": "delete", "path": _path(tool_input)}], ctx)
    if tool in PATCH_TOOLS:
        patch = tool_input.get("command") or tool_input.get("input") or tool_input.get("patch")
        if isinstance(patch, list):
            patch = "\n".join(str(p) for p in patch)
        if not isinstance(patch, str):
            raise HookInputError(f"{tool} call without a patch text")
        return file_action(patch_changes(patch), ctx)
    m = _MCP_NAME.match(tool)
    if m:
        return mcp_action(m.group("server"), m.group("tool"), dict(tool_input), ctx)
    return None


def shell_action(command: str, ctx: Context) -> Action:
    options = {"workspace": ctx.workspace} if ctx.workspace else {}
    return Action(
        "shell", command, cwd=ctx.cwd, session=ctx.session, environment=ctx.environment,
        agent=ctx.agent, options=options,
    )


def file_action(changes: list[dict[str, str]], ctx: Context) -> Action:
    options = {"workspace": ctx.workspace} if ctx.workspace else {}
    return Action(
        "file", {"changes": changes}, cwd=ctx.cwd, session=ctx.session,
        environment=ctx.environment, agent=ctx.agent, options=options,
    )


def mcp_action(server: str, tool: str, arguments: dict[str, Any], ctx: Context) -> Action:
    return Action(
        "mcp", {"server": server, "tool": tool, "arguments": arguments}, cwd=ctx.cwd,
        session=ctx.session, environment=ctx.environment, agent=ctx.agent,
    )


def patch_changes(patch: str) -> list[dict[str, str]]:
    """The files an apply_patch envelope touches (`*** Update File: path` and friends)."""
    changes: list[dict[str, str]] = []
    for line in patch.splitlines():
        m = _PATCH_LINE.match(line)
        if not m:
            continue
        verb, path, moved = m.group(1), m.group(2), m.group(3)
        if moved:
            changes.append({"op": "write", "path": moved})
        else:
            op = {"Add": "write", "Update": "edit", "Delete": "delete"}[verb]
            changes.append({"op": op, "path": path})
    if not changes:
        raise HookInputError("apply_patch text names no file (no '*** Add/Update/Delete File:')")
    return changes


def _command(tool_input: Mapping[str, Any]) -> str:
    value = tool_input.get("command", tool_input.get("cmd"))
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return shlex.join(value)
    if not isinstance(value, str):
        raise HookInputError("shell tool call without a command string")
    return value


def _path(tool_input: Mapping[str, Any]) -> str:
    for key in _PATH_KEYS:
        value = tool_input.get(key)
        if isinstance(value, str) and value.strip():
            return value
    raise HookInputError("file tool call without a file path")


def stated_reason(tool_input: Mapping[str, Any]) -> str | None:
    """What the agent said it is doing (Claude Code's and Copilot's `description`)."""
    for key in ("description", "justification", "reason"):
        value = tool_input.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:1000]
    return None
