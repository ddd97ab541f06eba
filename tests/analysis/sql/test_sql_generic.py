"""MySQL, SQLite and other dialects through sqlglot: the same ids, the same verdicts."""

from __future__ import annotations

import pytest
from sql_helpers import op_ids, sql_facts, unknown_ids

from safehold.model import Action, Target

# (dialect, sql, ids the analysis must report, allowed by the default policy)
CASES = [
    ("mysql", "SELECT * FROM users WHERE id = 1", {"sql:select"}, True),
    ("mysql", "SHOW TABLES", {"sql:show"}, True),
    ("mysql", "DESCRIBE users", {"sql:show"}, True),
    ("mysql", "INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = 2", {"sql:insert"}, True),
    ("mysql", "UPDATE t SET a = 1 WHERE id = 3", {"sql:update"}, True),
    ("mysql", "DELETE FROM sessions WHERE expires_at < NOW()", {"sql:delete"}, True),
    ("mysql", "DELETE t1 FROM t1 JOIN t2 ON t1.id = t2.t1_id", {"sql:delete"}, True),
    ("mysql", "CREATE TABLE t (id INT PRIMARY KEY)", {"sql:create"}, True),
    ("mysql", "ALTER TABLE t ADD COLUMN c INT", {"sql:alter"}, True),
    ("mysql", "USE app", {"sql:set"}, True),
    ("mysql", "SET NAMES utf8mb4", {"sql:set"}, True),
    ("mysql", "START TRANSACTION; UPDATE t SET a = 1 WHERE id = 2; COMMIT", {"sql:update"}, True),
    ("mysql", "DROP TABLE users", {"sql:drop-table"}, False),
    ("mysql", "DROP TABLE IF EXISTS app.users, app.orders", {"sql:drop-table"}, False),
    ("mysql", "DROP DATABASE prod", {"sql:drop-database"}, False),
    ("mysql", "DROP SCHEMA prod", {"sql:drop-schema"}, False),
    ("mysql", "DROP USER 'bob'@'%'", {"sql:drop-role"}, False),
    ("mysql", "TRUNCATE TABLE users", {"sql:truncate"}, False),
    ("mysql", "DELETE FROM users", {"sql:delete-all"}, False),
    ("mysql", "DELETE FROM users WHERE 1", {"sql:delete-all"}, False),
    ("mysql", "DELETE FROM users LIMIT 10", {"sql:delete-all"}, False),
    ("mysql", "UPDATE users SET email = NULL", {"sql:update-all"}, False),
    ("mysql", "ALTER TABLE t DROP COLUMN c", {"sql:alter-drop"}, False),
    ("mysql", "ALTER TABLE t DROP FOREIGN KEY fk_a", {"sql:alter-drop-constraint"}, False),
    ("mysql", "ALTER TABLE t DROP PRIMARY KEY", {"sql:alter-drop-constraint"}, False),
    ("mysql", "ALTER TABLE t MODIFY COLUMN c VARCHAR(10)", {"sql:alter-type-lossy"}, False),
    ("mysql", "ALTER TABLE t DROP INDEX i", {"sql:drop-index"}, True),
    ("sqlite", "SELECT name FROM sqlite_master", {"sql:select"}, True),
    ("sqlite", "INSERT OR REPLACE INTO kv VALUES ('a', 1)", {"sql:insert"}, True),
    ("sqlite", "PRAGMA journal_mode = WAL", {"sql:set"}, True),
    ("sqlite", "DROP TABLE kv", {"sql:drop-table"}, False),
    ("sqlite", "DROP VIEW v", {"sql:drop-view"}, False),
    ("sqlite", "DELETE FROM kv", {"sql:delete-all"}, False),
    ("sqlite", "DELETE FROM kv WHERE k = 'a'", {"sql:delete"}, True),
    ("sqlite", "ALTER TABLE kv DROP COLUMN v", {"sql:alter-drop"}, False),
    ("sqlite", "ALTER TABLE kv RENAME TO kv2", {"sql:alter"}, True),
    ("duckdb", "DROP TABLE t", {"sql:drop-table"}, False),
    ("bigquery", "DELETE FROM ds.t WHERE TRUE", {"sql:delete-all"}, False),
    ("snowflake", "TRUNCATE TABLE t", {"sql:truncate"}, False),
    ("tsql", "SELECT TOP 1 * FROM t", {"sql:select"}, True),
]


@pytest.mark.parametrize(
    ("dialect", "sql", "ids", "allowed"), CASES, ids=[f"{c[0]}:{c[1][:50]}" for c in CASES]
)
def test_statement_form(guard, dialect, sql, ids, allowed):
    facts = sql_facts(sql, dialect)
    assert ids <= set(op_ids(facts)), facts.to_dict()
    decision = guard.decide(Action(kind="sql", input=sql, options={"dialect": dialect}))
    assert decision.allowed is allowed, decision.to_dict()


def test_schema_qualified_targets_in_mysql():
    (op,) = sql_facts("DROP TABLE billing.invoices", "mysql").operations
    assert op.targets == (Target("table", "billing.invoices"),)


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        ("mysql", "SELEC * FROM t"),
        ("mysql", "DELETE FROM WHERE"),
        ("sqlite", "DROP TABLE"),
        ("mysql", "CALL cleanup()"),
        ("mysql", "HANDLER t OPEN"),
        ("mysql", "SELECT sys_exec('id')"),
        ("sqlite", "SELECT load_extension('evil.so')"),
        ("no-such-dialect", "SELECT 1"),
    ],
)
def test_what_sqlglot_cannot_follow_is_unknown_and_not_allowed(guard, dialect, sql):
    facts = sql_facts(sql, dialect)
    assert facts.unknowns, facts.to_dict()
    assert unknown_ids(facts)[0] in ("sql:not-understood", "sql:dynamic")
    assert not guard.decide(Action(kind="sql", input=sql, options={"dialect": dialect})).allowed


@pytest.mark.parametrize("dialect", ["sqlite3", "mariadb", "mssql", "MySQL"])
def test_dialect_aliases(dialect):
    assert op_ids(sql_facts("DROP TABLE t", dialect)) == ["sql:drop-table"]


@pytest.mark.parametrize(
    ("sql", "op"),
    [
        ("SELEC 1; DROP DATABASE prod", "sql:drop-database"),
        ("DROP TABLE t; DELETE FROM WHERE", "sql:drop-table"),
    ],
)
def test_a_broken_statement_does_not_hide_the_ones_beside_it(sql, op):
    facts = sql_facts(sql, "mysql")
    assert op in op_ids(facts)
    assert "sql:not-understood" in unknown_ids(facts)
