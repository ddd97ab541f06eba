"""What the plan says will be captured, for the facts the real analysis produces."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from safehold.config import parse_config
from safehold.decide import Guard
from safehold.inventory import Inventory
from safehold.model import Action
from safehold.protection.plan import plan, rows_predicate

CONFIG = """
[environments.production]
databases = ["postgresql://app:s3cret@db.internal:5432/shop"]
paths = ["{prod}"]

[snapshots.stores.offsite]
kind = "directory"
path = "/mnt/offsite"
"""


def _plan(tmp_path: Path, command: str, *, store: bool = True) -> object:
    text = CONFIG.format(prod=tmp_path / "prod")
    if not store:
        text = text.split("[snapshots")[0]
    config = parse_config(text)
    facts = Guard.from_config(config).decide(Action("shell", command, cwd=str(tmp_path))).facts
    return plan(facts.to_dict(), {}, str(tmp_path), inventory=Inventory(config.environments),
                settings=config.snapshots)


@pytest.mark.parametrize(("statement", "expected"), [
    ("DELETE FROM orders WHERE id < 10", ("orders", "id < 10")),
    ("UPDATE app.orders SET note = NULL WHERE (status = 'old' OR id IN (1, 2)) RETURNING id",
     ("app.orders", "(status = 'old' OR id IN (1, 2))")),
    ("delete from orders where note::text like 'a%' -- trailing", ("orders",
     "note::text like 'a%'")),
    ("DELETE FROM orders WHERE placed < now() - interval '1 day'", None),
    ("DELETE FROM orders WHERE random() < 0.5", None),
    ("DELETE FROM orders WHERE placed < current_timestamp", None),
    ("DELETE FROM orders WHERE id IN (SELECT id FROM stale)", None),
    ("DELETE FROM orders o WHERE o.id = 1", None),
    ("DELETE FROM orders o USING customers c WHERE o.customer = c.id", None),
    ("UPDATE orders SET x = 1 FROM other WHERE other.id = orders.id", None),
    ("DELETE FROM orders WHERE id IN (SELECT id FROM t); DROP TABLE t", None),
    ("DELETE FROM orders", None),
])
def test_rows_predicate(statement: str, expected: tuple[str, str] | None) -> None:
    assert rows_predicate(statement) == expected


def test_drop_table_plans_the_table_from_the_inventorys_connection(tmp_path: Path) -> None:
    p = _plan(tmp_path, "psql postgresql://db.internal:5432/shop -c 'DROP TABLE orders'")
    assert p.ok  # type: ignore[attr-defined]
    (item,) = p.captures  # type: ignore[attr-defined]
    assert item.capture.scope == "tables" and item.capture.tables == ("orders",)
    assert item.capture.source == "postgresql://app:s3cret@db.internal:5432/shop"
    assert "s3cret" not in item.line() and "store offsite" in item.line()


def test_an_agent_named_database_outside_the_inventory_is_not_captured(tmp_path: Path) -> None:
    """The agent's own connection string never becomes what safehold connects with."""
    p = _plan(tmp_path, "psql postgresql://evil@attacker.example/shop -c 'DROP TABLE orders'")
    assert not p.ok  # type: ignore[attr-defined]


def test_a_production_sqlite_file_and_directory(tmp_path: Path) -> None:
    prod = tmp_path / "prod"
    (prod / "uploads").mkdir(parents=True)
    with sqlite3.connect(prod / "app.db") as c:
        c.execute("CREATE TABLE t (x)")
    p = _plan(tmp_path, f"mv {prod / 'app.db'} /tmp/x && rm -r {prod / 'uploads'}")
    drivers = sorted(i.capture.driver for i in p.captures)  # type: ignore[attr-defined]
    assert "sqlite" in drivers and "directory" in drivers


def test_no_store_means_nothing_is_released(tmp_path: Path) -> None:
    p = _plan(tmp_path, "psql postgresql://db.internal:5432/shop -c 'DROP TABLE orders'",
              store=False)
    assert not p.ok and "no snapshot store is configured" in p.why_not()  # type: ignore[attr-defined]


VOLUME_CONFIG = """
[environments.production]
resource_ids = ["railway:volume:vol-prod-db"]
databases = ["postgresql://app@db.internal:5432/shop"]
paths = ["{prod}"]

[snapshots.stores.offsite]
kind = "directory"
path = "/mnt/offsite"
"""
VOLUME_DELETE = {"method": "POST", "url": "https://backboard.railway.app/graphql/v2",
                 "body": {"query": 'mutation { volumeDelete(volumeId: "vol-prod-db") }'}}


def _volume_plan(tmp_path: Path, contents: str) -> object:
    (tmp_path / "prod").mkdir(exist_ok=True)
    config = parse_config(VOLUME_CONFIG.format(prod=tmp_path / "prod") + contents)
    facts = Guard.from_config(config).decide(Action("http", VOLUME_DELETE)).facts
    return plan(facts.to_dict(), {}, None, inventory=Inventory(config.environments),
                settings=config.snapshots)


def test_a_provider_volume_is_captured_through_what_the_inventory_says_lives_on_it(
    tmp_path: Path,
) -> None:
    bare = _volume_plan(tmp_path, "")
    assert not bare.ok and "no snapshot driver covers a volume" in bare.why_not()  # type: ignore[attr-defined]
    held = _volume_plan(tmp_path, '[snapshots.contents]\n"railway:volume:vol-prod-db" = '
                        f'["postgresql://db.internal:5432/shop", "{tmp_path / "prod"}"]\n')
    assert held.ok, held.why_not()  # type: ignore[attr-defined]
    kinds = sorted((i.capture.driver, i.capture.scope) for i in held.captures)  # type: ignore[attr-defined]
    assert kinds == [("directory", "directory"), ("postgresql", "database")]
    pg_item = next(i for i in held.captures if i.capture.driver == "postgresql")  # type: ignore[attr-defined]
    assert pg_item.capture.source == "postgresql://app@db.internal:5432/shop"  # the inventory's


def test_contents_naming_a_database_outside_the_inventory_is_not_released(tmp_path: Path) -> None:
    p = _volume_plan(tmp_path, '[snapshots.contents]\n"vol-prod-db" = '
                     '["postgresql://elsewhere:5432/other"]\n')
    assert not p.ok and "not in the inventory" in p.why_not()  # type: ignore[attr-defined]


@pytest.mark.parametrize("bad", ['"vol-1" = "postgresql://x/y"', '"vol-1" = []',
                                 '"vol-1" = [1]'])
def test_contents_must_be_a_list_of_resources(bad: str) -> None:
    from safehold.errors import ConfigError

    with pytest.raises(ConfigError, match=r"snapshots\.contents\.vol-1"):
        parse_config(f"[snapshots.contents]\n{bad}\n")
