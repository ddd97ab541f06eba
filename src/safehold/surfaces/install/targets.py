"""Where each agent reads its hook configuration, and how safehold's entry sits in it.

Installing merges one entry into the agent's own file and keeps everything else the user has
there (their other hooks, permissions, settings). Our entries are recognised by their command
(`… hook <agent>`), so installing twice changes nothing and uninstalling removes only ours.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The hook timeout written into agents' configs; the hook's own watchdog answers well before.
TIMEOUT_SECONDS = 30

Doc = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Target:
    """One agent's hook configuration."""

    agent: str
    label: str
    project_file: str
    user_file: str
    add: Callable[[Doc, str], Doc]
    remove: Callable[[Doc], Doc]
    commands: Callable[[Doc], list[str]]
    notes: str = ""
    #: the variable in which the agent hands its hook the project directory, if it has one
    project_variable: str | None = None

    def path(self, scope: str, project: Path, home: Path) -> Path:
        return (project / self.project_file) if scope == "project" else (home / self.user_file)


def ours(command: object, agent: str) -> bool:
    return isinstance(command, str) and bool(
        re.search(rf"safehold\S*\s+hook\s+{re.escape(agent)}(\s|$)", command)
    )


# --- Claude Code, Codex: {"hooks": {"PreToolUse": [{"matcher", "hooks": [{type, command}]}]}}

def _matcher_hooks(event: str, matcher: str, agent: str, extra: Doc) -> tuple[
    Callable[[Doc, str], Doc], Callable[[Doc], Doc], Callable[[Doc], list[str]]
]:
    def remove(doc: Doc) -> Doc:
        groups = doc.get("hooks", {}).get(event)
        if not isinstance(groups, list):
            return doc
        kept = []
        for group in groups:
            if isinstance(group, dict) and isinstance(group.get("hooks"), list):
                inner = [h for h in group["hooks"] if not ours(_cmd(h), agent)]
                if not inner:
                    continue
                group = {**group, "hooks": inner}
            kept.append(group)
        doc["hooks"][event] = kept
        if not kept:
            del doc["hooks"][event]
        return doc

    def add(doc: Doc, command: str) -> Doc:
        doc = remove(doc)
        hooks = doc.setdefault("hooks", {})
        if not isinstance(hooks, dict):
            raise ValueError("its 'hooks' is not an object")
        entry = {"type": "command", "command": command, **extra}
        hooks.setdefault(event, []).append({"matcher": matcher, "hooks": [entry]})
        return doc

    def commands(doc: Doc) -> list[str]:
        out = []
        for group in doc.get("hooks", {}).get(event, []) or []:
            for h in (group.get("hooks") or []) if isinstance(group, dict) else []:
                command = _cmd(h)
                if command is not None and ours(command, agent):
                    out.append(command)
        return out

    return add, remove, commands


def _cmd(hook: object) -> str | None:
    if not isinstance(hook, dict):
        return None
    value = hook.get("command", hook.get("bash"))
    return value if isinstance(value, str) else None


# --- Cursor: {"version": 1, "hooks": {"beforeShellExecution": [{"command"}], …}}
# `failClosed` makes Cursor block when the hook cannot start or times out; `preToolUse` with a
# matcher covers the editor's own file writes.

_CURSOR_EVENTS = ("beforeShellExecution", "beforeMCPExecution", "preToolUse")
_CURSOR_WRITES = "Write|Edit|MultiEdit|NotebookEdit|Delete|edit_file|search_replace|delete_file"


def _cursor_remove(doc: Doc) -> Doc:
    hooks = doc.get("hooks")
    if isinstance(hooks, dict):
        for event in _CURSOR_EVENTS:
            if isinstance(hooks.get(event), list):
                hooks[event] = [h for h in hooks[event] if not ours(_cmd(h), "cursor")]
                if not hooks[event]:
                    del hooks[event]
    return doc


def _cursor_add(doc: Doc, command: str) -> Doc:
    doc = _cursor_remove(doc)
    doc.setdefault("version", 1)
    hooks = doc.setdefault("hooks", {})
    for event in _CURSOR_EVENTS:
        entry: Doc = {"command": command, "timeout": TIMEOUT_SECONDS, "failClosed": True}
        if event == "preToolUse":
            entry = {"matcher": _CURSOR_WRITES, **entry}
        hooks.setdefault(event, []).append(entry)
    return doc


def _cursor_commands(doc: Doc) -> list[str]:
    hooks = doc.get("hooks") or {}
    return [
        _cmd(h) or "" for e in _CURSOR_EVENTS for h in hooks.get(e, []) or []
        if ours(_cmd(h), "cursor")
    ]


# --- Copilot CLI: {"version": 1, "hooks": {"preToolUse": [{"type", "bash", "timeoutSec"}]}}

def _copilot_remove(doc: Doc) -> Doc:
    hooks = doc.get("hooks")
    if isinstance(hooks, dict) and isinstance(hooks.get("preToolUse"), list):
        hooks["preToolUse"] = [h for h in hooks["preToolUse"] if not ours(_cmd(h), "copilot")]
        if not hooks["preToolUse"]:
            del hooks["preToolUse"]
    return doc


def _copilot_add(doc: Doc, command: str) -> Doc:
    doc = _copilot_remove(doc)
    doc.setdefault("version", 1)
    entry = {"type": "command", "bash": command, "timeoutSec": TIMEOUT_SECONDS}
    doc.setdefault("hooks", {}).setdefault("preToolUse", []).append(entry)
    return doc


def _copilot_commands(doc: Doc) -> list[str]:
    hooks = doc.get("hooks") or {}
    return [_cmd(h) or "" for h in hooks.get("preToolUse", []) or [] if ours(_cmd(h), "copilot")]


# --- Gemini CLI: settings.json {"hooks": {"BeforeTool": [{"matcher", "hooks": [...]}]}}

_gem_add, _gem_remove, _gem_commands = _matcher_hooks(
    "BeforeTool",
    "run_shell_command|write_file|replace|mcp_.*",
    "gemini",
    {"name": "safehold", "timeout": TIMEOUT_SECONDS * 1000},
)


def _gemini_add(doc: Doc, command: str) -> Doc:
    doc = _gem_add(doc, command)
    doc.setdefault("hooksConfig", {}).setdefault("enabled", True)
    return doc


_claude = _matcher_hooks(
    "PreToolUse",
    "Bash|PowerShell|Monitor|Write|Edit|MultiEdit|NotebookEdit|mcp__.*",
    "claude-code",
    {"timeout": TIMEOUT_SECONDS},
)
_codex = _matcher_hooks(
    "PreToolUse", "Bash|apply_patch|mcp__.*", "codex", {"timeout": TIMEOUT_SECONDS}
)

def claude_fail_closed(doc: Doc) -> Doc:
    """Mark safehold's Claude Code entries `"onFailure": "block"` (a failed hook blocks)."""
    for entry in claude_entries(doc):
        entry["onFailure"] = "block"
    return doc


def claude_entries(doc: Doc) -> list[Doc]:
    """safehold's own entries in a Claude Code settings document."""
    out = []
    for group in doc.get("hooks", {}).get("PreToolUse", []) or []:
        for h in (group.get("hooks") or []) if isinstance(group, dict) else []:
            if isinstance(h, dict) and ours(_cmd(h), "claude-code"):
                out.append(h)
    return out


TARGETS: dict[str, Target] = {
    "claude-code": Target(
        "claude-code", "Claude Code", ".claude/settings.json", ".claude/settings.json",
        *_claude, project_variable="CLAUDE_PROJECT_DIR",
    ),
    "cursor": Target(
        "cursor", "Cursor", ".cursor/hooks.json", ".cursor/hooks.json",
        _cursor_add, _cursor_remove, _cursor_commands,
    ),
    "codex": Target(
        "codex", "Codex CLI", ".codex/hooks.json", ".codex/hooks.json", *_codex,
        notes="Codex runs a new or changed hook only after you trust it: open `/hooks` in Codex "
        "and trust safehold's entry (again after every reinstall; `safehold doctor` shows "
        "whether it is trusted). Codex loads project hooks "
        "only in a trusted project; releases before hooks were on by default need "
        "`[features] codex_hooks = true` in ~/.codex/config.toml.",
    ),
    "gemini": Target(
        "gemini", "Gemini CLI", ".gemini/settings.json", ".gemini/settings.json",
        _gemini_add, _gem_remove, _gem_commands,
        notes="Gemini CLI ignores a project's settings, hooks included, in a folder you have not "
        "trusted (folder trust): trust the project folder, or install with --user.",
        project_variable="GEMINI_PROJECT_DIR",
    ),
    "copilot": Target(
        "copilot", "GitHub Copilot CLI", ".github/hooks/safehold.json",
        ".copilot/hooks/safehold.json", _copilot_add, _copilot_remove, _copilot_commands,
    ),
}
