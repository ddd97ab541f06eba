"""Whether Codex will run safehold's hook: Codex runs a hook from a user or project hooks.json
only once the user trusted it in `/hooks`, which stores a hash of the hook under
`[hooks.state."<hooks.json>:pre_tool_use:<group>:<handler>"] trusted_hash` in
`$CODEX_HOME/config.toml`. A hook that is new, or changed since (a reinstall with another
command or timeout), is skipped silently. Hooks from the system layer are managed: no trust.

The hash is Codex's normalized hook identity (event label, matcher, and the one handler's type,
command, timeout, async flag) as canonical JSON (sorted keys, compact), SHA-256, `sha256:`
prefixed (codex-rs `version_for_toml`; see docs/agents.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from safehold.surfaces.install import targets

#: Codex's default handler timeout when hooks.json names none
DEFAULT_TIMEOUT = 600


def hook_hash(matcher: str | None, handler: Mapping[str, Any], event: str = "pre_tool_use") -> str:
    """The `trusted_hash` Codex expects for one command handler of `event` (its snake label)."""
    normalized: dict[str, Any] = {
        "type": "command",
        "command": handler.get("command"),
        "timeout": max(int(handler.get("timeout") or DEFAULT_TIMEOUT), 1),
        "async": False,
    }
    if isinstance(handler.get("statusMessage"), str):
        normalized["statusMessage"] = handler["statusMessage"]
    identity: dict[str, Any] = {"event_name": event, "hooks": [normalized]}
    if matcher is not None:
        identity["matcher"] = matcher
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def states(hooks_file: Path, codex_home: Path) -> list[tuple[str, str]]:
    """(key, trusted | modified | untrusted | disabled) for each safehold entry in hooks_file."""
    doc = _json(hooks_file)
    state = (_toml(codex_home / "config.toml").get("hooks") or {}).get("state") or {}
    out = []
    groups = (doc.get("hooks") or {}).get("PreToolUse") or []
    for gi, group in enumerate(groups if isinstance(groups, list) else []):
        if not isinstance(group, dict):
            continue
        for hi, handler in enumerate(group.get("hooks") or []):
            if not isinstance(handler, dict) or not targets.ours(handler.get("command"), "codex"):
                continue
            key = f"{hooks_file}:pre_tool_use:{gi}:{hi}"
            record = state.get(key) if isinstance(state, dict) else None
            record = record if isinstance(record, dict) else {}
            trusted = record.get("trusted_hash")
            if record.get("enabled") is False:
                status = "disabled"
            elif trusted is None:
                status = "untrusted"
            elif trusted == hook_hash(group.get("matcher"), handler):
                status = "trusted"
            else:
                status = "modified"
            out.append((key, status))
    return out


def _json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _toml(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(path.read_text())
    except (OSError, ValueError):
        return {}
