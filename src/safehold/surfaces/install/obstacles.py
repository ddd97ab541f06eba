"""Why an installed hook may not fire, or may let a call through, per agent.

A hook that is configured and answers a probe can still do nothing: the agent may have hooks
switched off, may not trust the folder or the hook itself, or may let the call go ahead when the
hook crashes or times out. What this machine's files show is `held` (doctor exits 1); what only
the agent itself knows is shown as something to check, without changing the exit status.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from safehold.surfaces.install import codex_trust, targets, versions


@dataclass(frozen=True, slots=True)
class Obstacle:
    agent: str
    what: str
    fix: str
    #: seen in this machine's files, as opposed to something doctor cannot see
    held: bool = True


def switched_off(agent: str, project: Path, home: Path) -> list[tuple[Path, str, str]]:
    """(file, what, fix) for every setting this user controls that turns the agent's hooks off."""
    out: list[tuple[Path, str, str]] = []
    if agent == "gemini":
        for path in (home / ".gemini/settings.json", project / ".gemini/settings.json"):
            cfg = read_json(path).get("hooksConfig") or {}
            if isinstance(cfg, dict) and (cfg.get("enabled") is False or cfg.get("disabled")):
                out.append((path, f"{path} turns hooks off (hooksConfig)",
                            f"remove hooksConfig.enabled/disabled from {path}"))
    if agent == "claude-code":
        for path in (home / ".claude/settings.json", project / ".claude/settings.json",
                     project / ".claude/settings.local.json"):
            if read_json(path).get("disableAllHooks") is True:
                out.append((path, f"{path} sets disableAllHooks (only the managed hook still "
                            "runs)", f"remove disableAllHooks from {path}"))
    if agent == "codex":
        for path in (home / ".codex/config.toml", project / ".codex/config.toml"):
            features = read_toml(path).get("features") or {}
            if isinstance(features, dict) and (features.get("hooks") is False
                                               or features.get("codex_hooks") is False):
                out.append((path, f"{path} sets [features] hooks = false",
                            "remove it, or force hooks on in /etc/codex/requirements.toml"))
    return out


def obstacles(
    agent: str, *, project: Path, home: Path, files: Mapping[str, Path],
    environ: Mapping[str, str],
) -> list[Obstacle]:
    """Every reason `agent`'s hook, installed in `files` (scope -> file), may not fire."""
    found = [Obstacle(agent, what, fix) for _, what, fix in switched_off(agent, project, home)]
    if agent == "claude-code":
        found += _claude_fail_open(files, environ)
    if agent == "gemini" and "project" in files:
        found += _gemini_untrusted(project, home)
    if agent == "codex":
        found += _codex_untrusted(files, home, environ)
    return found


def _codex_untrusted(files: Mapping[str, Path], home: Path,
                     environ: Mapping[str, str]) -> list[Obstacle]:
    """Codex skips a user or project hook nobody trusted in `/hooks`, or one changed since."""
    codex_home = Path(environ.get("CODEX_HOME") or home / ".codex")
    out = []
    for scope, path in files.items():
        if scope == "managed":
            continue
        for key, status in codex_trust.states(path, codex_home):
            if status == "trusted":
                continue
            why = {"untrusted": "has not been trusted in `/hooks`",
                   "modified": "changed since it was trusted in `/hooks` (a reinstall does that)",
                   "disabled": "is turned off in `/hooks`"}[status]
            out.append(Obstacle(
                "codex", f"{path}: Codex skips safehold's hook, which {why} "
                f"({codex_home / 'config.toml'}, hooks.state {key!r})",
                "open `/hooks` in Codex and trust (and enable) safehold's PreToolUse entry"))
    return out


def _claude_fail_open(files: Mapping[str, Path], environ: Mapping[str, str]) -> list[Obstacle]:
    version = versions.claude_version(environ)
    out = []
    for scope, path in files.items():
        entries = targets.claude_entries(read_json(path))
        if not entries or all(e.get("onFailure") == "block" for e in entries):
            continue
        if versions.claude_fails_closed(version):
            from safehold.invocation import command

            again = command("install", "claude-code", *_flag(scope).split())
            fix = f"reinstall (`{again}`) to add it"
        else:
            need = versions.shown(versions.CLAUDE_FAIL_CLOSED)
            found = ("no `claude` on PATH" if version is None
                     else f"Claude Code {versions.shown(version)} is installed")
            fix = f"upgrade Claude Code to {need} or later ({found}), then reinstall"
        out.append(Obstacle(
            "claude-code", f"{path}: the hook has no \"onFailure\": \"block\", so Claude Code "
            "lets the call through when the hook cannot start, crashes or times out", fix))
    return out


def _flag(scope: str) -> str:
    return {"user": " --user", "managed": " --managed"}.get(scope, "")


def _gemini_untrusted(project: Path, home: Path) -> list[Obstacle]:
    """Gemini CLI loads a project's settings (and so its hooks) only in a trusted folder."""
    trust = (read_json(home / ".gemini/settings.json").get("security") or {})
    folder_trust = trust.get("folderTrust") if isinstance(trust, dict) else None
    enabled = folder_trust.get("enabled") if isinstance(folder_trust, dict) else None
    if enabled is False:
        return []
    level = trust_level(project, read_json(home / ".gemini/trustedFolders.json"))
    if level == "trusted":
        return []
    fix = (f"trust {project} in Gemini CLI (the folder trust dialog, or `/permissions`), or "
           "install with --user")
    if level == "untrusted" or enabled is True:
        return [Obstacle("gemini", f"{project} is not a trusted folder for Gemini CLI, which "
                         "then ignores the project's hooks", fix)]
    return [Obstacle("gemini", f"{project} is not listed as trusted in "
                     f"{home / '.gemini/trustedFolders.json'}; where folder trust is on, Gemini "
                     "CLI ignores the project's hooks", fix, held=False)]


def trust_level(folder: Path, rules: Mapping[str, object]) -> str | None:
    """trusted, untrusted, or None (no rule), by the most specific rule in trustedFolders.json:
    TRUST_FOLDER covers the folder and below, TRUST_PARENT its parent, DO_NOT_TRUST refuses."""
    best: tuple[int, str] | None = None
    target = os.path.normpath(str(folder))
    for raw, level in rules.items():
        base = os.path.normpath(raw)
        if level == "TRUST_PARENT":
            base = os.path.dirname(base)
        elif level not in ("TRUST_FOLDER", "DO_NOT_TRUST"):
            continue
        if target == base or target.startswith(base.rstrip("/") + "/"):
            verdict = "untrusted" if level == "DO_NOT_TRUST" else "trusted"
            if best is None or len(base) > best[0]:
                best = (len(base), verdict)
    return best[1] if best else None


def read_json(path: Path) -> dict[str, object]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def read_toml(path: Path) -> dict[str, object]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return {}
