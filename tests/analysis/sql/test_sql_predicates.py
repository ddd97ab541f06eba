"""Does a WHERE restrict? The same answer in every dialect, through the same algebra."""

from __future__ import annotations

import pytest
from sql_helpers import op_ids, sql_facts

from safehold.analysis.sql import predicates as p

# WHERE clauses that select every row (or may): DELETE with them is a delete-all.
UNRESTRICTED = [
    "true",
    "TRUE",
    "1 = 1",
    "'a' = 'a'",
    "id = id",
    "t.id = t.id",
    "id > 0 OR id <= 0",
    "0 < id OR id <= 0",
    "id = 5 OR id <> 5",
    "NOT (id < 3) OR id < 3",
    "t.id = id",
    "NOT false",
    "NOT (1 = 2)",
    "id = 5 OR true",
    "true OR id = 5",
    "(id = 5) OR (1 = 1)",
    "id = 5 OR 2 > 1",
    "x IS NULL OR x IS NOT NULL",
    "x IS NOT NULL OR x IS NULL",
    "NOT (x IS NULL) OR x IS NULL",
    "true AND true",
    "1 IN (1, 2)",
    "'abc' LIKE 'a%'",
    "name LIKE '%'",
    "2 BETWEEN 1 AND 3",
    "true IS TRUE",
    "now() > '2000-01-01'",
    "random() < 2",
    "EXISTS (SELECT 1 FROM other)",
    "EXISTS (SELECT 1 FROM other WHERE other.a = 1)",
    "'t'::boolean",
    "-1 < 0",
    "1 = 1 AND 2 = 2",
    "NOT NOT true",
    "a IS DISTINCT FROM NULL OR a IS NULL",
    "a IS NOT DISTINCT FROM 3 OR a IS DISTINCT FROM 3",
    "$1",
    # tests every real row passes: a surrogate key above the bottom of its sequence, a key
    # that is never NULL, a record time before now, a date after the epoch's start, the
    # table's own keys
    "id > 0",
    "id >= 1",
    "t.id > 0",
    "0 < id",
    "id <> -1",
    "user_id > 0",
    "id IS NOT NULL",
    "NOT (id IS NULL)",
    "id > 0 OR id < 0",
    "id > 0 OR id <= 1",
    "id = 5 OR id > 0",
    "created_at <= now()",
    "created_at < CURRENT_TIMESTAMP",
    "now() >= created_at",
    "updated_at < now()",
    "created_at > '1970-01-01'",
    "id IN (SELECT id FROM t)",
    "id IN (SELECT id FROM t WHERE 1 = 1)",
]

# WHERE clauses that select rows by their content: DELETE with them is a plain delete.
RESTRICTED = [
    "id = 5",
    "id = $1",
    "expires_at < now()",
    "true AND id = 5",
    "id = 5 AND 1 = 1",
    "id = 5 OR id = 6",
    "x IS NULL",
    "false",
    "1 = 2",
    "NOT true",
    "id = 5 AND false",
    "false OR id = 3",
    "NULL",
    "name LIKE 'a%'",
    "id IN (1, 2, 3)",
    "id IN (SELECT user_id FROM banned)",
    "EXISTS (SELECT 1 FROM other WHERE other.t_id = t.id)",
    "lower(email) = 'a@b.c'",
    "id BETWEEN 1 AND 10",
    "id <> id OR status = 'old'",
    "other.id = id",
    "x IS NULL AND x IS NOT NULL",
    "id > 100",
    "id > 0 AND org_id = 7",
    "deleted_at IS NOT NULL",
    "created_at > '2024-01-01'",
    "expires_at <= now()",
    "id IN (SELECT id FROM t WHERE status = 'old')",
    "id IN (SELECT id FROM other)",
    "valid > 0",
]


@pytest.mark.parametrize("where", UNRESTRICTED)
def test_postgres_unrestricted(where):
    assert op_ids(sql_facts(f"DELETE FROM t WHERE {where}")) == ["sql:delete-all"]


@pytest.mark.parametrize("where", RESTRICTED)
def test_postgres_restricted(where):
    assert op_ids(sql_facts(f"DELETE FROM t WHERE {where}")) == ["sql:delete"]


_PG_ONLY = {
    "a IS DISTINCT FROM NULL OR a IS NULL",
    "a IS NOT DISTINCT FROM 3 OR a IS DISTINCT FROM 3",
    "$1",
    "'t'::boolean",
    "now() > '2000-01-01'",
    "random() < 2",
    "true IS TRUE",
}


@pytest.mark.parametrize("dialect", ["mysql", "sqlite"])
@pytest.mark.parametrize("where", [w for w in UNRESTRICTED if w not in _PG_ONLY])
def test_generic_unrestricted(dialect, where):
    assert op_ids(sql_facts(f"DELETE FROM t WHERE {where}", dialect)) == ["sql:delete-all"]


@pytest.mark.parametrize("dialect", ["mysql", "sqlite"])
@pytest.mark.parametrize("where", [w for w in RESTRICTED if w not in ("id = $1",)])
def test_generic_restricted(dialect, where):
    assert op_ids(sql_facts(f"DELETE FROM t WHERE {where}", dialect)) == ["sql:delete"]


@pytest.mark.parametrize("where", ["1", "'1'", "2 + 0 = 2 OR 1"])
def test_numeric_truth_in_mysql_where(where):
    facts = sql_facts(f"UPDATE t SET a = 1 WHERE {where}", "mysql")
    assert op_ids(facts) == ["sql:update-all"]


def test_mysql_placeholders_restrict_when_compared_with_a_column():
    assert op_ids(sql_facts("DELETE FROM t WHERE id = ?", "mysql")) == ["sql:delete"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (0, False),
        (2, True),
        ("yes", True),
        ("off", False),
        ("0.0", False),
        ("abc", False),
        (None, None),
    ],
)
def test_truthy(value, expected):
    assert p.truthy(value) is expected


def test_algebra_and_drops_true_and_or_keeps_true():
    col = p.column("x")
    assert p.and_((col, p.TRUE)) == col
    assert p.or_((col, p.TRUE)) == p.TRUE
    assert p.or_((col, p.FALSE)) == col
    assert p.and_((col, p.FALSE)) == p.FALSE


def test_restricts_rule():
    assert not p.restricts(None)
    assert not p.restricts(p.TRUE)
    assert not p.restricts(p.CONSTANT)
    assert p.restricts(p.FALSE)
    assert p.restricts(p.NULL)
    assert p.restricts(p.VARYING)
