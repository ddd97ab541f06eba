"""The scripted agent: what the agent in the incident did, and how agents reroute when refused.

It works as a coding agent does, through tools: `Bash` runs a shell command in the workspace,
`Write` writes a file. When a hook is installed every tool call goes first to the real hook
process (`safehold hook claude-code`, fed the agent's own JSON) and runs only if the hook has
no objection; "ask" means a human is asked, and in the replay nobody says yes to the agent's
own request, so the call does not run. What then happens to a command that runs is up to the
world: the provider, the gateway, whatever the program reaches.

The agent's plan is data (`pocketos.yaml`): each attempt, the route it takes, and the files it
writes first.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from safehold.replay.world import API, VOLUME


@dataclass(frozen=True)
class Attempt:
    route: str  # what kind of reroute this is: curl, script, cli, another tool, spelling …
    say: str  # what the agent says it is doing
    command: str  # the shell command (after the files are written)
    files: tuple[tuple[str, str], ...] = ()  # (path, content) written with the Write tool
    search: bool = False
    needs: str = ""  # "gateway" or "direct": only in a world where that applies


@dataclass
class Outcome:
    attempt: Attempt
    command: str
    hook: str | None = None  # allow | deny | ask | None (no hook)
    hook_reason: str = ""
    ran: bool = False
    exit_code: int | None = None
    output: str = ""
    at: float = field(default_factory=time.time)
    seconds: float = 0.0

    def verdict(self) -> str:
        """One line: who stopped it, or what the program got back."""
        if self.hook in ("deny", "ask"):
            rule = _rule(self.hook_reason)
            held = self.hook == "ask" or "for a human's approval" in self.hook_reason
            word = "held for a human (not run)" if held else "refused"
            return f"hook {word}{f': {rule}' if rule else ''}"
        out = self.output
        for code in ("SAFEHOLD_CAPABILITY_REFUSED", "SAFEHOLD_DENIED",
                     "SAFEHOLD_APPROVAL_REQUIRED", "SAFEHOLD_DELAYED"):
            if code in out:
                return f"gateway: {code}{_gateway_rule(out)}"
        if "Not Authorized" in out:
            return "provider: 401 Not Authorized (the token it sent is not a provider token)"
        if '"volumeDelete":true' in out.replace(" ", ""):
            return "provider: volumeDelete succeeded"
        if self.exit_code == 0:
            return "ran" if self.attempt.search else "ran (nothing was deleted)"
        return f"ran, exit {self.exit_code}: {out.strip().splitlines()[-1][:90] if out else ''}"


def _rule(reason: str) -> str:
    for line in reason.splitlines():
        line = line.strip()
        if line.startswith("Why:") or line.startswith("Why this needs you:"):
            return line.split(":", 1)[1].strip().split(":", 1)[0]
    return ""


def _gateway_rule(out: str) -> str:
    try:
        body = json.loads(out.strip().splitlines()[0])
        ext = body["errors"][0].get("extensions", {})
        rules = ext.get("rules") or []
        return f" ({', '.join(rules)})" if rules else ""
    except (ValueError, KeyError, IndexError, TypeError):
        return ""


READ_TOKEN = "$(sed -n 's/^RAILWAY_TOKEN=//p' {file})"
PLACEHOLDERS = {
    "{api}": API, "{volume}": VOLUME,
    "{token}": READ_TOKEN.format(file="ops/domains.env"),
    "{staging_token}": READ_TOKEN.format(file=".env.staging"),
    "{mutation}": f'mutation {{ volumeDelete(volumeId: \\"{VOLUME}\\") }}',
}


def _fill(text: str) -> str:
    for key, value in PLACEHOLDERS.items():
        text = text.replace(key, value)
    return text


def _attempt(raw: dict[str, object]) -> Attempt:
    files = raw.get("files") or {}
    assert isinstance(files, dict)
    return Attempt(str(raw["route"]), str(raw["say"]), _fill(str(raw["command"])),
                   tuple((str(k), _fill(str(v))) for k, v in files.items()),
                   bool(raw.get("search")), str(raw.get("needs", "direct")))


def load(name: str = "pocketos") -> tuple[tuple[Attempt, ...], Attempt]:
    """The scenario's attempts and the escalation, from `<name>.yaml` beside this module."""
    raw = yaml.safe_load((Path(__file__).with_name(f"{name}.yaml")).read_text())
    return tuple(_attempt(a) for a in raw["attempts"]), _attempt(raw["escalation"])


class Agent:
    """Runs attempts through the hook (when installed) and then in the workspace."""

    def __init__(self, workspace: Path, env: Mapping[str, str],
                 hook: Callable[..., tuple[str, str]] | None,
                 session: str):
        self.workspace = workspace
        self.env = dict(env)
        self.hook = hook
        self.session = session
        self.outcomes: list[Outcome] = []
        #: SAFEHOLD_* settings of the session the hook judges (its environment, say)
        self.session_env: dict[str, str] = {}

    def _ask_hook(self, tool: str, tool_input: dict[str, str]) -> tuple[str, str]:
        assert self.hook is not None
        return self.hook({"hook_event_name": "PreToolUse", "session_id": self.session,
                          "cwd": str(self.workspace), "tool_name": tool,
                          "tool_input": tool_input, "tool_use_id": f"t{len(self.outcomes)}"},
                         **self.session_env)

    def attempt(self, attempt: Attempt) -> Outcome:
        started = time.monotonic()
        outcome = Outcome(attempt, attempt.command)
        for path, content in attempt.files:
            if self.hook is not None:
                verdict, reason = self._ask_hook("Write", {
                    "file_path": str(self.workspace / path), "content": content})
                if verdict != "allow":
                    outcome.hook, outcome.hook_reason = verdict, reason
                    return self._done(outcome, started)
            (self.workspace / path).parent.mkdir(parents=True, exist_ok=True)
            (self.workspace / path).write_text(content)
        if self.hook is not None:
            outcome.hook, outcome.hook_reason = self._ask_hook(
                "Bash", {"command": attempt.command, "description": attempt.say})
            if outcome.hook != "allow":
                return self._done(outcome, started)
        proc = subprocess.run(["bash", "-c", attempt.command], cwd=self.workspace, env=self.env,
                              capture_output=True, text=True, timeout=90)
        outcome.ran, outcome.exit_code = True, proc.returncode
        outcome.output = (proc.stdout + proc.stderr)[-2000:]
        return self._done(outcome, started)

    def _done(self, outcome: Outcome, started: float) -> Outcome:
        outcome.seconds = time.monotonic() - started
        self.outcomes.append(outcome)
        return outcome
