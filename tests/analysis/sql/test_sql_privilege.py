"""Changes of security posture in SQL, however the agent hands them over: a psql flag, a
migration file, a driver call in a one-liner, dynamic SQL in a DO block. Each is held as the
`privilege` family (never allowed silently, no snapshot asked for), while ordinary grants stay
routine."""

from __future__ import annotations

from pathlib import Path

import pytest

from safehold.config import parse_config
from safehold.decide import Guard
from safehold.model import Action, Verdict

POSTURE = [
    ("ALTER ROLE app PASSWORD 'hunter2'", "privilege:sql-role-password"),
    ("ALTER USER app WITH BYPASSRLS", "privilege:sql-role-elevate"),
    ("GRANT pg_execute_server_program TO app", "privilege:sql-role-elevate"),
    ("GRANT SELECT ON ALL TABLES IN SCHEMA public TO PUBLIC", "privilege:sql-grant-public"),
    ("GRANT ALL PRIVILEGES ON DATABASE app TO bob", "privilege:sql-grant-all"),
    ("ALTER TABLE accounts DISABLE ROW LEVEL SECURITY", "privilege:sql-disable-rls"),
    ("ALTER FUNCTION export_all() SECURITY DEFINER", "privilege:sql-security-definer"),
]


def spellings(sql: str, ws: Path) -> list[str]:
    (ws / "migrate.sql").write_text(f"BEGIN;\n{sql};\nCOMMIT;\n")
    quoted = sql.replace("'", "''")
    escaped = sql.replace("'", "\\'")
    return [
        f'psql "$DATABASE_URL" -c "{sql}"',
        "psql -f migrate.sql",
        "psql app < migrate.sql",
        f"python -c \"import psycopg; psycopg.connect().execute('{escaped}')\"",
        f"psql -c \"DO \\$\\$ BEGIN EXECUTE '{quoted}'; END \\$\\$\"",
    ]


@pytest.mark.parametrize(("sql", "ident"), POSTURE)
def test_a_posture_change_is_held_in_every_spelling(sql: str, ident: str, tmp_path: Path) -> None:
    guard = Guard.load()
    for cmd in spellings(sql, tmp_path):
        d = guard.decide(Action("shell", cmd, cwd=str(tmp_path)))
        assert d.verdict is Verdict.ASK, (cmd, d.reasons)
        assert ident in {o.id for o in d.facts.operations}, cmd
        assert "privilege-change" in d.rule_ids, cmd


def test_in_production_it_is_asked_without_a_snapshot(tmp_path: Path) -> None:
    cfg = parse_config('[environments.production]\nprotected = true\n'
                       'databases = ["db.prod.internal/app"]\n', path=tmp_path / "safehold.toml")
    guard = Guard.from_config(cfg)
    d = guard.decide(Action("shell", 'psql postgresql://db.prod.internal/app -c '
                            '"GRANT SELECT ON users TO PUBLIC"', cwd=str(tmp_path)))
    assert d.verdict is Verdict.ASK and not d.snapshot_first
    assert d.facts.environment == "production"


@pytest.mark.parametrize("sql", [
    "GRANT SELECT, INSERT ON orders TO app", "GRANT app_read TO reporting",
    "REVOKE ALL ON users FROM PUBLIC", "ALTER ROLE app NOBYPASSRLS",
    "ALTER TABLE users ENABLE ROW LEVEL SECURITY", "CREATE ROLE reporting NOLOGIN",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1'",
])
def test_ordinary_grants_and_tightening_stay_routine(sql: str) -> None:
    d = Guard.load().decide(Action("sql", sql))
    assert d.verdict is Verdict.ALLOW, d.reasons
