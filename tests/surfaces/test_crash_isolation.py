"""A crash in native code (tree-sitter, libpg_query) kills a process with a signal, not an
exception, and a hook that dies without answering is "no objection" to the agent. The decision
therefore runs in a process of its own; the hook that answers the agent survives it and refuses.

The crash is injected for real: a `sitecustomize` module makes the decision code raise SIGSEGV.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from safehold.surfaces.install import probes

from .conftest import run_hook

AGENTS = ("claude-code", "cursor", "codex", "gemini", "copilot")

CRASH = """\
import os, signal
import safehold.surfaces.hooks.runner as runner

def crash(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGSEGV)

runner.respond = crash
"""


@pytest.fixture
def crashing(env: dict, tmp_path: Path) -> dict:
    site = tmp_path / "crash-site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(CRASH)
    return {**env, "PYTHONPATH": str(site)}


@pytest.mark.parametrize("agent", AGENTS)
def test_a_crash_while_deciding_is_refused(agent: str, crashing: dict, project: Path):
    payload = probes.shell_payload(agent, "ls", str(project))
    run = run_hook(agent, payload, crashing, cwd=project)
    assert probes.verdict(agent, run.stdout, run.code, run.stderr) == "deny", run
    assert "signal 11" in run.stdout + run.stderr


def test_the_same_call_without_the_crash_is_allowed(env: dict, project: Path):
    payload = probes.shell_payload("claude-code", "ls", str(project))
    run = run_hook("claude-code", payload, env, cwd=project)
    assert probes.verdict("claude-code", run.stdout, run.code, run.stderr) == "none", run


def test_a_daemon_that_crashes_mid_call_is_refused(crashing: dict, project: Path, tmp_path):
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {**crashing, "SAFEHOLD_HOOKD": "1", "XDG_RUNTIME_DIR": str(runtime)}
    from safehold.surfaces.hooks import client

    path = client.socket_path(env)
    assert path is not None
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    daemon = subprocess.Popen([sys.executable, "-m", "safehold.surfaces.hooks.daemon", path],
                              env=env, stdin=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if os.path.exists(path):
                break
            time.sleep(0.05)
        assert os.path.exists(path), "the daemon did not start listening"
        payload = probes.shell_payload("claude-code", "ls", str(project))
        run = run_hook("claude-code", payload, env, cwd=project)
        assert probes.verdict("claude-code", run.stdout, run.code, run.stderr) == "deny", run
        assert daemon.wait(timeout=10) == -11, "the daemon itself was expected to crash"
    finally:
        if daemon.poll() is None:
            daemon.kill()
