"""Destructive words inside data are data: literals, comments and identifiers are not code."""

from __future__ import annotations

import pytest
from sql_helpers import op_ids, sql_facts

from safehold.model import Action, Effect

READ_ONLY = [
    "SELECT 'DROP TABLE users'",
    "SELECT 'x'; -- DROP TABLE users",
    "SELECT 1 /* DROP DATABASE prod; */",
    "SELECT 1 /* nested /* DROP TABLE t */ still comment */",
    "SELECT $$DROP TABLE users$$",
    "SELECT $tag$ '; DROP TABLE users; -- $tag$",
    "SELECT E'\\'; DROP TABLE users; --'",
    "SELECT 'it''s; DROP TABLE users'",
    'SELECT "drop", "truncate", "delete" FROM "table"',
    "SELECT * FROM audit WHERE action = 'DELETE FROM users' AND note LIKE '%TRUNCATE%'",
    "SELECT description FROM migrations WHERE sql_text = 'DROP DATABASE prod'",
    "-- TRUNCATE users\nSELECT 1",
    "SELECT U&'\\0044ROP TABLE x'",
]


@pytest.mark.parametrize("sql", READ_ONLY)
def test_destructive_text_in_data_is_a_read(guard, sql):
    facts = sql_facts(sql)
    assert op_ids(facts) == ["sql:select"], facts.to_dict()
    assert facts.unknowns == ()
    assert guard.decide(Action(kind="sql", input=sql)).allowed


@pytest.mark.parametrize(
    "sql",
    [
        'CREATE TABLE "drop" (id int)',
        'INSERT INTO "truncate" ("delete") VALUES (\'DROP TABLE x\')',
        "UPDATE notes SET body = 'DELETE FROM users' WHERE id = 1",
    ],
)
def test_identifiers_and_values_named_like_keywords_are_writes(sql):
    assert sql_facts(sql).effect is Effect.WRITE


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        ("SELECT 'DROP TABLE users'", "mysql"),
        ("SELECT 1 -- DROP TABLE users", "mysql"),
        ("SELECT 1 # DROP TABLE users", "mysql"),
        ("SELECT 'x' /* TRUNCATE t */", "sqlite"),
        ("SELECT `drop` FROM `delete`", "mysql"),
    ],
)
def test_generic_dialects_treat_literals_and_comments_as_data(sql, dialect):
    facts = sql_facts(sql, dialect)
    assert op_ids(facts) == ["sql:select"], facts.to_dict()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1; DROP TABLE users",
        "SELECT 'a';DROP TABLE users",
        "SELECT 1 /* hide */; DROP TABLE users",
        "select 1;\n\n\tdrop table users",
        "SELECT $$;$$; DROP TABLE users",
    ],
)
def test_a_statement_after_a_harmless_one_is_still_seen(sql):
    assert "sql:drop-table" in op_ids(sql_facts(sql))


def test_a_comment_hiding_the_where_clause_leaves_the_delete_unrestricted():
    assert op_ids(sql_facts("DELETE FROM users -- WHERE id = 5")) == ["sql:delete-all"]


def test_a_string_hiding_the_where_clause_is_a_syntax_error_not_a_read():
    facts = sql_facts("DELETE FROM users WHERE id = '5")
    assert [u.id for u in facts.unknowns] == ["sql:not-understood"]
