"""`safehold install|uninstall|doctor` against agents' real config files, and the whole loop:
install into a fresh repository, then run the command the agent would run."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from safehold.surfaces.install import codex_trust, manage
from safehold.surfaces.install.targets import TARGETS

from .conftest import SAFEHOLD, claude

AGENTS = tuple(TARGETS)


def cli(*args: str, env: dict, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SAFEHOLD, *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=120)


USER_HOOKS = {
    "claude-code": {"permissions": {"allow": ["Bash(ls:*)"]}, "hooks": {"PreToolUse": [
        {"matcher": "Write", "hooks": [{"type": "command", "command": "prettier-check"}]}]}},
    "codex": {"hooks": {"PreToolUse": [
        {"matcher": "Bash", "hooks": [{"type": "command", "command": "my-audit"}]}]}},
    "gemini": {"theme": "dark", "hooks": {"BeforeTool": [
        {"matcher": "read_file", "hooks": [{"type": "command", "command": "my-audit"}]}]}},
    "cursor": {"version": 1, "hooks": {"beforeShellExecution": [{"command": "./audit.sh"}],
                                       "afterFileEdit": [{"command": "./fmt.sh"}]}},
    "copilot": {"version": 1, "hooks": {"preToolUse": [{"type": "command", "bash": "./a.sh"}]}},
}


@pytest.mark.parametrize("agent", AGENTS)
def test_install_merges_idempotently_and_uninstall_removes_only_ours(
    agent: str, env: dict, project: Path
):
    target = TARGETS[agent]
    path = project / target.project_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(USER_HOOKS[agent]))

    first = cli("install", agent, "--project", env=env, cwd=project)
    assert first.returncode == 0, first.stderr
    installed = json.loads(path.read_text())
    second = cli("install", agent, "--project", env=env, cwd=project)
    assert "already installed" in second.stdout
    assert json.loads(path.read_text()) == installed
    commands = target.commands(installed)
    assert commands and all(c.endswith(f"hook {agent}") for c in commands)
    for theirs in ("prettier-check", "my-audit", "./audit.sh", "./fmt.sh", "./a.sh"):
        if theirs in json.dumps(USER_HOOKS[agent]):
            assert theirs in json.dumps(installed)

    removed = cli("uninstall", agent, "--project", env=env, cwd=project)
    assert removed.returncode == 0
    after = json.loads(path.read_text())
    assert target.commands(after) == []
    for key, value in USER_HOOKS[agent].items():
        assert after[key] == value


@pytest.mark.parametrize("agent", AGENTS)
def test_user_scope_goes_to_the_home_directory(agent: str, env: dict, project: Path):
    result = cli("install", agent, "--user", env=env, cwd=project)
    assert result.returncode == 0, result.stderr
    path = Path(env["HOME"]) / TARGETS[agent].user_file
    assert TARGETS[agent].commands(json.loads(path.read_text()))
    assert not (project / TARGETS[agent].project_file).exists()


def test_a_file_with_comments_is_never_rewritten(env: dict, project: Path):
    path = project / ".claude/settings.json"
    path.parent.mkdir()
    text = '{\n  // my precious comment\n  "hooks": {}\n}\n'
    path.write_text(text)
    result = cli("install", "claude-code", env=env, cwd=project)
    assert result.returncode == 1
    assert "not plain JSON" in result.stderr
    assert path.read_text() == text


def test_installing_into_a_fresh_repo_then_running_the_hook_as_claude_code_does(
    env: dict, project: Path
):
    result = cli("install", "claude-code", "--project", env=env, cwd=project)
    assert result.returncode == 0, result.stderr
    settings = json.loads((project / ".claude/settings.json").read_text())
    group = settings["hooks"]["PreToolUse"][0]
    assert "Bash" in group["matcher"].split("|")
    command = group["hooks"][0]["command"]

    def agent_runs(payload: bytes) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["/bin/sh", "-c", command], input=payload, capture_output=True,
                              env={**env, "CLAUDE_PROJECT_DIR": str(project)}, cwd=project,
                              timeout=60)

    wipe = agent_runs(json.dumps(claude("rm -rf ~", cwd=project)).encode())
    assert wipe.returncode == 0, wipe.stderr
    decision = json.loads(wipe.stdout)["hookSpecificOutput"]["permissionDecision"]
    assert decision == "deny"  # irreversible, no environment bound: refused outright
    listing = agent_runs(json.dumps(claude("ls", cwd=project)).encode())
    assert listing.returncode == 0 and listing.stdout == b""  # Claude's own rules stay in force
    broken = agent_runs(b'{"tool_name": "Bash", "tool_input": ')
    assert broken.returncode == 2
    assert broken.stderr.strip()


def claude_release(env: dict, tmp_path: Path, version: str) -> dict:
    """`env` with a `claude` on PATH that reports `version`, as `claude --version` does."""
    bin_dir = tmp_path / f"claude-{version}"
    bin_dir.mkdir()
    exe = bin_dir / "claude"
    exe.write_text(f"#!/bin/sh\necho '{version} (Claude Code)'\n")
    exe.chmod(0o755)
    return {**env, "PATH": f"{bin_dir}:{env['PATH']}"}


def test_doctor_reports_each_installed_hook_and_probes_it(
    env: dict, project: Path, tmp_path: Path
):
    env = claude_release(env, tmp_path, "2.1.300")
    for agent in ("claude-code", "codex"):
        assert cli("install", agent, env=env, cwd=project).returncode == 0
    untrusted = cli("doctor", env=env, cwd=project)
    assert untrusted.returncode == 1, untrusted.stdout  # Codex skips a hook nobody trusted
    assert "has not been trusted in `/hooks`" in untrusted.stdout
    _trust_codex_hooks(project, Path(env["HOME"]))
    report = cli("doctor", env=env, cwd=project)
    assert report.returncode == 0, report.stdout + report.stderr
    assert "Claude Code (project)" in report.stdout
    assert "Codex CLI (project)" in report.stdout
    assert "probe destructive `rm -rf ~`" in report.stdout
    assert "WRONG" not in report.stdout
    assert "in `/hooks`" not in report.stdout


def _trust_codex_hooks(project: Path, home: Path) -> None:
    """What Codex's `/hooks` writes when the user trusts every PreToolUse entry."""
    hooks_file = project / ".codex/hooks.json"
    doc = json.loads(hooks_file.read_text())
    lines = []
    for gi, group in enumerate(doc["hooks"]["PreToolUse"]):
        for hi, handler in enumerate(group["hooks"]):
            key = f"{hooks_file}:pre_tool_use:{gi}:{hi}"
            lines += [f"[hooks.state.{json.dumps(key)}]",
                      f"trusted_hash = {json.dumps(_hash(group, handler))}"]
    (home / ".codex").mkdir(exist_ok=True)
    (home / ".codex/config.toml").write_text("\n".join(lines) + "\n")


def _hash(group: dict, handler: dict) -> str:
    return codex_trust.hook_hash(group.get("matcher"), handler)


def test_doctor_sees_a_codex_hook_changed_since_it_was_trusted(env: dict, project: Path):
    home = Path(env["HOME"])
    manage.install("codex", "project", project=project, home=home, executable="/opt/a/safehold")
    _trust_codex_hooks(project, home)
    manage.install("codex", "project", project=project, home=home, executable="/opt/b/safehold")
    report = cli("doctor", env=env, cwd=project)
    assert report.returncode == 1
    assert "changed since it was trusted in `/hooks`" in report.stdout


def test_codex_hook_hash_matches_one_codex_persisted():
    """A `trusted_hash` that Codex itself wrote to config.toml for a PostToolUse hook (matcher
    "*", no timeout: Codex's 600 s), as recorded by another hook installer's test suite."""
    command = "'/Applications/GWT.app/Contents/MacOS/gwtd' hook event PostToolUse"
    assert codex_trust.hook_hash("*", {"command": command}, event="post_tool_use") == (
        "sha256:9c3ce103f03f0b27a28bc4a30883f7e98a80b5df566b4572fcbb2955ebf5ba62")


def test_doctor_finds_a_hook_that_cannot_start(env: dict, project: Path):
    change = manage.install("claude-code", "project", project=project, home=Path(env["HOME"]),
                            executable="/nonexistent/safehold")
    assert change.changed
    report = cli("doctor", env=env, cwd=project)
    assert report.returncode == 1
    assert "PROBLEM" in report.stdout
    assert "broken" in report.stdout


def test_doctor_without_hooks_says_how_to_install(env: dict, project: Path):
    report = cli("doctor", env=env, cwd=project)
    assert report.returncode == 1
    assert "safehold install" in report.stdout


def test_claude_hook_is_fail_closed_where_the_installed_release_supports_it(
    env: dict, project: Path, tmp_path: Path
):
    new = claude_release(env, tmp_path, "2.1.295")
    assert cli("install", "claude-code", env=new, cwd=project).returncode == 0
    entry = json.loads((project / ".claude/settings.json").read_text())["hooks"]["PreToolUse"]
    assert entry[0]["hooks"][0]["onFailure"] == "block"
    report = cli("doctor", env=new, cwd=project)
    assert report.returncode == 0, report.stdout
    assert "onFailure" not in report.stdout


@pytest.mark.parametrize("version", ["2.1.294", None])
def test_doctor_says_when_claude_would_let_a_failed_hook_through(
    version: str | None, env: dict, project: Path, tmp_path: Path
):
    old = claude_release(env, tmp_path, version) if version else env
    installed = cli("install", "claude-code", env=old, cwd=project)
    assert installed.returncode == 0
    assert "onFailure" in installed.stdout  # the install itself warns
    entry = json.loads((project / ".claude/settings.json").read_text())["hooks"]["PreToolUse"]
    assert "onFailure" not in entry[0]["hooks"][0]
    report = cli("doctor", env=old, cwd=project)
    assert report.returncode == 1, report.stdout
    assert "may not fire" in report.stdout and "onFailure" in report.stdout
    assert ("2.1.294 is installed" if version else "no `claude` on PATH") in report.stdout


def test_doctor_fails_when_settings_switch_hooks_off(env: dict, project: Path, tmp_path: Path):
    env = claude_release(env, tmp_path, "2.1.300")
    assert cli("install", "claude-code", env=env, cwd=project).returncode == 0
    local = project / ".claude/settings.local.json"
    local.write_text(json.dumps({"disableAllHooks": True}))
    report = cli("doctor", env=env, cwd=project)
    assert report.returncode == 1, report.stdout
    assert "disableAllHooks" in report.stdout and "PROBLEM" in report.stdout


@pytest.mark.parametrize(("rule", "held"), [("DO_NOT_TRUST", True), ("TRUST_FOLDER", False)])
def test_doctor_reports_a_gemini_project_it_does_not_trust(
    rule: str, held: bool, env: dict, project: Path
):
    assert cli("install", "gemini", env=env, cwd=project).returncode == 0
    trust = Path(env["HOME"]) / ".gemini/trustedFolders.json"
    trust.parent.mkdir(parents=True, exist_ok=True)
    trust.write_text(json.dumps({str(project): rule}))
    report = cli("doctor", env=env, cwd=project)
    assert report.returncode == (1 if held else 0), report.stdout
    assert ("not a trusted folder" in report.stdout) is held


def test_gemini_matcher_and_hooks_config_written_by_install(env: dict, project: Path):
    assert cli("install", "gemini", env=env, cwd=project).returncode == 0
    doc = json.loads((project / ".gemini/settings.json").read_text())
    matcher = doc["hooks"]["BeforeTool"][0]["matcher"]
    import re

    assert re.fullmatch(matcher, "mcp_github_delete_repository")


def test_auto_approve_is_an_install_option(env: dict, project: Path):
    result = cli("install", "claude-code", "--auto-approve", env=env, cwd=project)
    assert result.returncode == 0, result.stderr
    settings = json.loads((project / ".claude/settings.json").read_text())
    command = settings["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
    listing = subprocess.run(["/bin/sh", "-c", command], capture_output=True, cwd=project,
                             input=json.dumps(claude("ls", cwd=project)).encode(), env=env,
                             timeout=60)
    assert json.loads(listing.stdout)["hookSpecificOutput"]["permissionDecision"] == "allow"
    assert cli("uninstall", "claude-code", env=env, cwd=project).returncode == 0
    assert "hook claude-code" not in (project / ".claude/settings.json").read_text()
