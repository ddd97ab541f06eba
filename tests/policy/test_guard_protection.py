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


#: Every writer the shell analysis knows, aimed at safehold's policy, database, configuration,
#: an agent's hook settings and the hook daemon's socket (`{home}` is the action's home).
WRITER_ATTACKS = [
    "printf '@id(\"x\")\\npermit (principal, action, resource);\\n'"
    " >> {home}/.config/safehold/team.cedar",
    "echo 'permit (principal, action, resource);' >> policies/team.cedar",
    "tee -a ~/.config/safehold/team.cedar < /tmp/open.cedar",
    "cp /tmp/open.cedar ~/.config/safehold/team.cedar",
    "mv /tmp/open.cedar ~/.config/safehold/policy.cedar",
    "sed -i 's/forbid/permit/' ~/.config/safehold/policy.cedar",
    "sed --in-place=.bak -e 's/deny/allow/' safehold.toml",
    "perl -pi -e 's/forbid/permit/' ~/.config/safehold/policy.cedar",
    "ruby -i -pe 'sub(/forbid/, \"permit\")' policies/prod.cedar",
    "python3 -c \"open('{home}/.config/safehold/team.cedar', 'a')"
    ".write('permit (principal, action, resource);')\"",
    "python3 -c \"import pathlib; pathlib.Path('safehold.toml').write_text('')\"",
    "python3 -c \"import shutil; shutil.copy('/tmp/x', '{home}/.config/safehold/policy.cedar')\"",
    "node -e \"require('fs').appendFileSync('{home}/.config/safehold/team.cedar', 'x')\"",
    "ruby -e \"File.write('.claude/settings.json', '{{}}')\"",
    "php -r \"file_put_contents('{home}/.local/share/safehold/safehold.db', '');\"",
    "sqlite3 ~/.local/share/safehold/safehold.db"
    " \"UPDATE approvals SET state='approved' WHERE id='ap_1'\"",
    "sqlite3 ~/.local/share/safehold/safehold.db 'DELETE FROM audit_records WHERE seq > 100'",
    "echo 'DELETE FROM audit_records;' | sqlite3 ~/.local/share/safehold/safehold.db",
    "python3 -c \"import sqlite3; sqlite3.connect('{home}/.local/share/safehold/safehold.db')"
    ".execute('DELETE FROM audit_records')\"",
    "ln -sf /tmp/open.cedar ~/.config/safehold/policy.cedar",
    "rm ~/.config/safehold/policy.cedar",
    "chmod 666 ~/.local/share/safehold/safehold.db",
    "truncate -s 0 ~/.local/share/safehold/safehold.db",
    "dd if=/dev/zero of={home}/.local/share/safehold/safehold.db",
    "install -m 644 /tmp/x ~/.config/safehold/policy.cedar",
    "rsync /tmp/x ~/.config/safehold/policy.cedar",
    "touch ~/.config/safehold/extra.cedar",
    "jq 'del(.hooks)' .claude/settings.json > /tmp/s && mv /tmp/s .claude/settings.json",
    "sed -i '/safehold/d' ~/.claude/settings.json",
    "python3 -c \"import json; json.dump({{}}, open('.gemini/settings.json', 'w'))\"",
    "echo '{{}}' > /etc/claude-code/managed-settings.json",
    "safehold hook --stop-daemon",
    "rm -rf /tmp/safehold-0",
    "python3 -c \"import socket; s = socket.socket(socket.AF_UNIX); "
    "s.bind('/tmp/safehold-0/hookd-0123456789ab.sock'); s.listen()\"",
]


@pytest.mark.parametrize("template", WRITER_ATTACKS)
def test_every_shell_writer_to_the_guard_is_denied(guard: Guard, project: str,
                                                   template: str) -> None:
    home = str(Path.home())
    d = guard.decide(Action("shell", template.format(home=home), cwd=project))
    assert d.verdict is Verdict.DENY, d.reasons
    assert "guard-is-off-limits" in d.rule_ids


@pytest.mark.parametrize(
    "command",
    [
        "echo x >> notes.md",
        "sed -i 's/a/b/' src/app.py",
        "perl -pi -e 's/a/b/' src/app.py",
        "ln -s ../shared/config config",
        "touch src/__init__.py",
        "rsync -a src/ /tmp/copy/",
        "sqlite3 app.db 'SELECT count(*) FROM users'",
        "sqlite3 -readonly ~/.local/share/safehold/safehold.db 'SELECT count(*) FROM approvals'",
        "python3 -c \"import json; json.dump({}, open('out.json', 'w'))\"",
        "node -e \"require('fs').writeFileSync('out.json', '{}')\"",
        "ruby -e \"File.write('notes.txt', 'x')\"",
        "python3 -c \"import socket; s = socket.socket(socket.AF_UNIX); s.bind('/tmp/app.sock')\"",
    ],
)
def test_the_same_writers_elsewhere_pass(guard: Guard, project: str, command: str) -> None:
    d = guard.decide(Action("shell", command, cwd=project))
    assert d.verdict is Verdict.ALLOW, d.reasons


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
