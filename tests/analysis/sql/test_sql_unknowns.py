"""What cannot be followed is an unknown with the reason, and never allowed."""

from __future__ import annotations

import pytest
from sql_helpers import op_ids, sql_facts, unknown_ids

from safehold.model import Action

# (sql, the unknown finding it must carry)
CASES = [
    ("DELETE FROM users WHERE (", "sql:not-understood"),
    ("DROP TABLE", "sql:not-understood"),
    ("SELEC 1", "sql:not-understood"),
    ("SELECT 'unterminated", "sql:not-understood"),
    ("SELECT 1; DROP TABLE users WHERE", "sql:not-understood"),
    ("CALL archive_everything()", "sql:dynamic"),
    ("EXECUTE stmt_from_elsewhere", "sql:dynamic"),
    ("DO $$ BEGIN EXECUTE 'DROP TABLE ' || tbl; END $$", "sql:dynamic"),
    ("DO $$ BEGIN EXECUTE format('TRUNCATE %I', t); END $$", "sql:dynamic"),
    ("DO $$ DECLARE r record; BEGIN FOR r IN EXECUTE q LOOP END LOOP; END $$", "sql:dynamic"),
    ("DO $$ DECLARE c refcursor; BEGIN OPEN c FOR EXECUTE q; END $$", "sql:dynamic"),
    ("DO LANGUAGE plpython3u $$ import os $$", "sql:dynamic"),
    ("DO $$ BEGIN this is not plpgsql; END $$", "sql:dynamic"),
    (
        "CREATE FUNCTION f(t text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE t; END $$",
        "sql:dynamic",
    ),
    ("CREATE FUNCTION f() RETURNS int LANGUAGE plpython3u AS $$ return 1 $$", "sql:dynamic"),
    ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELEC 1 $$", "sql:not-understood"),
    ("SELECT dblink_exec('conn', some_column) FROM t", "sql:dynamic"),
    ("SELECT purge_old_data()", "sql:opaque-function"),
    ("SELECT app.reset_all(true)", "sql:opaque-function"),
    ("SELECT * FROM users WHERE id = public.now()", "sql:opaque-function"),
    ("INSERT INTO t VALUES (cleanup())", "sql:opaque-function"),
    ("LOAD 'evil.so'", "sql:dynamic"),
]


@pytest.mark.parametrize(("sql", "finding"), CASES, ids=[c[0][:60] for c in CASES])
def test_not_understood_is_never_allowed(guard, sql, finding):
    facts = sql_facts(sql)
    assert finding in unknown_ids(facts), facts.to_dict()
    assert all(u.reason for u in facts.unknowns)
    assert not guard.decide(Action(kind="sql", input=sql)).allowed


def test_the_parser_message_is_in_the_reason():
    (finding,) = sql_facts("DELETE FROM users WHERE (").unknowns
    assert "syntax error at end of input" in finding.reason
    assert finding.source == "DELETE FROM users WHERE ("


def test_understood_statements_beside_a_dynamic_one_are_still_reported():
    facts = sql_facts("DO $$ BEGIN EXECUTE x; DELETE FROM logs; END $$")
    assert "sql:delete-all" in op_ids(facts)
    assert "sql:dynamic" in unknown_ids(facts)


@pytest.mark.parametrize(
    ("sql", "op"),
    [
        ("DO $$ BEGIN EXECUTE 'DROP TABLE audit'; END $$", "sql:drop-table"),
        ("DO $$ BEGIN EXECUTE $q$TRUNCATE t$q$; END $$", "sql:truncate"),
        ("DO $$ BEGIN EXECUTE 'CREATE INDEX i ON t (a)'; END $$", "sql:create"),
        ("DO $$ DECLARE r record; BEGIN FOR r IN EXECUTE 'SELECT 1' LOOP END LOOP; END $$", None),
    ],
)
def test_execute_of_a_constant_string_is_judged_as_that_sql(sql, op):
    facts = sql_facts(sql)
    assert unknown_ids(facts) == [], facts.to_dict()
    if op:
        assert op in op_ids(facts)


def test_functions_in_definitions_are_not_run_by_the_definition():
    facts = sql_facts("CREATE TABLE t (id uuid DEFAULT app_uuid(), CHECK (valid(id)))")
    assert facts.unknowns == ()


@pytest.mark.parametrize(
    "value",
    [b"SELECT 1", "SELECT 1\x00; DROP TABLE users", 42, None, {"sql": "SELECT 1"}, "\udcff"],
    ids=["bytes", "nul", "int", "none", "mapping", "surrogate"],
)
def test_odd_inputs(guard, value):
    facts = sql_facts(value)  # type: ignore[arg-type]
    if value == b"SELECT 1":
        assert op_ids(facts) == ["sql:select"]
        return
    assert unknown_ids(facts), facts.to_dict()
    assert not guard.decide(Action(kind="sql", input=value)).allowed  # type: ignore[arg-type]


def test_nesting_beyond_the_limit_is_unknown():
    sql = "SELECT 1"
    for _ in range(12):
        sql = "SELECT dblink_exec('c', " + "'" + sql.replace("'", "''") + "')"
    facts = sql_facts(sql)
    assert "sql:too-deep" in unknown_ids(facts), facts.to_dict()


@pytest.mark.parametrize(
    ("sql", "op"),
    [
        ("DROP DATABASE prod; garbage(", "sql:drop-database"),
        ("garbage; garbage2; DROP DATABASE x", "sql:drop-database"),
        ("SELECT 1; DROP TABLE t; SELEC 2", "sql:drop-table"),
        ("a b c; /* x; */ TRUNCATE t", "sql:truncate"),
    ],
)
def test_a_broken_statement_does_not_hide_the_ones_beside_it(guard, sql, op):
    facts = sql_facts(sql)
    assert op in op_ids(facts), facts.to_dict()
    assert "sql:not-understood" in unknown_ids(facts)
    if op == "sql:drop-database":
        assert guard.decide(Action(kind="sql", input=sql)).verdict.value == "deny"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1; DELETE FROM t WHERE (; TRUNCATE x",
        "SELECT 'x; DROP TABLE t",
        "SELECT $$; DROP TABLE t",
    ],
)
def test_text_swallowed_by_an_unclosed_construct_stays_unknown(guard, sql):
    facts = sql_facts(sql)
    assert "sql:not-understood" in unknown_ids(facts)
    assert not guard.decide(Action(kind="sql", input=sql)).allowed
