"""Opening the store: engine, sessions, write serialisation and schema migration.

SQLite is the zero-configuration default (WAL, foreign keys, `synchronous=FULL` so an
acknowledged audit record survives a power cut); PostgreSQL is chosen by URL for teams and
several gateway replicas. `Store.write()` is the one way to run a transaction that must not
interleave with another writer (the audit chain, single-use approvals): `BEGIN IMMEDIATE` on
SQLite, a transaction-scoped advisory lock on PostgreSQL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from safehold.errors import StoreError
from safehold.owner_only import private_file

#: The newest migration; opening a store at this revision skips importing alembic at all.
SCHEMA_REVISION = "0005_pgproxy_scram_logins"
MIGRATIONS = Path(__file__).with_name("migrations")
_WRITE_LOCK_KEY = 0x5AFE401D


@dataclass(frozen=True, slots=True)
class StoreSettings:
    busy_timeout_seconds: float = 30.0
    migrate: bool = True


class Store:
    """An engine and its session factory, for one database."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.dialect = engine.dialect.name
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work for reads and ordinary writes; committed on success."""
        with self._sessions() as s, s.begin():
            yield s

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A serialised write transaction: no other `write()` runs until this one ends."""
        with self.engine.connect() as conn:
            conn.execution_options(safehold_immediate=True)
            with Session(bind=conn, expire_on_commit=False) as s, s.begin():
                if self.dialect == "postgresql":
                    s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _WRITE_LOCK_KEY})
                yield s

    @contextmanager
    def exclusive(self, job: str) -> Iterator[bool]:
        """Whether this process may run the background `job` now.

        Several servers share one PostgreSQL; a job such as expiring approvals, taking a
        scheduled snapshot or signing a checkpoint must not run on two of them at once (two
        snapshots, two alerts). On PostgreSQL this is a session advisory lock tried, not waited
        for: True for exactly one process at a time, held until the block ends, and released by
        the database when the holder's connection dies with it (a killed server frees it).
        The block runs outside any transaction, so its own writes commit as usual. On SQLite,
        one machine's database, it is always True: the jobs' write transactions serialise them."""
        if self.dialect != "postgresql":
            yield True
            return
        key = _job_key(job)
        with self.engine.connect() as conn:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            conn.commit()
            if not got:
                yield False
                return
            try:
                yield True
            finally:
                try:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
                except SQLAlchemyError:
                    conn.invalidate()  # a closed connection has released the lock already

    def close(self) -> None:
        self.engine.dispose()


def _job_key(job: str) -> int:
    """A stable signed 64-bit advisory lock key for a job name."""
    digest = hashlib.sha256(f"safehold job {job}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def open_store(url: str, settings: StoreSettings | None = None) -> Store:
    """Open (and, unless told not to, migrate to the newest schema) the database at `url`."""
    settings = settings or StoreSettings()
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            try:
                # 0600 before SQLite opens it: its -wal and -shm files copy the mode
                private_file(Path(database).expanduser())
            except OSError as exc:
                raise StoreError(f"cannot create {database}: {exc}") from exc
        kwargs["connect_args"] = {"timeout": settings.busy_timeout_seconds}
        if database in ("", ":memory:"):
            from sqlalchemy.pool import StaticPool

            kwargs["poolclass"] = StaticPool
            kwargs["connect_args"]["check_same_thread"] = False
    elif backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs["pool_pre_ping"] = True
    else:
        raise StoreError(
            f"unsupported database {backend!r}: use sqlite:/// or postgresql+psycopg://"
        )
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot open database {parsed.render_as_string()}: {exc}") from exc
    if backend == "sqlite":
        _sqlite_events(engine, settings)
    store = Store(engine)
    if settings.migrate:
        try:
            migrate(store)
        except SQLAlchemyError as exc:
            store.close()
            raise StoreError(f"cannot open database {store.url}: {exc}") from exc
    return store


def _sqlite_events(engine: Engine, settings: StoreSettings) -> None:
    """Take transaction control from pysqlite so `write()` can say BEGIN IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(settings.busy_timeout_seconds * 1000)}")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("safehold_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def current_revision(store: Store) -> str | None:
    with store.engine.connect() as conn:
        try:
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        except SQLAlchemyError:
            return None
    return row[0] if row else None


def migrate(store: Store, revision: str = "head") -> None:
    """Bring the schema to `revision`; serialised so concurrent first opens do not race."""
    if revision == "head" and current_revision(store) == SCHEMA_REVISION:
        return
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.connect() as conn:
        conn.execution_options(safehold_immediate=True)
        with conn.begin():
            if store.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _WRITE_LOCK_KEY + 1})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
