"""Blast radius from the database itself: a WHERE that restricts on paper but selects most of
a real table is destructive, the estimate is on the card, nothing runs, and a database that
cannot answer is unknown (never allow). A real PostgreSQL cluster, a read-only role."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from safehold.config import parse_config
from safehold.decide import Guard
from safehold.model import Action, Effect, Verdict

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def shop(pg_server) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A database with 5000 users (4990 active) and a read-only role; (admin URL, reader URL)."""
    url = pg_server.create_database()
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id bigserial PRIMARY KEY, status text NOT NULL)")
        conn.execute("INSERT INTO users (status) SELECT CASE WHEN g <= 10 THEN 'banned' "
                     "ELSE 'active' END FROM generate_series(1, 5000) g")
        conn.execute("ANALYZE users")
        conn.execute("DROP ROLE IF EXISTS reader")
        conn.execute("CREATE ROLE reader LOGIN")
        conn.execute("GRANT SELECT ON users TO reader")
    reader = dsn.replace("://safehold@", "://reader@") if "://safehold@" in dsn else None
    assert reader is not None, dsn
    return dsn, reader


def guard_for(tmp_path: Path, admin: str, reader: str, **blast: object) -> Guard:
    host_db = admin.split("@", 1)[1]
    extra = "".join(f"{k} = {v!r}\n" for k, v in blast.items()).replace("'", '"')
    cfg = parse_config(
        f'[environments.production]\nprotected = true\ndatabases = ["{host_db}"]\n'
        f'readonly_database_url = "{reader}"\n[blast_radius]\n{extra}',
        path=tmp_path / "safehold.toml")
    return Guard.from_config(cfg)


def psql(admin: str, sql: str) -> Action:
    return Action("shell", f'psql "{admin}" -c "{sql}"', cwd="/tmp")


def test_a_restricting_where_that_selects_most_rows_is_destructive(
        shop: tuple[str, str], tmp_path: Path) -> None:
    admin, reader = shop
    sql = "DELETE FROM users WHERE status <> 'banned'"
    assert Guard.load().decide(psql(admin, sql)).verdict is Verdict.ALLOW  # on paper: a filter
    decision = guard_for(tmp_path, admin, reader).decide(psql(admin, sql))
    assert decision.verdict is Verdict.ASK and decision.snapshot_first, decision.reasons
    (op,) = [o for o in decision.facts.operations if o.id == "sql:delete"]
    assert op.effect is Effect.DESTRUCTIVE
    assert "database estimates 4990 rows of about 5000" in op.reason
    assert any("estimates" in r for r in decision.reasons)  # what the approver reads
    with psycopg.connect(admin) as conn:  # EXPLAIN planned it; nothing ran
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (5000,)


def test_a_narrow_delete_stays_routine_and_says_its_estimate(
        shop: tuple[str, str], tmp_path: Path) -> None:
    admin, reader = shop
    decision = guard_for(tmp_path, admin, reader).decide(
        psql(admin, "DELETE FROM users WHERE id = 42"))
    assert decision.verdict is Verdict.ALLOW
    (op,) = [o for o in decision.facts.operations if o.id == "sql:delete"]
    assert op.effect is Effect.WRITE and "estimates 1 rows" in op.reason


def test_the_thresholds_are_configured(shop: tuple[str, str], tmp_path: Path) -> None:
    admin, reader = shop
    sql = "UPDATE users SET status = 'x' WHERE status = 'banned'"
    assert guard_for(tmp_path, admin, reader).decide(psql(admin, sql)).verdict is Verdict.ALLOW
    strict = guard_for(tmp_path, admin, reader, rows=5)
    assert strict.decide(psql(admin, sql)).verdict is Verdict.ASK


def test_a_database_that_cannot_answer_is_unknown_never_allow(
        shop: tuple[str, str], tmp_path: Path) -> None:
    admin, _ = shop
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = f"postgresql://reader@127.0.0.1:{port}/nowhere"
    decision = guard_for(tmp_path, admin, dead, timeout=1).decide(
        psql(admin, "DELETE FROM users WHERE id = 42"))
    assert decision.verdict is Verdict.ASK
    assert [u.id for u in decision.facts.unknowns] == ["sql:estimate-failed"]


def test_the_estimate_never_writes(shop: tuple[str, str], tmp_path: Path) -> None:
    """A data-modifying CTE planned through the read-only connection changes nothing, even
    when the reader could write."""
    admin, _ = shop
    decision = guard_for(tmp_path, admin, admin).decide(psql(
        admin, "WITH gone AS (DELETE FROM users RETURNING id) "
               "UPDATE users SET status = 'y' WHERE id IN (SELECT id FROM gone)"))
    assert decision.verdict is not Verdict.ALLOW
    with psycopg.connect(admin) as conn:
        assert conn.execute("SELECT count(*) FROM users WHERE status = 'y'").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (5000,)


def test_bad_settings_are_clear_errors(tmp_path: Path) -> None:
    from safehold.errors import ConfigError

    with pytest.raises(ConfigError, match="readonly_database_url"):
        parse_config('[environments.production]\nreadonly_database_url = "mysql://x/y"\n',
                     path=tmp_path / "safehold.toml")
    with pytest.raises(ConfigError, match=r"blast_radius\.share"):
        parse_config('[blast_radius]\nshare = 3\n', path=tmp_path / "safehold.toml")
