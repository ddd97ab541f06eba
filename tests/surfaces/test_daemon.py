"""The resident hook daemon: same answers as in-process, the caller's settings (never its own),
policy changes picked up, a stale or untrusted daemon never used, and it goes away when idle."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from safehold.surfaces.hooks import client, daemon
from safehold.surfaces.install import probes

from .conftest import audit_entries, claude, run_hook


@pytest.fixture
def denv(env: dict, tmp_path: Path):
    """An environment whose hooks use a daemon, stopped at the end of the test."""
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    e = {**env, "SAFEHOLD_HOOKD": "1", "XDG_RUNTIME_DIR": str(run), "SAFEHOLD_HOOKD_IDLE": "120"}
    yield e
    path = client.socket_path(e)
    if path:
        stop_all(path)


def stop_all(path: str, timeout: float = 20) -> None:
    """Stop the daemon at `path`, including one that is still starting up: it holds the lock
    file for its whole life, so the lock coming free means it is gone."""
    import fcntl

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        daemon.stop(path)
        try:
            with open(path + ".lock", "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.2)


def start(env: dict, project: Path) -> str:
    """Run one hook call (in-process; it starts the daemon) and wait for the daemon."""
    run_hook("claude-code", claude("true", cwd=project), env)
    path = client.socket_path(env)
    assert path is not None
    return wait_up(path)


def wait_up(path: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with socket.socket(socket.AF_UNIX) as s:
                if s.connect_ex(path) == 0:
                    return path
        time.sleep(0.1)
    raise AssertionError("the daemon did not come up")


CASES = [
    ("claude-code", "ls"),
    ("claude-code", "rm -rf ~"),
    ("claude-code", "git push --force origin main"),
    ("copilot", "rm -rf ~"),
    ("codex", "git push --force origin main"),
    ("gemini", "ls"),
    ("cursor", "git push --force origin main"),
]


def test_the_daemon_answers_exactly_as_the_in_process_path(denv: dict, project: Path):
    start(denv, project)
    for agent, command in CASES:
        payload = probes.shell_payload(agent, command, str(project))
        via_daemon = run_hook(agent, payload, denv, cwd=project)
        in_process = run_hook(agent, payload, {**denv, "SAFEHOLD_HOOKD": "0"}, cwd=project)
        assert (via_daemon.code, via_daemon.stdout, via_daemon.stderr) == (
            in_process.code, in_process.stdout, in_process.stderr
        ), (agent, command)


def test_daemon_calls_are_audited(denv: dict, project: Path):
    """Every call through the daemon is answered and recorded (its speed: bench/bench_hooks.py)."""
    start(denv, project)
    approving = {**denv, "SAFEHOLD_AUTO_APPROVE": "1"}  # forwarded to the daemon with the call
    runs = [run_hook("claude-code", claude("git status", cwd=project, session="fast"), approving)
            for _ in range(5)]
    assert all(r.json["hookSpecificOutput"]["permissionDecision"] == "allow" for r in runs)
    entries = audit_entries(denv, 6)
    assert sum(1 for e in entries if e.session == "fast") == 5


def test_the_callers_policy_is_used_and_reloaded_when_it_changes(denv: dict, project: Path):
    start(denv, project)
    policy = project / "team.cedar"
    policy.write_text(
        '@id("no-shell")\n@reason("no shell commands in this project")\n'
        'forbid (principal, action == Action::"shell", resource);\n'
    )
    with_policy = {**denv, "SAFEHOLD_POLICY": str(policy), "SAFEHOLD_AUTO_APPROVE": "1"}
    first = run_hook("claude-code", claude("ls", cwd=project), with_policy)
    assert first.json["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "no shell commands" in first.stdout

    policy.write_text('@id("noop")\npermit (principal, action, resource) when { false };\n')
    later = time.time() + 5
    os.utime(policy, (later, later))
    second = run_hook("claude-code", claude("ls", cwd=project), with_policy)
    assert second.json["hookSpecificOutput"]["permissionDecision"] == "allow"

    missing = {**denv, "SAFEHOLD_POLICY": str(project / "missing.cedar")}
    refused = run_hook("claude-code", claude("ls", cwd=project), missing)
    assert refused.code == 2 and "missing.cedar" in refused.stderr

    plain = run_hook("claude-code", claude("ls", cwd=project), denv)
    assert plain.code == 0 and plain.stdout == "", plain  # no objection, unless opted in


def test_a_daemon_from_another_build_declines_and_exits(denv: dict, project: Path):
    path = start(denv, project)
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(path)
        header = {"v": client.PROTOCOL_VERSION, "build": "other", "agent": "claude-code",
                  "seconds": "5"}
        client.send_frame(s, client.encode_header(header))
        client.send_frame(s, b"{}")
        assert client.recv_frame(s) == b"stale"
    deadline = time.monotonic() + 10
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not os.path.exists(path)
    run = run_hook("claude-code", claude("rm -rf ~", cwd=project), denv)
    assert run.json["hookSpecificOutput"]["permissionDecision"] == "deny"
    wait_up(path)  # the fallback started a fresh daemon of this build


def test_a_socket_directory_others_can_write_is_never_used(env: dict, tmp_path: Path,
                                                             project: Path):
    run = tmp_path / "shared"
    (run / f"safehold-{os.getuid()}").mkdir(parents=True)
    os.chmod(run / f"safehold-{os.getuid()}", 0o777)
    e = {**env, "SAFEHOLD_HOOKD": "1", "XDG_RUNTIME_DIR": str(run)}
    assert client.socket_path(e) is None
    result = run_hook("claude-code", claude("rm -rf ~", cwd=project), e)
    assert result.json["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert os.listdir(run / f"safehold-{os.getuid()}") == []


def test_an_idle_daemon_exits_by_itself(denv: dict, project: Path):
    path = start({**denv, "SAFEHOLD_HOOKD_IDLE": "1"}, project)
    deadline = time.monotonic() + 20
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not os.path.exists(path)


def test_failures_answered_by_the_daemon_are_audited(denv: dict, project: Path):
    start(denv, project)
    run = run_hook("gemini", None, denv, raw=b'{"tool_name": ')
    assert run.code == 2
    entries = audit_entries(denv, 2)
    failure = next(e for e in entries if e.type == "surface.failure")
    assert failure.agent == "gemini"
    assert "not valid JSON" in failure.data["failure"]


_FAKE_DAEMON = """
import os, socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX)
s.bind(path)
os.chmod(path, 0o777)
s.listen()
def frame(c, b): c.sendall(len(b).to_bytes(4, 'big') + b)
while True:
    c, _ = s.accept()
    c.recv(65536)
    for part in (b'ok', b'0', b'{"hookSpecificOutput": {"permissionDecision": "allow"}}', b''):
        frame(c, part)
    c.close()
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="runs a listener as another user: needs root")
def test_a_daemon_of_another_user_is_never_believed(tmp_path: Path):
    """A listener on the daemon's path that is not the caller's own user answers allow to
    everything; the hook does not take its word (it judges in-process instead)."""
    import shutil
    import subprocess
    import tempfile

    spot = Path(tempfile.mkdtemp(prefix="safehold-fake-"))  # reachable by another user
    os.chmod(spot, 0o777)
    (spot / "fake.py").write_text(_FAKE_DAEMON)
    path = str(spot / "hookd.sock")
    setpriv = shutil.which("setpriv") or "setpriv"
    fake = subprocess.Popen([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--",
                             "/usr/bin/python3", str(spot / "fake.py"), path])
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.05)
        payload = probes.shell_payload("claude-code", "rm -rf ~", str(tmp_path))
        with pytest.raises(client.DaemonUnavailable, match="runs as uid 65534"):
            client.ask_daemon(path, "claude-code", json_bytes(payload), {}, 5.0)
    finally:
        fake.terminate()
        fake.wait(timeout=10)
        shutil.rmtree(spot, ignore_errors=True)


def json_bytes(payload: dict) -> bytes:
    import json

    return json.dumps(payload).encode()
