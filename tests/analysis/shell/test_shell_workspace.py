"""The workspace is the session's project root for the whole action: `cd`, `pushd` and
subshells move where relative paths resolve, never what counts as routine work."""

from __future__ import annotations

import pytest
from shell_helpers import PROJECT, decide

from safehold.decide import Guard
from safehold.model import Action, Verdict

MOVED = [
    "cd /var/lib/postgresql && rm -rf 15",
    "cd ~ && rm -rf projects",
    "(cd /srv/app && rm -rf data)",
    "pushd /srv/app && rm -rf data",
    "cd /srv/app; rm -rf ./data",
    "cd / && cd srv/app && rm -rf data",
    "D=/srv/app; cd $D && rm -rf data",
    "cd /srv/app && find . -delete",
    "cd /srv/app && bash -c 'rm -rf data'",
    "cd /srv/app && sudo rm -rf data",
    "cd .. && rm -rf project2",
    "cd ../.. && rm -rf dev",
]


@pytest.mark.parametrize("cmd", MOVED)
def test_changing_directory_does_not_move_the_workspace(guard: Guard, cmd: str) -> None:
    d = decide(guard, cmd)
    assert d.verdict is not Verdict.ALLOW, d.reasons


@pytest.mark.parametrize(
    "cmd",
    [
        "cd build && rm -rf *",
        "cd sub && rm -rf ../dist",
        "(cd web && rm -rf node_modules)",
        "pushd web && rm -rf .next && popd",
        "cd /tmp && rm -rf scratch",
    ],
)
def test_moving_inside_the_workspace_stays_routine(guard: Guard, cmd: str) -> None:
    assert decide(guard, cmd).verdict is Verdict.ALLOW


def test_the_hooks_project_directory_is_the_workspace_wherever_the_shell_is(
    guard: Guard,
) -> None:
    """An agent whose shell was left in another directory by an earlier call: its reported
    cwd is not the workspace when the hook names the project directory."""
    moved = Action("shell", "rm -rf 15", cwd="/var/lib/postgresql",
                   options={"workspace": PROJECT})
    assert guard.decide(moved).verdict is not Verdict.ALLOW
    home = Action("shell", "rm -rf build", cwd="/home/dev/other",
                  options={"workspace": PROJECT})
    assert guard.decide(home).verdict is not Verdict.ALLOW
    inside = Action("shell", "rm -rf build", cwd=PROJECT + "/web",
                    options={"workspace": PROJECT})
    assert guard.decide(inside).verdict is Verdict.ALLOW


def test_a_remote_command_has_no_local_workspace(guard: Guard) -> None:
    d = decide(guard, f"ssh build-host rm -rf {PROJECT}/dist-old/data")
    assert d.verdict is not Verdict.ALLOW
