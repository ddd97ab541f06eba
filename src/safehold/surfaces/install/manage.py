"""Install, uninstall and inspect safehold's hook in agents' configuration files.

A file is read, changed in memory and written back whole through a temporary file and a rename,
so a crash never leaves half a settings file. A file safehold cannot parse (or one with comments,
which a JSON round trip would lose) is never rewritten: the user is told what to add by hand.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safehold.surfaces.install.targets import TARGETS, Target


class InstallError(Exception):
    """A configuration file cannot be changed safely."""


@dataclass(frozen=True, slots=True)
class Change:
    agent: str
    path: Path
    changed: bool
    command: str | None = None
    #: the command names an absolute path of this machine in a project file
    per_machine: bool = False


def hook_command(agent: str, executable: str | None = None, auto_approve: bool = False) -> str:
    """The command line an agent runs: this installation's own `safehold`, by absolute path,
    so the hook does not depend on the agent's PATH. `auto_approve` makes routine actions an
    explicit allow, which skips the agent's own permission prompt (off by default)."""
    exe = executable or _safehold_executable()
    prefix = "SAFEHOLD_AUTO_APPROVE=1 " if auto_approve else ""
    return f"{prefix}{shlex.quote(exe)} hook {agent}"


def portable_command(agent: str, project: Path, auto_approve: bool = False) -> str | None:
    """For a project file meant to be committed: when this installation's virtualenv lives
    inside the project, a command that finds it through the agent's project-directory variable,
    so the file names no path of this machine and still works in a clone elsewhere. A hook that
    cannot start there (no virtualenv yet, a moved one) refuses with exit 2 instead of failing
    open. None when the agent has no such variable or safehold lives outside the project."""
    variable = target(agent).project_variable
    venv = Path(sys.prefix)
    if variable is None or sys.prefix == sys.base_prefix:
        return None
    try:
        inside = venv.resolve().relative_to(project.resolve())
    except ValueError:
        return None
    python = f'"${variable}"/{shlex.quote(str(inside / "bin" / "python"))}'
    prefix = "SAFEHOLD_AUTO_APPROVE=1 " if auto_approve else ""
    return (
        f"{prefix}{python} -m safehold hook {agent} || {{ s=$?; [ $s = 2 ] || echo \"safehold: "
        f"the hook in ${variable}/{inside} could not run (exit $s); refusing until it is set "
        f"up there (./scripts/setup or pip install safehold)\" >&2; exit 2; }}"
    )


def with_project(command: str, agent: str, project: Path) -> str:
    """`command` with the agent's project-directory variable replaced by `project`, as the
    agent expands it when it runs the hook there."""
    variable = target(agent).project_variable
    if variable is None:
        return command
    value = str(project)
    return command.replace(f'"${variable}"', shlex.quote(value)).replace(f"${variable}", value)


def add_entry(agent: str, doc: dict[str, Any], command: str) -> dict[str, Any]:
    """`doc` with safehold's entry for `agent`, fail-closed where the installed agent can be."""
    from safehold.surfaces.install import targets, versions

    doc = target(agent).add(doc, command)
    if agent == "claude-code" and versions.claude_fails_closed(
        versions.claude_version(os.environ)
    ):
        doc = targets.claude_fail_closed(doc)
    return doc


def _safehold_executable() -> str:
    candidate = Path(sys.executable).with_name("safehold")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("safehold")
    return found or "safehold"


def target(agent: str) -> Target:
    try:
        return TARGETS[agent]
    except KeyError:
        known = ", ".join(TARGETS)
        raise InstallError(f"unknown agent {agent!r}; expected one of {known}") from None


def install(
    agent: str, scope: str, *, project: Path, home: Path, executable: str | None = None,
    auto_approve: bool = False,
) -> Change:
    t = target(agent)
    path = t.path(scope, project, home)
    doc = read(path)
    portable = (
        portable_command(agent, project, auto_approve)
        if scope == "project" and executable is None else None
    )
    command = portable or hook_command(agent, executable, auto_approve)
    before = json.dumps(doc, sort_keys=True)
    try:
        doc = add_entry(agent, doc, command)
    except (ValueError, AttributeError, TypeError) as exc:
        raise InstallError(f"{path}: cannot add safehold's hook: {exc}") from None
    changed = json.dumps(doc, sort_keys=True) != before
    if changed:
        write(path, doc)
    return Change(agent, path, changed, command, per_machine=scope == "project" and not portable)


def uninstall(agent: str, scope: str, *, project: Path, home: Path) -> Change:
    t = target(agent)
    path = t.path(scope, project, home)
    if not path.exists():
        return Change(agent, path, False)
    doc = read(path)
    before = json.dumps(doc, sort_keys=True)
    doc = t.remove(doc)
    changed = json.dumps(doc, sort_keys=True) != before
    if changed:
        write(path, doc)
    return Change(agent, path, changed)


def installed(agent: str, scope: str, *, project: Path, home: Path) -> tuple[Path, list[str]]:
    """The file for this agent and scope, and safehold's hook commands found in it."""
    t = target(agent)
    path = t.path(scope, project, home)
    if not path.exists():
        return path, []
    try:
        return path, list(dict.fromkeys(t.commands(read(path))))
    except InstallError:
        return path, []


def read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InstallError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not text.strip():
        return {}
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InstallError(
            f"{path}: not plain JSON ({exc}); safehold will not rewrite it. Add the hook by "
            "hand (see docs/agents.md)."
        ) from None
    if not isinstance(doc, dict):
        raise InstallError(f"{path}: the top level is not a JSON object")
    return doc


def write(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2)
            fh.write("\n")
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
