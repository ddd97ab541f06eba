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
