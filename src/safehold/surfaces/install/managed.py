"""`safehold install <agent> --managed`: the hook in the settings only an administrator can write.

Every agent reads one settings location that its user cannot change and that user or project
settings cannot switch off; a hook there survives an agent that edits its own configuration.
Written as root, owned by root, mode 0644, with the hook command naming the system deployment's
client file when it is not the default one (installs under a `--root` prefix).

- Claude Code: /etc/claude-code/managed-settings.json (`disableAllHooks` in other settings
  cannot disable a managed hook);
- Codex CLI: /etc/codex/requirements.toml (inline `[[hooks.PreToolUse]]`; managed hooks need
  no trust);
- Gemini CLI: /etc/gemini-cli/settings.json (system settings override user and workspace);
- Cursor: /etc/cursor/hooks.json;
- Copilot CLI: /etc/github-copilot/policy.d/safehold.json (policy hooks ignore
  `disableAllHooks` and folder trust).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from safehold.surfaces.hooks.main import SYSTEM_CLIENT_FILE
from safehold.surfaces.install import manage
from safehold.surfaces.install.targets import TIMEOUT_SECONDS, ours

MANAGED_FILES = {
    "claude-code": "/etc/claude-code/managed-settings.json",
    "codex": "/etc/codex/requirements.toml",
    "gemini": "/etc/gemini-cli/settings.json",
    "cursor": "/etc/cursor/hooks.json",
    "copilot": "/etc/github-copilot/policy.d/safehold.json",
}
_BEGIN, _END = "# >>> safehold hook >>>", "# <<< safehold hook <<<"


def managed_path(agent: str, root: Path) -> Path:
    manage.target(agent)
    return root / MANAGED_FILES[agent].lstrip("/")


def managed_command(
    agent: str, root: Path, executable: str | None = None, auto_approve: bool = False
) -> str:
    command = manage.hook_command(agent, executable, auto_approve)
    client = root / SYSTEM_CLIENT_FILE.lstrip("/")
    if str(client) != SYSTEM_CLIENT_FILE:
        command += f" --client {client}"
    return command


def install_managed(
    agent: str, root: Path, executable: str | None = None, auto_approve: bool = False
) -> manage.Change:
    if os.geteuid() != 0:
        raise manage.InstallError("--managed writes administrator-owned settings: run as root")
    path = managed_path(agent, root)
    command = managed_command(agent, root, executable, auto_approve)
    if agent == "codex":
        changed = _write_codex(path, command)
    else:
        doc = manage.read(path)
        before = repr(doc)
        doc = manage.add_entry(agent, doc, command)
        changed = repr(doc) != before
        if changed:
            _parents(path)
            manage.write(path, doc)
    _parents(path)
    os.chown(path, 0, 0)
    os.chmod(path, 0o644)
    return manage.Change(agent, path, changed, command)


def managed_commands(agent: str, root: Path) -> list[str]:
    """safehold's hook commands in the agent's administrator-owned settings."""
    path = managed_path(agent, root)
    if not path.exists():
        return []
    try:
        if agent == "codex":
            with open(path, "rb") as fh:
                doc = tomllib.load(fh)
            return [c for c in manage.target(agent).commands(doc) if ours(c, agent)]
        return list(dict.fromkeys(manage.target(agent).commands(manage.read(path))))
    except (OSError, tomllib.TOMLDecodeError, manage.InstallError):
        return []


def _parents(path: Path) -> None:
    """The directories up to the file exist and are root's, 0755."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chown(path.parent, 0, 0)
    os.chmod(path.parent, 0o755)


def _codex_block(command: str) -> str:
    quoted = command.replace("\\", "\\\\").replace('"', '\\"')
    return (
        f"{_BEGIN}\n"
        "[[hooks.PreToolUse]]\n"
        'matcher = "Bash|apply_patch|mcp__.*"\n'
        "[[hooks.PreToolUse.hooks]]\n"
        'type = "command"\n'
        f'command = "{quoted}"\n'
        f"timeout = {TIMEOUT_SECONDS}\n"
        f"{_END}\n"
    )


def _write_codex(path: Path, command: str) -> bool:
    """requirements.toml keeps everything else; safehold's block sits between two markers."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    start, end = text.find(_BEGIN), text.find(_END)
    if start >= 0 and end > start:
        text = text[:start] + text[end + len(_END):].lstrip("\n")
    new = (text.rstrip("\n") + "\n\n" if text.strip() else "") + _codex_block(command)
    try:
        doc = tomllib.loads(new)
    except tomllib.TOMLDecodeError as exc:
        raise manage.InstallError(
            f"{path}: adding safehold's hook would not be valid TOML ({exc}); add it by hand "
            "(docs/security.md)"
        ) from None
    if command not in manage.target("codex").commands(doc):
        raise manage.InstallError(f"{path}: its [hooks] table has a shape safehold cannot extend")
    old = path.read_text(encoding="utf-8") if path.exists() else None
    if new == old:
        return False
    _parents(path)
    tmp = path.with_name(f".{path.name}.new")
    tmp.write_text(new, encoding="utf-8")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return True
