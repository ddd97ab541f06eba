"""The routes by which the agent's own Unix user could switch safehold off, per agent.

`safehold doctor` runs as the agent's user and asks the file system, not the documentation: can
this user write the file that holds the hook, the program the hook runs, or the policy and
database that decide? Each open route comes with the fix. After `safehold setup --system` and
`safehold install <agent> --managed` none should remain.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from safehold.surfaces.hooks.main import SYSTEM_CLIENT_FILE
from safehold.surfaces.install import manage, managed, obstacles


@dataclass(frozen=True, slots=True)
class Route:
    agent: str  # "" for routes that concern every agent
    what: str
    fix: str


def writable(path: Path) -> bool:
    """Whether this user could change `path`: write it, or replace it in its directory, or
    (when it does not exist yet) create it; walks up to the first directory that exists."""
    p = path
    if p.exists():
        if os.access(p, os.W_OK):
            return True
        parent = p.parent
        return os.access(parent, os.W_OK) and not (parent.stat().st_mode & 0o1000)
    while not p.exists():
        if p.parent == p:
            return False
        p = p.parent
    return os.access(p, os.W_OK)


def as_root(*args: str) -> str:
    """A command root runs: this installation's full path, since root's PATH (sudo's
    secure_path) rarely holds the user's virtualenv."""
    import shlex
    import sys

    own = Path(sys.executable).with_name("safehold")
    exe = str(own) if own.exists() else "safehold"
    return " ".join(shlex.quote(a) for a in (exe, *args))


def program_writable(command: str) -> Path | None:
    """The hook's program (its first word), or a directory above it, when this user can
    change it: a hook whose program the agent can rewrite answers what the agent wants."""
    import shlex

    try:
        first = shlex.split(command)[0]
    except (ValueError, IndexError):
        return None
    exe = Path(first)
    if not exe.is_absolute():
        return None
    for p in (exe, *exe.parents):
        sticky = p.is_dir() and p.stat().st_mode & 0o1000
        if p.exists() and os.access(p, os.W_OK) and not sticky:
            return p
    return None


def system_mode(root: Path) -> bool:
    """Whether the system deployment's client file is in place and root's."""
    from safehold.surfaces.hooks.system import writable_by_others

    client = root / SYSTEM_CLIENT_FILE.lstrip("/")
    return client.exists() and writable_by_others(str(client)) is None


def open_routes(
    *, project: Path, home: Path, root: Path, environ: Mapping[str, str],
    agents: tuple[str, ...],
) -> list[Route]:
    routes: list[Route] = []
    system = system_mode(root)
    if not system:
        routes.append(Route(
            "", "same-user mode: safehold's policy, configuration, approvals and audit log are "
            "files this user owns (~/.config/safehold, ~/.local/share/safehold); the hook "
            "stops mistakes, not a determined agent",
            f"run `{as_root('setup', '--system')}` as root, then "
            f"`{as_root('install')} <agent> --managed`",
        ))
    for agent in agents:
        routes += _agent_routes(agent, project, home, root, environ, system)
    return routes


def _agent_routes(agent: str, project: Path, home: Path, root: Path,
                  environ: Mapping[str, str], system: bool) -> list[Route]:
    out: list[Route] = []
    mpath = managed.managed_path(agent, root)
    commands = managed.managed_commands(agent, root)
    if not commands:
        out.append(Route(agent, f"no hook in the administrator-owned {mpath}: the hook lives "
                         "in settings this user can edit, or nowhere",
                         f"run `{as_root('install', agent, '--managed')}` as root"))
    elif writable(mpath):
        out.append(Route(agent, f"{mpath} holds the hook but this user can change it",
                         f"chown root:root {mpath} && chmod 0644 {mpath} (and its directory)"))
    for scope in ("project", "user"):
        _, cmds = manage.installed(agent, scope, project=project, home=home)
        commands += cmds
    for command in dict.fromkeys(commands):
        where = program_writable(manage.with_project(command, agent, project))
        if where is not None:
            out.append(Route(agent, f"the hook runs {command.split()[0]}, and this user can "
                             f"change {where}", "install safehold where only root can write "
                             "(e.g. a root-owned virtualenv) and reinstall the hook"))
        if not system and " --client " in command:
            out.append(Route(agent, f"the hook names a client file that is not root's: "
                             f"{command}", f"rerun `{as_root('setup', '--system')}`"))
    out += _overrides(agent, project, home, environ)
    return out


def _overrides(agent: str, project: Path, home: Path, environ: Mapping[str, str]) -> list[Route]:
    """Settings and variables this user controls that switch hooks off or move the
    administrator's file."""
    out: list[Route] = []
    if agent == "gemini" and environ.get("GEMINI_CLI_SYSTEM_SETTINGS_PATH"):
        out.append(Route(agent, "GEMINI_CLI_SYSTEM_SETTINGS_PATH="
                         f"{environ['GEMINI_CLI_SYSTEM_SETTINGS_PATH']} makes Gemini read other "
                         "system settings than the administrator's",
                         "unset it in the agent's environment (and the shell profiles that set "
                         "it)"))
    for _, what, fix in obstacles.switched_off(agent, project, home):
        out.append(Route(agent, what, fix))
    if agent == "copilot" and environ.get("COPILOT_HOME"):
        out.append(Route(agent, f"COPILOT_HOME={environ['COPILOT_HOME']} moves the user-level "
                         "hooks (policy hooks still run)", "rely on the --managed policy hook"))
    return out
