"""How the matcher reads options: single-dash `-opt=value` in families that do not cluster short
flags, and `--help`, which turns any command into a request for its usage text."""

from __future__ import annotations

import pytest

from safehold.decide import Guard
from safehold.model import Action


@pytest.fixture(scope="module")
def guard() -> Guard:
    return Guard.load()


def op_ids(guard: Guard, command: str, cwd: str) -> list[str]:
    return [op.id for op in guard.decide(Action("shell", command, cwd=cwd)).facts.operations]


@pytest.mark.parametrize(
    "command",
    ["terraform apply -replace=aws_instance.web", "terraform apply -replace aws_instance.web"],
)
def test_single_dash_option_with_attached_value_is_the_option(guard, tmp_path, command) -> None:
    assert "terraform:apply-replace" in op_ids(guard, command, str(tmp_path))


@pytest.mark.parametrize(
    "command",
    ["kubectl delete namespace prod --help", "gcloud sql instances delete prod --help",
     "git push --force --help", "terraform destroy --help"],
)
def test_help_runs_nothing(guard, tmp_path, command) -> None:
    d = guard.decide(Action("shell", command, cwd=str(tmp_path)))
    assert d.verdict.value == "allow", d.reasons


@pytest.mark.parametrize(
    ("command", "op"),
    [
        ("git restore --source --help file.txt", "git:restore-worktree"),
        ("kubectl delete namespace prod -- --help", "kubectl:delete-namespace"),
    ],
)
def test_help_as_an_option_value_or_operand_is_not_help(guard, tmp_path, command, op) -> None:
    assert op in op_ids(guard, command, str(tmp_path))
