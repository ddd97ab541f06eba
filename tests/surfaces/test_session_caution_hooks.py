"""The session fact across separate hook processes: each `safehold hook` call is its own
process, so a refusal must be remembered where the next call (in-process or through the
daemon) reads it, and the audit record must say why the reroute was held."""

from __future__ import annotations

from pathlib import Path

import pytest

from safehold.surfaces.hooks import client
from safehold.surfaces.install import probes

from .conftest import audit_entries, run_hook
from .test_daemon import start, stop_all

NETWORK = "python3 -c \"import urllib.request; urllib.request.urlopen('https://pypi.org/simple/')\""


def shell(command: str, cwd: Path, session: str) -> dict:
    return probes.shell_payload("claude-code", command, str(cwd), session=session)


@pytest.mark.parametrize("daemon", ["0", "1"])
def test_a_refusal_in_one_hook_process_holds_a_reroute_in_the_next(
        env: dict, project: Path, daemon: str) -> None:
    run = project.parent / "run"
    run.mkdir(mode=0o700)
    env = {**env, "SAFEHOLD_HOOKD": daemon, "XDG_RUNTIME_DIR": str(run),
           "SAFEHOLD_HOOKD_IDLE": "120"}
    if daemon == "1":
        start(env, project)
    try:
        first = run_hook("claude-code", shell(NETWORK, project, "other"), env, cwd=project)
        assert probes.verdict("claude-code", first.stdout, first.code) == "none", first
        wiped = run_hook("claude-code", shell("rm -rf ~", project, "s1"), env, cwd=project)
        assert probes.verdict("claude-code", wiped.stdout, wiped.code) == "deny", wiped
        again = run_hook("claude-code", shell(NETWORK, project, "s1"), env, cwd=project)
        assert probes.verdict("claude-code", again.stdout, again.code) == "ask", again
        assert "careful-after-refusal" in again.stdout
        listed = run_hook("claude-code", shell("ls", project, "s1"), env, cwd=project)
        assert probes.verdict("claude-code", listed.stdout, listed.code) == "none", listed
    finally:
        path = client.socket_path(env)
        if daemon == "1" and path:
            stop_all(path)
    held = [e for e in audit_entries(env, 4) if e.type == "decision"
            and e.data["action"]["input"] == NETWORK and e.session == "s1"]
    assert held and held[-1].decision == "ask"
    facts = held[-1].data["decision"]["facts"]
    assert facts["session"]["refused"][0].startswith("deny (irreversible-in-production)")
    assert [c["id"] for c in facts["code"]] == ["code:network"]
