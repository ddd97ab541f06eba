"""Opening, migrating and serialising writes on both backends."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from safehold.errors import StoreError
from safehold.store import open_store
from safehold.store.db import MIGRATIONS, SCHEMA_REVISION, current_revision

TABLES = {"audit_records", "approvals", "approval_votes", "delays", "users", "api_tokens"}


def test_open_migrates_to_the_newest_revision(store_url: str) -> None:
    store = open_store(store_url)
    try:
        assert current_revision(store) == SCHEMA_REVISION
        assert set(inspect(store.engine).get_table_names()) >= TABLES
    finally:
        store.close()


def test_schema_revision_constant_is_the_migration_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == SCHEMA_REVISION


def test_reopening_keeps_data(store_url: str) -> None:
    store = open_store(store_url)
    with store.session() as s:
        s.execute(
            text(
                "INSERT INTO users (username, password_hash, role, created_at, disabled) "
                "VALUES ('ann', 'x', 'admin', CURRENT_TIMESTAMP, false)"
            )
        )
    store.close()
    again = open_store(store_url)
    try:
        with again.session() as s:
            assert s.execute(text("SELECT username FROM users")).scalar_one() == "ann"
    finally:
        again.close()


def test_sqlite_uses_wal_foreign_keys_and_full_sync(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    finally:
        store.close()


def test_sqlite_parent_directory_is_created(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "safehold.db"
    open_store(f"sqlite:///{path}").close()
    assert path.exists()


def test_concurrent_first_opens_do_not_race(store_url: str) -> None:
    errors: list[BaseException] = []

    def opener() -> None:
        try:
            open_store(store_url).close()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_write_transactions_are_serialised(store_url: str) -> None:
    """Two writers that read-then-write a counter never lose an increment."""
    store = open_store(store_url)
    with store.session() as s:
        s.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        s.execute(text("INSERT INTO counter (n) VALUES (0)"))

    def bump() -> None:
        for _ in range(25):
            with store.write() as s:
                n = s.execute(text("SELECT n FROM counter")).scalar_one()
                s.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        with store.session() as s:
            assert s.execute(text("SELECT n FROM counter")).scalar_one() == 100
    finally:
        store.close()


@pytest.mark.parametrize("url", ["mysql://x/y", "not a url", "oracle://a/b"])
def test_unsupported_or_bad_urls_are_clear_errors(url: str) -> None:
    with pytest.raises(StoreError):
        open_store(url)


def test_unreachable_postgres_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot open database"):
        open_store("postgresql+psycopg://nobody@127.0.0.1:1/none")


def test_migrations_build_exactly_the_models_schema(store_url: str) -> None:
    """A model changed without a migration (or the reverse) shows up here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from safehold.store.models import Base

    store = open_store(store_url)
    try:
        with store.engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diffs == []
    finally:
        store.close()


def test_a_database_path_that_cannot_exist_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError):
        open_store(f"sqlite:///{blocker / 'sub' / 'x.db'}")
    with pytest.raises(StoreError):
        open_store(f"sqlite:///{tmp_path}")
