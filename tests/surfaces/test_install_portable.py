"""A project's hook file is committed and cloned: what install writes there must work from
another path, and fail closed where safehold is not set up. Doctor's probes are recorded as
probes, not as an agent's activity."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from .conftest import audit_entries, claude

SITE = sysconfig.get_paths()["purelib"]


def project_venv(project: Path) -> Path:
    """A real virtualenv inside `project` that sees this installation's packages, as
    `./scripts/setup` leaves in a checkout (its python is a link to the system's, so the
    virtualenv still starts after the project is copied or moved)."""
    venv = project / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "safehold-tests.pth").write_text(f"import site; site.addsitedir({SITE!r})\n")
    return venv


def hook_command(project: Path) -> str:
    settings = json.loads((project / ".claude/settings.json").read_text())
    return str(settings["hooks"]["PreToolUse"][0]["hooks"][0]["command"])


def claude_runs(command: str, project: Path, env: dict, shell: str) -> subprocess.CompletedProcess:
    """Claude Code runs the hook command through a shell in the project, with
    CLAUDE_PROJECT_DIR set to where the project is now."""
    payload = json.dumps(claude(shell, cwd=project))
    return subprocess.run(["/bin/sh", "-c", command], input=payload, capture_output=True,
                          text=True, env={**env, "CLAUDE_PROJECT_DIR": str(project)},
                          cwd=project, timeout=120)


def test_project_hook_still_fires_and_blocks_after_the_project_is_copied_or_moved(
    env: dict, tmp_path: Path, project: Path
) -> None:
    venv = project_venv(project)
    installed = subprocess.run([str(venv / "bin/python"), "-m", "safehold", "install",
                                "claude-code", "--project"], capture_output=True, text=True,
                               env=env, cwd=project, timeout=120)
    assert installed.returncode == 0, installed.stderr
    command = hook_command(project)
    assert str(tmp_path) not in command  # nothing of this machine in a file meant for git
    assert "per-machine" not in installed.stdout

    copy = tmp_path / "elsewhere" / "copy"
    shutil.copytree(project, copy, symlinks=True)
    moved = tmp_path / "moved"
    shutil.move(str(project), moved)  # the original path is gone
    for where in (copy, moved):
        wipe = claude_runs(hook_command(where), where, env, "rm -rf ~")
        assert wipe.returncode == 0, wipe.stderr
        out = json.loads(wipe.stdout)["hookSpecificOutput"]
        assert out["permissionDecision"] == "deny", out
        listing = claude_runs(hook_command(where), where, env, "ls")
        assert (listing.returncode, listing.stdout) == (0, ""), listing.stderr


def test_a_clone_without_safehold_set_up_refuses_instead_of_failing_open(
    env: dict, tmp_path: Path, project: Path
) -> None:
    venv = project_venv(project)
    subprocess.run([str(venv / "bin/python"), "-m", "safehold", "install", "claude-code"],
                   check=True, capture_output=True, env=env, cwd=project, timeout=120)
    clone = tmp_path / "clone"
    shutil.copytree(project, clone, ignore=shutil.ignore_patterns(".venv"))
    for shell in ("ls", "rm -rf ~"):
        run = claude_runs(hook_command(clone), clone, env, shell)
        assert run.returncode == 2  # Claude Code blocks on exit 2, whatever its release
        assert "could not run" in run.stderr and str(clone / ".venv") in run.stderr


def test_a_project_file_naming_this_machines_path_says_it_is_per_machine(
    env: dict, project: Path
) -> None:
    # safehold installed outside the project (this test's own virtualenv): no portable form
    run = subprocess.run([str(Path(sys.executable).with_name("safehold")), "install",
                          "claude-code", "--project"], capture_output=True, text=True, env=env,
                         cwd=project, timeout=120)
    assert run.returncode == 0, run.stderr
    assert sys.prefix in hook_command(project)
    assert "per-machine: do not commit it" in run.stdout


def test_doctor_probes_are_recorded_as_probes_not_agent_decisions(
    env: dict, project: Path
) -> None:
    safehold = str(Path(sys.executable).with_name("safehold"))
    subprocess.run([safehold, "install", "claude-code"], check=True, capture_output=True,
                   env=env, cwd=project, timeout=120)
    doctor = subprocess.run([safehold, "doctor"], capture_output=True, text=True, env=env,
                            cwd=project, timeout=240)
    assert "probe destructive `rm -rf ~`: deny" in doctor.stdout, doctor.stdout
    records = audit_entries(env, 2)
    probes = [r for r in records if r.type == "decision.probe"]
    assert sorted(r.decision for r in probes) == ["allow", "deny"], [
        (r.type, r.decision) for r in records]
    assert not [r for r in records if r.type == "decision"]

    # the agent cannot pass its own call off as a probe by naming doctor's session alone, or
    # by the variable alone: both are doctor's, and the decision is the same either way
    command = hook_command(project)
    for extra, session in (({}, "safehold-probe"), ({"SAFEHOLD_PROBE": "doctor"}, "s-1")):
        payload = {**claude("rm -rf ~", cwd=project), "session_id": session}
        run = subprocess.run(["/bin/sh", "-c", command], input=json.dumps(payload),
                             capture_output=True, text=True, env={**env, **extra}, cwd=project,
                             timeout=120)
        assert json.loads(run.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"
    records = audit_entries(env, 4)
    assert [r.type for r in records[-2:]] == ["decision", "decision"], [
        (r.type, r.session) for r in records]
