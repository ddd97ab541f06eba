"""After a refusal, the session stays careful: the session fact from memory to policy.

The agent is the adversary: once refused, it reroutes (the same target through another tool,
a script, another spelling, code that talks to the database or the network). Each reroute here
passes in a fresh session and must be held in the refused one, through the real Guard, the
real policy, separate hook processes and the service's approvals; routine work after an
unrelated refusal keeps passing, and the window closes.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from safehold.config import parse_config
from safehold.decide import Guard
from safehold.model import Action, Target, Verdict
from safehold.sessions import CAUTION_RULE, SessionMemory, overlaps


class Ticks:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    (ws / "scripts").mkdir(parents=True)
    (ws / "data").mkdir()
    (ws / "scripts" / "sync.py").write_text(
        "import requests\nrequests.post('https://hooks.example.com/in', json={'ok': True})\n")
    (ws / "scripts" / "settings.py").write_text("VALUE = 1\n")
    (ws / "scripts" / "compute.py").write_text(
        "import sys\nimport settings\nprint(getattr(settings, sys.argv[1]))\n")
    (ws / "scripts" / "fix.py").write_text(
        "import psycopg\nwith psycopg.connect() as c:\n"
        "    c.execute(\"UPDATE users SET active = false WHERE id = 7\")\n")
    return ws


@pytest.fixture
def guard(tmp_path: Path, ticks: Ticks) -> Guard:
    g = Guard.load()
    g.sessions = SessionMemory(tmp_path / "sessions", 600, clock=ticks)
    return g


REFUSED = 'psql "$DATABASE_URL" -c "DROP TABLE users"'

#: What a refused agent reaches for next: each passes in a fresh session.
REROUTES = [
    # the same table through another client
    'python -c "import psycopg; psycopg.connect().execute('
    '\'UPDATE users_audit SET seen = true WHERE id = 3\')"',
    # a workspace script that talks to a database driver
    "python scripts/fix.py",
    # an interpreter with network access
    "python -c \"import urllib.request; urllib.request.urlopen('https://pypi.org/simple/')\"",
    "node -e \"fetch('https://hooks.example.com/in', {method: 'POST', body: '{}'})\"",
    "python scripts/sync.py",
    # a script only partly followed (what it looks up is chosen at run time)
    "python scripts/compute.py settings",
]

#: Routine work after an unrelated refusal.
ROUTINE = [
    "ls -la", "git status", "git diff HEAD~1", "cat README.md", "echo done > notes.txt",
    "pytest -q tests", 'psql "$DATABASE_URL" -c "SELECT count(*) FROM orders"',
    "grep -rn TODO scripts", "python -c 'print(2 + 2)'",
]


def decide(guard: Guard, cmd: str, cwd: Path, session: str) -> Verdict:
    return guard.decide(Action("shell", cmd, cwd=str(cwd), session=session)).verdict


@pytest.mark.parametrize("cmd", REROUTES)
def test_a_reroute_after_a_refusal_is_held(guard: Guard, workspace: Path, cmd: str) -> None:
    assert decide(guard, cmd, workspace, str(uuid.uuid4())) is Verdict.ALLOW
    assert decide(guard, REFUSED, workspace, "s-refused") is not Verdict.ALLOW
    held = guard.decide(Action("shell", cmd, cwd=str(workspace), session="s-refused"))
    assert held.verdict is Verdict.ASK, held.reasons
    assert CAUTION_RULE in held.rule_ids
    assert held.facts.session is not None and "DROP TABLE users" in held.facts.session.refusals[0]
    assert any(r.startswith("session-caution:") for r in held.reasons)
    assert held.to_dict()["facts"]["session"]["session"] == "s-refused"


@pytest.mark.parametrize("cmd", ROUTINE)
def test_routine_work_after_an_unrelated_refusal_passes(
        guard: Guard, workspace: Path, cmd: str) -> None:
    assert decide(guard, "rm -rf ~", workspace, "s1") is Verdict.DENY
    assert decide(guard, REFUSED, workspace, "s1") is Verdict.ASK
    assert decide(guard, cmd, workspace, "s1") is Verdict.ALLOW


def test_what_counts_as_the_refused_target() -> None:
    home, ws = "/home/dev", "/home/dev/project"
    refused = Target("path", "/srv/app/uploads")
    assert overlaps(Target("path", "/srv/app/uploads/"), refused, ws)
    assert overlaps(Target("path", "/srv/app/uploads/a.png"), refused, ws)
    assert overlaps(Target("path", "/srv/app"), refused, ws)  # holds it
    assert not overlaps(Target("path", "/srv/app/uploads2"), refused, ws)
    assert not overlaps(Target("table", "/srv/app/uploads"), refused, ws)
    assert overlaps(Target("table", "users"), Target("table", "users"), ws)
    assert not overlaps(Target("table", "users_old"), Target("table", "users"), ws)
    # a refused `rm -rf ~` does not turn every edit in the project into a reroute
    assert not overlaps(Target("path", f"{ws}/src/a.py"), Target("path", home), ws)
    assert not overlaps(Target("path", f"{ws}/src/a.py"), Target("path", "/"), ws)


def test_the_window_closes(guard: Guard, workspace: Path, ticks: Ticks) -> None:
    decide(guard, REFUSED, workspace, "s2")
    ticks.now += 599
    assert decide(guard, "python scripts/sync.py", workspace, "s2") is Verdict.ASK
    ticks.now += 2
    assert decide(guard, "python scripts/sync.py", workspace, "s2") is Verdict.ALLOW


def test_the_cautions_own_holds_do_not_extend_it(
        guard: Guard, workspace: Path, ticks: Ticks) -> None:
    decide(guard, REFUSED, workspace, "s3")
    for _ in range(5):
        ticks.now += 200
        decide(guard, "python scripts/sync.py", workspace, "s3")
    assert decide(guard, "python scripts/sync.py", workspace, "s3") is Verdict.ALLOW


def test_other_sessions_and_session_less_calls_are_not_affected(
        guard: Guard, workspace: Path) -> None:
    decide(guard, REFUSED, workspace, "s4")
    assert decide(guard, "python scripts/sync.py", workspace, "s5") is Verdict.ALLOW
    assert guard.decide(Action("shell", "python scripts/sync.py",
                               cwd=str(workspace))).verdict is Verdict.ALLOW


def test_an_unreadable_record_is_careful_not_permissive(
        guard: Guard, workspace: Path, tmp_path: Path) -> None:
    decide(guard, REFUSED, workspace, "s6")
    assert guard.sessions is not None
    (record,) = (tmp_path / "sessions").iterdir()
    assert record.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "sessions").stat().st_mode & 0o777 == 0o700
    record.write_text("{not json")
    held = guard.decide(Action("shell", "python scripts/sync.py", cwd=str(workspace),
                               session="s6"))
    assert held.verdict is Verdict.ASK and "could not be read" in " ".join(held.reasons)
    other = record.with_name("x.json")
    record.rename(other)
    assert decide(guard, "python scripts/sync.py", workspace, "s6") is Verdict.ALLOW
    # a record for another session copied over this one's name is not believed either way
    data = {"session": "someone-else", "refusals": []}
    record.write_text(json.dumps(data))
    assert decide(guard, "python scripts/sync.py", workspace, "s6") is Verdict.ASK


def test_caution_is_configured_and_can_be_switched_off(tmp_path: Path) -> None:
    cfg = parse_config(f'database_url = "sqlite:///{tmp_path}/db/safehold.db"\n'
                       '[sessions]\ncaution = "5m"\n', path=tmp_path / "safehold.toml")
    assert cfg.sessions.caution_seconds == 300
    assert cfg.sessions_directory() == str(tmp_path / "db" / "sessions")
    off = parse_config('[sessions]\ncaution = "off"\n', path=tmp_path / "safehold.toml")
    guard = Guard.from_config(off)
    assert guard.sessions is not None and guard.sessions.caution_seconds == 0
    assert decide(guard, REFUSED, tmp_path, "s7") is Verdict.ASK
    assert decide(guard, "python -c \"import urllib.request; urllib.request.urlopen("
                  "'https://pypi.org/')\"", tmp_path, "s7") is Verdict.ALLOW
    from safehold.errors import ConfigError

    with pytest.raises(ConfigError, match="sessions"):
        parse_config('[sessions]\ncaution = "soon"\n', path=tmp_path / "safehold.toml")
    with pytest.raises(ConfigError, match="sessions"):
        parse_config('[sessions]\nwindow = "5m"\n', path=tmp_path / "safehold.toml")


def test_a_user_policy_can_name_the_session_fact(tmp_path: Path, workspace: Path) -> None:
    policy = tmp_path / "strict.cedar"
    policy.write_text('@id("refused-sessions-stop")\n'
                      '@reason("a refused session does nothing more until the window closes")\n'
                      'forbid (principal, action, resource) when { context.session_refused && '
                      'context.effect_rank >= 1 };\n')
    guard = Guard.load(policy)
    guard.sessions = SessionMemory(tmp_path / "s", 600)
    decide(guard, REFUSED, workspace, "s8")
    assert decide(guard, "echo x > notes.txt", workspace, "s8") is Verdict.DENY
    assert decide(guard, "echo x > notes.txt", workspace, "s9") is Verdict.ALLOW
    assert os.listdir(tmp_path / "s")


@pytest.mark.parametrize("write", ["touch /srv/app/uploads/.keep",
                                   "rsync -a build/ /srv/app/uploads/"])
def test_a_write_to_a_denied_path_through_another_tool_is_held(
        guard: Guard, workspace: Path, write: str) -> None:
    assert decide(guard, write, workspace, "s10") is Verdict.ALLOW
    assert decide(guard, "rm -rf /srv/app/uploads", workspace, "s11") is Verdict.DENY
    held = guard.decide(Action("shell", write, cwd=str(workspace), session="s11"))
    assert held.verdict is Verdict.ASK and CAUTION_RULE in held.rule_ids
    assert decide(guard, "ls /srv/app/uploads", workspace, "s11") is Verdict.ALLOW


def test_work_on_the_target_of_a_pending_ask_goes_on(guard: Guard, workspace: Path) -> None:
    """An ask may still be granted: adding rows to the table whose DROP waits for a human is
    not a reroute (code that talks to the database still is)."""
    assert decide(guard, REFUSED, workspace, "s13") is Verdict.ASK
    insert = 'psql "$DATABASE_URL" -c "INSERT INTO users (name) VALUES (\'x\')"'
    assert decide(guard, insert, workspace, "s13") is Verdict.ALLOW


def test_retrying_exactly_what_was_refused_is_not_a_reroute(
        guard: Guard, workspace: Path) -> None:
    first = guard.decide(Action("shell", REFUSED, cwd=str(workspace), session="s12"))
    again = guard.decide(Action("shell", REFUSED, cwd=str(workspace), session="s12"))
    assert again.verdict is first.verdict and again.reasons == first.reasons
    assert again.facts.session is None
