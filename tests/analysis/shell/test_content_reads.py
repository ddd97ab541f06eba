"""History and tree searches judged by what they would print: a live credential committed and
later removed, or sitting in a file a recursive grep reaches, is credential access whichever
git or grep spelling brings it out. The agent's own arguments are never run to find out."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from safehold.decide import Guard
from safehold.model import Action, Verdict

GH = "ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2


def git(repo: Path, *argv: str) -> None:
    subprocess.run(["git", "-C", str(repo), *argv], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose second-newest commit added a token that the newest one removed."""
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q")
    git(r, "config", "user.email", "dev@example.com")
    git(r, "config", "user.name", "dev")
    (r / "README.md").write_text("# app\n")
    git(r, "add", ".")
    git(r, "commit", "-qm", "start")
    (r / "deploy.cfg").write_text(f"token = {GH}\n")
    git(r, "add", ".")
    git(r, "commit", "-qm", "deploy settings")
    (r / "deploy.cfg").write_text("token = ${DEPLOY_TOKEN}\n")
    git(r, "commit", "-qam", "read the token from the environment")
    return r


def decide(cmd: str, cwd: Path) -> tuple[Verdict, list[str]]:
    d = Guard.load().decide(Action("shell", cmd, cwd=str(cwd)))
    return d.verdict, [c.id for c in d.facts.credentials]


@pytest.mark.parametrize("cmd", [
    "git log -p | grep -i token", "git log -p", "git log --patch --all",
    "git show HEAD~1:deploy.cfg", "git show HEAD~1", "git -C . show HEAD~1",
    "git log -G token", "git whatchanged -p",
    "git show",  # the newest commit's diff prints the removed line, token included
])
def test_history_holding_a_live_token_is_credential_access(cmd: str, repo: Path) -> None:
    verdict, creds = decide(cmd, repo)
    assert verdict is Verdict.ASK and "cred:file-content" in creds, cmd


@pytest.mark.parametrize("cmd", [
    "git log --oneline", "git show HEAD:deploy.cfg", "git show HEAD~2", "git log -p -1 README.md",
    "git status", "git diff",
])
def test_history_reads_that_print_no_live_token_pass(cmd: str, repo: Path) -> None:
    # `git log -p -1 README.md` still reads the newest 200 commits' changes: over-approximated
    if cmd.startswith("git log -p"):
        assert decide(cmd, repo)[0] is Verdict.ASK
        return
    assert decide(cmd, repo) == (Verdict.ALLOW, []), cmd


def test_a_clean_history_passes(tmp_path: Path) -> None:
    r = tmp_path / "clean"
    r.mkdir()
    git(r, "init", "-q")
    git(r, "config", "user.email", "dev@example.com")
    git(r, "config", "user.name", "dev")
    (r / "app.py").write_text("print('hi')\n")
    git(r, "add", ".")
    git(r, "commit", "-qm", "start")
    assert decide("git log -p | grep -i token", r) == (Verdict.ALLOW, [])


def test_a_recursive_grep_reaching_a_live_token_is_credential_access(tmp_path: Path) -> None:
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "notes.txt").write_text(f"remember: {GH}\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("# TODO: tidy\n")
    for cmd in ("grep -r ghp_ .", "grep -rn remember", "rg -i REMEMBER", "grep -R . ops"):
        verdict, creds = decide(cmd, tmp_path)
        assert verdict is Verdict.ASK and creds == ["cred:file-content"], cmd
    # a search whose pattern matches no line holding the token prints none of it
    assert decide("grep -rn TODO .", tmp_path) == (Verdict.ALLOW, [])
    assert decide("grep -rn TODO src", tmp_path) == (Verdict.ALLOW, [])
