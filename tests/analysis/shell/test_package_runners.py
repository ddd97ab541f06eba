"""Package runners (npx, pnpm exec, yarn dlx, bunx, npm exec) and `railway run` start another
command; the command they start is what gets judged."""

from __future__ import annotations

import pytest

from safehold.decide import Guard
from safehold.model import Action


@pytest.fixture(scope="module")
def guard() -> Guard:
    return Guard.load()


@pytest.mark.parametrize(
    ("command", "op"),
    [
        ("npx prisma migrate reset", "prisma:migrate-reset"),
        ("npx -y prisma db push --accept-data-loss", "prisma:db-push-accept-data-loss"),
        ("npx --package prisma prisma migrate reset", "prisma:migrate-reset"),
        ("pnpm exec prisma migrate reset --force", "prisma:migrate-reset"),
        ("pnpx prisma migrate reset", "prisma:migrate-reset"),
        ("bunx prisma migrate reset", "prisma:migrate-reset"),
        ("npm exec -- sequelize db:drop", "sequelize:db-drop"),
        ("yarn dlx knex migrate:rollback --all", "knex:migrate-rollback"),
        ("npx -c 'rm -rf ~'", "fs:rm-recursive"),
        ("railway run rails db:drop", "rails:db-drop"),
    ],
)
def test_the_command_a_runner_starts_is_judged(guard, tmp_path, command, op) -> None:
    d = guard.decide(Action("shell", command, cwd=str(tmp_path)))
    assert op in [o.id for o in d.facts.operations]
    assert d.verdict.value != "allow"


@pytest.mark.parametrize(
    "command",
    ["npx prisma generate", "npx tsc --noEmit", "npm test", "pnpm install", "yarn build",
     "npx --version", "railway status"],
)
def test_routine_runner_calls_pass(guard, tmp_path, command) -> None:
    d = guard.decide(Action("shell", command, cwd=str(tmp_path)))
    assert d.verdict.value == "allow", d.reasons
