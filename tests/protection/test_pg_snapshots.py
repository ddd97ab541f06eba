"""PostgreSQL snapshots against a real cluster: a database, a table, exactly the rows of a
DELETE … WHERE; destroy; restore; the data is identical."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

import pg
from safehold.errors import CorruptSnapshot, SnapshotError
from safehold.protection.drivers import driver_named
from safehold.protection.interface import Capture
from safehold.protection.local_store import LocalStore
from safehold.protection.snapshot import restore, take

pytestmark = pytest.mark.postgres


def _raw(url: str) -> str:
    return url.replace("+psycopg", "")


@pytest.fixture
def shop(pg_server: pg.PostgresServer) -> Iterator[str]:
    url = pg_server.create_database()
    with psycopg.connect(_raw(url), autocommit=True) as c:
        c.execute("CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL)")
        c.execute("CREATE TABLE orders (id int PRIMARY KEY, customer int REFERENCES "
                  "customers, total numeric(10,2), placed timestamptz DEFAULT now())")
        c.execute("INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 50) g")
        c.execute("INSERT INTO orders (id, customer, total) SELECT g, 1 + g % 50, g * 1.5 "
                  "FROM generate_series(1, 2000) g")
        c.execute("CREATE SEQUENCE audit_seq")
    yield url


def _dump(url: str, table: str) -> list[tuple[object, ...]]:
    with psycopg.connect(_raw(url)) as c:
        return c.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()


def _other(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


def test_table_snapshot_survives_drop_table(shop: str, offsite: Path) -> None:
    before = _dump(shop, "orders")
    store = LocalStore("offsite", offsite)
    m = take(Capture("postgresql", shop, "tables", ("orders",)), driver_named("postgresql"),
             store, retention_seconds=3600)
    assert m.parts[0].name == "tables.pgdump" and m.size > 0
    with psycopg.connect(_raw(shop), autocommit=True) as c:
        c.execute("DROP TABLE orders")
    restore(store, m.id, shop)
    assert _dump(shop, "orders") == before
    with pytest.raises(SnapshotError, match="already exist"):
        restore(store, m.id, shop)


def test_row_snapshot_holds_exactly_the_rows_a_delete_touches(shop: str, offsite: Path) -> None:
    before = _dump(shop, "orders")
    store = LocalStore("offsite", offsite)
    m = take(Capture("postgresql", shop, "rows", ("orders",), "total > 2000 AND customer < 20"),
             driver_named("postgresql"), store, retention_seconds=3600)
    with psycopg.connect(_raw(shop), autocommit=True) as c:
        deleted = c.execute("DELETE FROM orders WHERE total > 2000 AND customer < 20").rowcount
    assert m.details["rows"] == deleted > 0
    with pytest.raises(SnapshotError, match="--replace"):
        restore(store, m.id, shop)
    restore(store, m.id, shop, replace=True)
    assert _dump(shop, "orders") == before
    with pytest.raises(SnapshotError, match="nothing written"):
        restore(store, m.id, shop, replace=True)
    assert _dump(shop, "orders") == before


def test_row_predicate_cannot_write(shop: str, offsite: Path) -> None:
    """The predicate comes from the agent's statement; capturing it must not run a write."""
    with pytest.raises(SnapshotError, match="read-only"):
        take(Capture("postgresql", shop, "rows", ("orders",), "nextval('audit_seq') > 0"),
             driver_named("postgresql"), LocalStore("offsite", offsite), retention_seconds=60)
    with psycopg.connect(_raw(shop)) as c:
        assert c.execute("SELECT last_value, is_called FROM audit_seq").fetchone() == (1, False)
    assert list(offsite.iterdir()) == []


def test_database_snapshot_restores_into_a_new_database(shop: str, offsite: Path) -> None:
    store = LocalStore("offsite", offsite)
    m = take(Capture("postgresql", shop, "database"), driver_named("postgresql"), store,
             retention_seconds=3600)
    copy = _other(shop, "shop_copy_" + m.id[-8:])
    restore(store, m.id, copy)
    for table in ("customers", "orders"):
        assert _dump(copy, table) == _dump(shop, table)
    with pytest.raises(SnapshotError, match="exists"):
        restore(store, m.id, copy)


def test_missing_table_fails_the_snapshot(shop: str, offsite: Path) -> None:
    with pytest.raises(SnapshotError, match="pg_dump failed"):
        take(Capture("postgresql", shop, "tables", ("no_such_table",)),
             driver_named("postgresql"), LocalStore("offsite", offsite), retention_seconds=60)
    assert list(offsite.iterdir()) == []


def test_corrupt_dump_is_refused_before_pg_restore_runs(shop: str, offsite: Path) -> None:
    store = LocalStore("offsite", offsite)
    m = take(Capture("postgresql", shop, "tables", ("orders",)), driver_named("postgresql"),
             store, retention_seconds=60)
    part = offsite / m.id / "tables.pgdump"
    part.chmod(0o644)
    data = bytearray(part.read_bytes())
    data[-1] ^= 0xFF
    part.write_bytes(bytes(data))
    target = _other(shop, "never_" + m.id[-8:])
    with pytest.raises(CorruptSnapshot):
        restore(store, m.id, target)
    with psycopg.connect(_raw(_other(shop, "postgres"))) as c:
        assert c.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                         (target.rsplit("/", 1)[1],)).fetchone() is None


def test_a_failed_restore_leaves_no_half_filled_database(shop: str, offsite: Path) -> None:
    store = LocalStore("offsite", offsite)
    m = take(Capture("postgresql", shop, "tables", ("orders",)), driver_named("postgresql"),
             store, retention_seconds=60)
    target = _other(shop, "half_" + m.id[-8:])
    with pytest.raises(SnapshotError, match="customers"):
        restore(store, m.id, target)
    with psycopg.connect(_raw(_other(shop, "postgres"))) as c:
        assert c.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                         (target.rsplit("/", 1)[1],)).fetchone() is None
