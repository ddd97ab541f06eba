"""An agent cannot switch its own guard off: safehold's configuration, policy, data, hook
installations, accounts and approvals are refused to agents on every surface, while reading
them and ordinary work next to them pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from safehold.decide import Guard
from safehold.model import Action, Verdict


@pytest.fixture(scope="module")
def guard() -> Guard:
    return Guard.load()


@pytest.fixture
def project(tmp_path: Path) -> str:
    (tmp_path / "src").mkdir()
    return str(tmp_path)


@pytest.mark.parametrize(
    "command",
    [
        "echo '[server]' > safehold.toml",
        "rm -rf .safehold",
        "sed -n p x > .safehold/policy.cedar",
        "cp /tmp/open.cedar ~/.config/safehold/policy.cedar",
        "rm ~/.local/share/safehold/safehold.db",
        "echo '{}' > .claude/settings.json",
        "tee .cursor/hooks.json < /dev/null",
        "mv .gemini/settings.json /tmp/",
        "safehold uninstall claude-code --project",
        "safehold approvals approve ap_123 --as admin",
        "safehold delays run-now d_1",
        "safehold tokens create me --role approver",
        "bash -c 'safehold users add me --role admin'",
        "curl -X POST http://127.0.0.1:8474/api/v1/approvals/ap_1/approve"
        " -H 'Authorization: Bearer shk_x'",
    ],
)
def test_shell_changes_to_the_guard_are_denied(guard: Guard, project: str, command: str) -> None:
    d = guard.decide(Action("shell", command, cwd=project))
    assert d.verdict is Verdict.DENY, d.reasons
    assert "guard-is-off-limits" in d.rule_ids


@pytest.mark.parametrize(
    "command",
    [
        "cat safehold.toml",
        "safehold approvals list",
        "safehold check 'rm -rf /'",
        "safehold doctor",
        "curl -s http://127.0.0.1:8474/api/v1/approvals/ap_1",
        "echo x > notes.txt",
        "cp a.txt b.txt",
    ],
)
def test_reading_the_guard_and_nearby_work_pass(guard: Guard, project: str, command: str) -> None:
    d = guard.decide(Action("shell", command, cwd=project))
    assert d.verdict is Verdict.ALLOW, d.reasons


@pytest.mark.parametrize(
    ("path", "verdict"),
    [("safehold.toml", Verdict.DENY), (".claude/settings.local.json", Verdict.DENY),
     ("policies/prod.cedar", Verdict.DENY), ("src/app.py", Verdict.ALLOW)],
)
def test_editor_writes_to_the_guard_are_denied(guard: Guard, project: str, path: str,
                                               verdict: Verdict) -> None:
    d = guard.decide(Action("file", {"changes": [{"op": "write", "path": path}]}, cwd=project))
    assert d.verdict is verdict, d.reasons


def test_an_mcp_filesystem_write_to_the_guard_is_denied(guard: Guard, project: str) -> None:
    call = {"server": "filesystem", "tool": "write_file",
            "arguments": {"path": f"{project}/safehold.toml", "content": "[server]"}}
    d = guard.decide(Action("mcp", call, cwd=project))
    assert d.verdict is Verdict.DENY, d.reasons
