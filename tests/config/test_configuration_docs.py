"""Every example in docs/configuration.md resolves as the page says, with the page's own
configuration: the inventory table, the table of how commands name their targets, and the
`safehold explain` excerpt. A row added to the docs without a way to run it fails here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from safehold.config import parse_config
from safehold.decide import Guard
from safehold.inventory import Inventory, explain_targets
from safehold.model import Action, Verdict

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
TEXT = DOC.read_text(encoding="utf-8")
PROJECT = "/home/dev/project"

#: The inventory table's "matches the target" cells, as the actions an agent would take.
INVENTORY_ACTIONS: dict[str, tuple[str, Any]] = {
    'Railway `volumeDelete(volumeId: "vol-99ab")`': ("http", {
        "method": "POST", "url": "https://backboard.railway.app/graphql/v2", "headers": {},
        "body": {"query": 'mutation { volumeDelete(volumeId: "vol-99ab") }'}}),
    "`psql postgres://u@db.prod.internal/app`": (
        "shell", "psql postgres://u@db.prod.internal/app -c 'DROP TABLE users'"),
    "`redis://cache.prod.internal/0`": (
        "shell", "redis-cli -u redis://cache.prod.internal/0 FLUSHALL"),
    "`kubectl --context shared-eks -n payments …`": (
        "shell", "kubectl --context shared-eks -n payments delete deployment api"),
    "`aws s3 rm s3://acme-prod-backups/x`": ("shell", "aws s3 rm s3://acme-prod-backups/x"),
    "`/srv/prod/db` but not `/srv/production`": ("shell", "rm -rf /srv/prod/db"),
    "`admin.example.com/prod/users`": (
        "shell", "curl -X DELETE https://admin.example.com/prod/users"),
    "`https://github.com/acme/infra`": (
        "shell", "git push --force https://github.com/acme/infra main"),
}


def _config_text() -> str:
    m = re.search(r"## A full example\s+```toml\n(.*?)```", TEXT, re.DOTALL)
    assert m, "docs/configuration.md lost its full example"
    return m.group(1)


def _table(heading: str) -> list[list[str]]:
    section = TEXT.split(heading, 1)[1]
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith("#"):
            break
        if line.startswith("| ") and not line.startswith("| key") and \
                not line.startswith("| target"):
            rows.append([c.strip() for c in line.strip().strip("|").split(" | ")])
    assert rows, f"no table under {heading!r}"
    return rows


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return Inventory.from_config(parse_config(_config_text()))


@pytest.fixture(scope="module")
def guard(inventory: Inventory) -> Guard:
    return Guard.load(resolver=inventory.resolve, protected_environments=inventory.protected)


@pytest.fixture(autouse=True)
def world(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/dev")
    monkeypatch.setenv("TMPDIR", "/tmp")


INVENTORY_ROWS = _table("## The inventory")


@pytest.mark.parametrize("row", INVENTORY_ROWS, ids=[r[0] for r in INVENTORY_ROWS])
def test_inventory_table_examples_resolve_through_their_entry(
    guard: Guard, inventory: Inventory, row: list[str]
) -> None:
    key, _, entry, target = row
    assert target in INVENTORY_ACTIONS, f"no action for the docs example {target!r}"
    kind, value = INVENTORY_ACTIONS[target]
    action = Action(kind, value, cwd=PROJECT, environment="staging")
    facts = guard.analyze(action)
    hows = [inventory.place(t).how for t in facts.targets]
    wanted = f"{key.strip('`')} entry {entry.strip('`')!r} of production"
    assert wanted in hows, (hows, facts.to_dict())
    assert facts.environment == "production"
    assert guard.decide(action).verdict is Verdict.DENY


def test_a_path_entry_matches_whole_components(inventory: Inventory, guard: Guard) -> None:
    facts = guard.analyze(Action("shell", "rm -rf /srv/production", cwd=PROJECT))
    assert facts.environment == "dev"


SPELLING_ROWS = _table("### How commands name their targets")


@pytest.mark.parametrize("row", SPELLING_ROWS, ids=[r[0] for r in SPELLING_ROWS])
def test_every_spelling_example_is_placed_in_production(guard: Guard, row: list[str]) -> None:
    command = row[-1].strip("`")
    staging = guard.decide(Action("shell", command, cwd=PROJECT, environment="staging"))
    assert staging.facts.environment == "production", staging.facts.to_dict()
    assert staging.verdict is Verdict.DENY and "cross-environment" in staging.rule_ids
    production = guard.decide(Action("shell", command, cwd=PROJECT, environment="production"))
    assert "cross-environment" not in production.rule_ids, production.reasons
    if production.facts.effect == 0:
        assert production.verdict is Verdict.ALLOW, production.reasons


def test_the_explain_excerpt_is_what_explain_prints(guard: Guard, inventory: Inventory) -> None:
    m = re.search(r"`safehold explain` lists every target.*?```\n(.*?)```", TEXT, re.DOTALL)
    assert m
    action = Action("shell", "psql postgres://u@db.prod.internal/app -c 'DROP TABLE users'",
                    cwd=PROJECT, environment="staging")
    lines = explain_targets(inventory, action, guard.analyze(action))
    assert lines == m.group(1).strip().splitlines()


def test_sql_sent_to_the_production_database_is_a_production_action(guard: Guard) -> None:
    action = Action("sql", "DROP TABLE users", environment="staging",
                    options={"database_url": "postgresql://db.prod.internal:5432/app"})
    d = guard.decide(action)
    assert d.facts.environment == "production" and d.verdict is Verdict.DENY
