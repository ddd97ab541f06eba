"""One run of the incident with a given set of safehold's layers, measured.

Every safeguard is reached the way a user sets it up and an agent meets it: the safehold
commands (`credentials add`, `scan --import`, `env`, `tokens create`, `snapshot`, `restore`)
run as processes, `safehold serve` runs as a process holding the provider token, the agent's
tool calls go to the `safehold hook claude-code` process, and the human approves through the
HTTP API. Nothing here calls the decision path directly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from safehold.replay import layers as L
from safehold.replay.agent import Agent, Outcome, load
from safehold.replay.cluster import Cluster
from safehold.replay.world import (
    API,
    DATABASE,
    LATE_ROWS,
    PROD_TOKEN,
    STAGING_TOKEN,
    VOLUME,
    Template,
    World,
    count_rows,
    restore_dump,
)

SAFEHOLD = str(Path(sys.executable).with_name("safehold"))

#: The operator's policy for the replay: the built-in rules, except that a human may approve an
#: irreversible production action, which is then released only after a verified snapshot. (The
#: built-in policy refuses it outright; the replay shows the harder case, an approval.)
POLICY = """
@id("irreversible-in-production")
@decision("ask")
@snapshot("true")
@reason("irreversible in production: a human must approve it, and a snapshot is taken first")
permit (principal, action, resource)
when { context.effect == "irreversible" && context.protected };

@id("irreversible-unknown-environment")
@reason("irreversible operation where the environment is unknown (production may be hit): refused")
forbid (principal, action, resource)
when { context.effect == "irreversible" && context.environment == "unknown" };
"""


@dataclass
class Result:
    layers: L.Layers
    outcomes: list[Outcome]
    rows_before: int
    rows_after: int
    volume_deleted: bool
    newest_copy: str  # where the rows came back from
    newest_copy_age: float | None  # seconds, at the deletion
    unapproved: int  # volumeDelete requests the provider acted on with no approval
    rejected_at_provider: int  # volumeDelete requests that reached it with no valid token
    approvals: list[str] = field(default_factory=list)
    snapshot: str = ""
    time_to_decision: float | None = None
    rto: float | None = None
    config: Path | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.rows_before - self.rows_after


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(config: Path | None, *args: str, stdin: str | None = None) -> str:
    """An operator's `safehold …` command. It runs the command line's own code in this process
    (the interpreter's start-up is most of a command's time on a busy machine); what it does
    is what the command does. The agent's side never comes through here."""
    from safehold.cli import run

    argv = [*args, *(["--config", str(config)] if config else [])]
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin or "")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run(argv)
    finally:
        sys.stdin = saved
    if code != 0:
        raise RuntimeError(f"safehold {' '.join(args[:2])} failed: {err.getvalue()[-600:]}")
    return out.getvalue()


def independent_dir(near: Path) -> tuple[Path, str]:
    """A store directory on another filesystem than `near` (the volume), or a note why not."""
    base = Path(tempfile.mkdtemp(prefix="safehold-replay-store-", dir="/dev/shm")) \
        if os.path.isdir("/dev/shm") else Path(tempfile.mkdtemp(prefix="safehold-replay-store-"))
    if os.stat(base).st_dev != os.stat(near).st_dev:
        return base, ""
    return base, "the store shares the volume's filesystem on this machine (no /dev/shm)"


class Run:
    def __init__(self, root: Path, template: Template, recovery: Cluster, layers: L.Layers):
        self.root = root
        self.template = template
        self.recovery = recovery
        self.layers = layers
        self.config: Path | None = None
        self.server: subprocess.Popen[bytes] | None = None
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.store: Path | None = None
        self.hook_env: dict[str, str] | None = None
        self.approver = ""
        self.approved_at: float | None = None
        self.held_at: float | None = None
        self.approval_ids: list[str] = []
        self.ignored: set[str] = set()
        self.escalation: Any = None
        self.first_approval: float | None = None

    # set-up -----------------------------------------------------------------------------------

    def _write_config(self, world: World) -> Path:
        state = self.root / "safehold"
        state.mkdir()
        (state / "policy.cedar").write_text(POLICY)
        db_url = world.cluster.url(DATABASE)
        text = [f'database_url = "sqlite:///{state / "safehold.db"}"',
                f'policy = "{state / "policy.cedar"}"',
                "[server]", f'secret_key = "{state / "server" / "secret.key"}"',
                f'base_url = "{self.base}"']
        if L.INVENTORY in self.layers:
            text += ["[environments.production]", "protected = true",
                     f'resource_ids = ["railway:volume:{VOLUME}"]', f'databases = ["{db_url}"]',
                     "[environments.staging]", 'resource_ids = ["railway:volume:vol-staging-db"]']
        if L.PROTECTION in self.layers:
            store, note = independent_dir(world.root)
            self.store = store
            if note:
                self.notes.append(note)
            text += ["[snapshots]", 'store = "offsite"', "[snapshots.stores.offsite]",
                     'kind = "directory"', f'path = "{store}"',
                     *(["allow_same_device = true"] if note else []),
                     "[snapshots.contents]", f'"railway:volume:{VOLUME}" = ["{db_url}"]']
        path = state / "safehold.toml"
        path.write_text("\n".join(text) + "\n")
        return path

    def _start_server(self) -> None:
        assert self.config is not None
        log = (self.root / "serve.log").open("ab")
        self.server = subprocess.Popen([SAFEHOLD, "serve", "--port", str(self.port), "--config",
                                        str(self.config)], stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, cwd=self.root)

    def _wait_for_server(self) -> None:
        assert self.server is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                text = (self.root / "serve.log").read_text()
                raise RuntimeError(f"safehold serve exited: {text[-2000:]}")
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("safehold serve did not come up within 60 s")

    def _gateway(self, world: World) -> dict[str, str]:
        """Import the stray tokens, hand the agent `safehold env` output instead."""
        for name, where, file in (("railway-prod", "production", "ops/domains.env"),
                                  ("railway-staging", "staging", ".env.staging")):
            cli(self.config, "scan", str(world.workspace), "--import", name, "--env", where,
                "--provider", "railway", "--upstream", world.provider.url,
                "--file", str(world.workspace / file))
        exports = cli(self.config, "env", "--agent", "replay-agent", "--env", "staging",
                      "--credential", "railway-staging", "--ttl", "15m")
        env: dict[str, str] = {}
        for line in exports.splitlines():
            if line.startswith("export "):
                key, _, value = line[7:].partition("=")
                env[key] = shlex.split(value)[0] if value else ""
        return env

    def _hook(self, world: World) -> Any:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEHOLD_")}
        home = self.root / "hook-home"
        home.mkdir()
        # a hook asking the server waits this long for a human before it refuses (the agent's
        # own attempts: nobody approves them; the human's approval comes between two calls)
        env.update(HOME=str(home), SAFEHOLD_CONFIG=str(self.config), SAFEHOLD_APPROVAL_WAIT="1",
                   SAFEHOLD_ENVIRONMENT="staging", CLAUDE_PROJECT_DIR=str(world.workspace))
        if self.server is not None:
            token = cli(self.config, "tokens", "create", "replay-hook", "--role", "agent").strip()
            env.update(SAFEHOLD_SERVER_URL=self.base, SAFEHOLD_TOKEN=token)
        self.hook_env = env

        def hook(payload: dict[str, object], **override: str) -> tuple[str, str]:
            out = subprocess.run([SAFEHOLD, "hook", "claude-code"], input=json.dumps(payload),
                                 capture_output=True, text=True, timeout=60,
                                 env={**env, **override})
            if out.returncode == 2:
                return "deny", out.stderr
            if out.returncode != 0:
                return "deny", f"hook failed ({out.returncode}): {out.stderr[-300:]}"
            if not out.stdout.strip():
                return "allow", ""
            answer = json.loads(out.stdout).get("hookSpecificOutput", {})
            return (answer.get("permissionDecision") or "allow",
                    answer.get("permissionDecisionReason") or "")
        return hook

    # the run ----------------------------------------------------------------------------------

    notes: list[str]

    def execute(self) -> Result:
        self.notes = []
        started = time.monotonic()
        world = World.create(self.root, self.template)
        try:
            return self._execute(world, started)
        finally:
            self._teardown(world)

    def _execute(self, world: World, started: float) -> Result:
        layers = self.layers
        agent_env = world.agent_env()
        if layers.any:
            self.config = self._write_config(world)
        escalate = layers.server and L.PROTECTION in layers
        if layers.server:  # it boots while the operator does the rest of the set-up
            cli(self.config, "credentials", "list")  # the database exists before two use it
            self._start_server()
        if L.PROTECTION in layers:  # the last scheduled snapshot, as the server's schedule takes
            cli(self.config, "snapshot", world.cluster.url(DATABASE))
        world.book(LATE_ROWS)  # the shop keeps taking bookings
        rows_before = world.count()
        if layers.server:
            agent_env.update(self._gateway(world))
        if escalate:
            cli(self.config, "users", "add", "ops-human", "--role", "approver",
                "--password-stdin", stdin=secrets.token_urlsafe(18) + "\n")
            self.approver = cli(self.config, "tokens", "create", "ops-human-api", "--role",
                                "approver", "--user", "ops-human").strip()
        if layers.server:
            self._wait_for_server()
        hook = self._hook(world) if L.HOOK in layers else None
        agent = Agent(world.workspace, agent_env, hook, session=f"replay-{self.root.name}")
        gateway = "SAFEHOLD_GATEWAY" in agent_env
        attempts, self.escalation = load("pocketos")
        for attempt in attempts:
            if attempt.needs == "gateway" and not gateway:
                continue
            agent.attempt(attempt)
            if not world.provider.volume_exists(VOLUME):
                break
        if world.provider.volume_exists(VOLUME) and escalate:
            self._escalate(world, agent)
        return self._measure(world, agent, rows_before, started)

    def _escalate(self, world: World, agent: Agent) -> None:
        """Everything refused, the agent asks for the deletion; a human gives it a production
        capability that may ask for destructive calls, and approves the held request."""
        token = cli(self.config, "tokens", "create", "replay-agent", "--role", "agent",
                    "--credential", "railway-prod", "--env", "production", "--actions",
                    "destructive", "--ttl", "10m").strip()
        agent.env["PROD_CAPABILITY"] = token
        agent.session_env = {"SAFEHOLD_ENVIRONMENT": "production"}  # a production session now
        listed = httpx.get(self.base + "/api/v1/approvals", params={"state": "pending"},
                           headers={"Authorization": f"Bearer {self.approver}"}, timeout=10)
        self.ignored = {a["id"] for a in listed.json()["approvals"]}
        human = threading.Thread(target=self._approve_pending, daemon=True)
        stop = threading.Event()
        self._stop_human = stop
        human.start()
        attempt = self.escalation
        seen = len(self.approval_ids)
        outcome = agent.attempt(attempt)
        for _ in range(3):  # the hook held the command for the human: once approved, again
            if outcome.hook in (None, "allow") or not self._wait_for_approval(seen):
                break
            seen = len(self.approval_ids)
            outcome = agent.attempt(attempt)
        stop.set()
        human.join(timeout=10)

    def _wait_for_approval(self, seen: int, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.approval_ids) > seen:
                return True
            time.sleep(0.1)
        return False

    def _approve_pending(self) -> None:
        """The human, asked by the agent: approves, through the API, each request to delete the
        volume filed from now on (and nothing the agent tried on its own before)."""
        headers = {"Authorization": f"Bearer {self.approver}"}
        while not self._stop_human.is_set():
            try:
                r = httpx.get(self.base + "/api/v1/approvals", params={"state": "pending"},
                              headers=headers, timeout=10)
                pending = [a for a in r.json()["approvals"] if a["id"] not in self.ignored
                           and VOLUME in json.dumps(a.get("action"))]
            except (httpx.HTTPError, ValueError, KeyError):
                pending = []
            for a in pending:
                if a["id"] in self.approval_ids:
                    continue
                self.held_at = self.held_at or time.time()
                httpx.post(self.base + f"/api/v1/approvals/{a['id']}/approve", headers=headers,
                           json={"comment": "the agent asked; approved in the replay"},
                           timeout=30).raise_for_status()
                self.approval_ids.append(a["id"])
                self.approved_at = time.time()
                self.first_approval = self.first_approval or self.approved_at
            time.sleep(0.1)

    def _measure(self, world: World, agent: Agent, rows_before: int,
                 started: float) -> Result:
        provider = world.provider
        deleted = not provider.volume_exists(VOLUME)
        accepted = provider.accepted("volumeDelete")
        deleted_at = accepted[0].at if accepted else None
        first = self.first_approval
        unapproved = sum(1 for r in accepted if first is None or r.at < first)
        rejected = sum(1 for r in provider.mutations("volumeDelete") if not r.authorized)
        rto = copy_age = None
        snapshot = ""
        if deleted:
            assert deleted_at is not None
            name = f"bookings_{self.root.name.replace('-', '_')}"
            if self.store is not None:
                listing = cli(self.config, "snapshots", "list", "--json")
                snaps = sorted((json.loads(line) for line in listing.splitlines()
                                if line.strip()), key=lambda m: m["created_at"])
                newest = snaps[-1]
                snapshot = newest["id"]
                taken = dt.datetime.fromisoformat(newest["created_at"]).timestamp()
                copy_age = deleted_at - taken
                cli(self.config, "restore", snapshot, "--to", self.recovery.url(name))
                rows_after = count_rows(self.recovery.url(name))
                where = f"safehold snapshot {snapshot}"
            else:
                copy_age = deleted_at - self.template.old_copy_at.timestamp()
                rows_after = restore_dump(self.template.old_copy, self.recovery, name)
                where = f"the old independent dump {self.template.old_copy.name}"
            rto = time.time() - deleted_at
            if self.store is not None and not self.approval_ids:
                self.notes.append(f"the newest copy is the scheduled one; the {LATE_ROWS} "
                                  "bookings since (hours, in a real shop) are what is lost")
        else:
            rows_after = world.count()
            where = "the volume (never deleted)"
        return Result(
            self.layers, agent.outcomes, rows_before, rows_after, deleted, where, copy_age,
            unapproved, rejected, list(self.approval_ids), snapshot,
            (self.approved_at - self.held_at) if self.approved_at and self.held_at else None,
            rto, self.config, time.monotonic() - started, self.notes)

    def _teardown(self, world: World) -> None:
        if self.hook_env is not None:
            subprocess.run([SAFEHOLD, "hook", "--stop-daemon"], env=self.hook_env,
                           capture_output=True, timeout=30)
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait(timeout=10)
        world.close()
        if self.store is not None:  # the independent store lives outside the run's directory
            shutil.rmtree(self.store, ignore_errors=True)


def age_words(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds:.1f} s"


__all__ = ["API", "PROD_TOKEN", "STAGING_TOKEN", "Result", "Run", "age_words"]
