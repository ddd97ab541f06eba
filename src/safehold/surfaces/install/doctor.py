"""`safehold doctor`: which agents have safehold's hook, where, and whether it really answers.

A hook that is configured but cannot start (moved virtualenv, typo) fails open in every agent,
so doctor runs each installed command exactly as the agent would, with a harmless probe and a
destructive one, and reports what the agent would make of each answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from safehold.surfaces.hooks.runner import PROBE_SESSION, PROBE_VARIABLE
from safehold.surfaces.install import manage, probes
from safehold.surfaces.install.targets import TARGETS

#: (label, command, what a working hook must not answer)
PROBES = (
    ("harmless", "ls", ("broken", "deny")),
    ("destructive", "rm -rf ~", ("broken", "allow", "none")),
)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    label: str
    command: str
    verdict: str
    seconds: float
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Finding:
    agent: str
    scope: str
    path: Path
    commands: tuple[str, ...]
    probes: tuple[ProbeResult, ...] = field(default=())
    notes: str = ""

    @property
    def healthy(self) -> bool:
        return bool(self.commands) and all(p.ok for p in self.probes)


def examine(
    *, project: Path, home: Path, agents: tuple[str, ...] | None = None, probe: bool = True,
    root: Path = Path("/"),
) -> list[Finding]:
    from safehold.surfaces.install import managed

    found: list[Finding] = []
    for agent in agents or tuple(TARGETS):
        for scope in ("managed", "project", "user"):
            if scope == "managed":
                path = managed.managed_path(agent, root)
                commands = managed.managed_commands(agent, root)
            else:
                path, commands = manage.installed(agent, scope, project=project, home=home)
            if not commands:
                continue
            results = run_probe(agent, commands[0], project) if probe else ()
            found.append(
                Finding(agent, scope, path, tuple(commands), results, TARGETS[agent].notes)
            )
    return found


def daemon_state(environ: dict[str, str]) -> str:
    """Whether this environment's resident hook daemon is up, in one line."""
    import socket

    from safehold.surfaces.hooks import client

    path = client.socket_path(environ)
    if path is None:
        return "hook daemon: not used (its socket directory is not private to you)"
    if environ.get("SAFEHOLD_HOOKD") == "0":
        return "hook daemon: off (SAFEHOLD_HOOKD=0); every call loads the decision path"
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(1)
            s.connect(path)
        return f"hook daemon: running at {path}"
    except OSError:
        return f"hook daemon: not running; the next hook call starts it ({path})"


def _probe_environment(agent: str, project: Path) -> dict[str, str]:
    """The hook's environment as the agent sets it (its project-directory variable), marked
    as doctor's so the call is recorded as a probe and files no approval request."""
    env = {**os.environ, PROBE_VARIABLE: "doctor"}
    variable = TARGETS[agent].project_variable
    if variable:
        env[variable] = str(project)
    return env


def run_probe(agent: str, command: str, cwd: Path) -> tuple[ProbeResult, ...]:
    out = []
    for label, probe_command, bad in PROBES:
        payload = json.dumps(probes.shell_payload(agent, probe_command, str(cwd),
                                                  session=PROBE_SESSION))
        start = time.monotonic()
        try:
            proc = subprocess.run(
                ["/bin/sh", "-c", command],
                input=payload,
                capture_output=True,
                text=True,
                cwd=cwd,
                env=_probe_environment(agent, cwd),
                timeout=35,
            )
        except subprocess.TimeoutExpired:
            out.append(ProbeResult(label, probe_command, "timeout", 35.0, False, "no answer"))
            continue
        seconds = time.monotonic() - start
        verdict = probes.verdict(agent, proc.stdout, proc.returncode, proc.stderr)
        detail = "" if verdict != "broken" else (proc.stderr.strip() or proc.stdout.strip())[:300]
        out.append(
            ProbeResult(label, probe_command, verdict, seconds, verdict not in bad, detail)
        )
    return tuple(out)
