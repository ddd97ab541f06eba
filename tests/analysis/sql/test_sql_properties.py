"""Properties over generated input: never a crash, bounded time, parse errors never allow,
data never code, and adding a statement never makes a string safer."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sql_helpers import op_ids, sql_facts

import cpu_time
from safehold.analysis.sql.analyzer import SqlAnalyzer
from safehold.model import Action, Effect

SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=200,
)
STATEMENTS = [
    "SELECT * FROM users WHERE id = 1",
    "INSERT INTO t VALUES (1)",
    "UPDATE t SET a = 1 WHERE id = 2",
    "DELETE FROM t WHERE id = 3",
    "DELETE FROM t",
    "DROP TABLE t",
    "TRUNCATE t",
    "DROP DATABASE d",
    "CREATE TABLE t (id int)",
    "ALTER TABLE t DROP COLUMN c",
    "WITH d AS (DELETE FROM u RETURNING *) SELECT 1",
    "EXPLAIN ANALYZE UPDATE t SET a = 1",
]
TOKENS = [
    "SELECT",
    "DELETE",
    "FROM",
    "WHERE",
    "DROP",
    "TABLE",
    "UPDATE",
    "SET",
    "(",
    ")",
    ";",
    "'",
    "$$",
    "--",
    "/*",
    "*/",
    "1",
    "=",
    "OR",
    "AND",
    "true",
    "t",
    "x",
    ",",
    "WITH",
    "AS",
    "DO",
    "EXECUTE",
    "E'\\'",
    "\n",
    '"',
    "::",
    "$1",
    "NOT",
    "NULL",
    "IS",
]


def _bad(facts) -> bool:
    return any(u.id.endswith(("internal-error", "timeout")) for u in facts.unknowns)


@SETTINGS
@given(text=TEXT, dialect=st.sampled_from(["postgres", "mysql", "sqlite"]))
def test_random_text_never_crashes_and_never_blows_up(text, dialect):
    with cpu_time.at_most(2.0):
        facts = sql_facts(text, dialect)
    assert not _bad(facts), facts.to_dict()


@SETTINGS
@given(tokens=st.lists(st.sampled_from(TOKENS), max_size=40))
def test_token_soup_parse_errors_never_allow(guard, tokens):
    sql = " ".join(tokens)
    facts = sql_facts(sql)
    assert not _bad(facts), facts.to_dict()
    if any(u.id == "sql:not-understood" for u in facts.unknowns):
        assert not guard.decide(Action(kind="sql", input=sql)).allowed


@SETTINGS
@given(stmt=st.sampled_from(STATEMENTS), data=st.data())
def test_garbled_statements_never_crash_and_errors_never_allow(guard, stmt, data):
    i = data.draw(st.integers(0, len(stmt)))
    j = data.draw(st.integers(i, len(stmt)))
    noise = data.draw(st.text(alphabet="'\"();$-/*\\ \nxX1=", max_size=5))
    sql = stmt[:i] + noise + stmt[j:]
    for dialect in ("postgres", "mysql"):
        facts = sql_facts(sql, dialect)
        assert not _bad(facts), facts.to_dict()
        if facts.unknowns:
            decision = guard.decide(Action(kind="sql", input=sql, options={"dialect": dialect}))
            assert not decision.allowed


@SETTINGS
@given(text=TEXT)
def test_any_string_literal_is_data(text):
    literal = "'" + text.replace("'", "''") + "'"
    facts = sql_facts(f"SELECT {literal}")
    assert op_ids(facts) == ["sql:select"], facts.to_dict()
    assert facts.unknowns == ()


@SETTINGS
@given(text=TEXT.filter(lambda s: "\n" not in s and "\r" not in s))
def test_any_line_comment_is_data(text):
    facts = sql_facts(f"SELECT 1 -- {text}")
    assert op_ids(facts) == ["sql:select"], facts.to_dict()


@SETTINGS
@given(stmts=st.lists(st.sampled_from(STATEMENTS), min_size=1, max_size=6))
def test_joined_statements_cost_the_worst_of_their_parts(stmts):
    joined = sql_facts("; ".join(stmts))
    parts = [sql_facts(s) for s in stmts]
    assert joined.effect == max(p.effect for p in parts)
    assert len(joined.operations) == sum(len(p.operations) for p in parts)


# Leaves that never complement each other, so only the added `OR true` can make a tautology.
PREDICATE = st.recursive(
    st.sampled_from(["a < b", "lower(name) = 'x'", "id + 1 = 2", "name LIKE 'a%'", "b IN (1, 2)"]),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["AND", "OR"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        inner.map(lambda s: f"NOT ({s})"),
    ),
    max_leaves=8,
)


@SETTINGS
@given(pred=PREDICATE, dialect=st.sampled_from(["postgres", "mysql", "sqlite"]))
def test_or_true_is_a_tautology_and_and_true_changes_nothing(pred, dialect):
    assert op_ids(sql_facts(f"DELETE FROM t WHERE ({pred}) OR true", dialect)) == ["sql:delete-all"]
    assert op_ids(sql_facts(f"DELETE FROM t WHERE ({pred}) AND 1 = 1", dialect)) == ["sql:delete"]
    assert op_ids(sql_facts(f"DELETE FROM t WHERE {pred}", dialect)) == ["sql:delete"]


def test_large_input_stays_within_budget():
    sql = "; ".join(STATEMENTS * 100)
    with cpu_time.at_most(2.0):
        facts = sql_facts(sql)
    assert facts.effect is Effect.IRREVERSIBLE


def test_deep_nesting_is_unknown_not_a_crash():
    for depth in (50, 500, 5000):
        facts = sql_facts("SELECT " + "(" * depth + "1" + ")" * depth)
        assert not _bad(facts) or facts.unknowns


def test_analyser_can_be_built_with_its_own_catalog():
    assert SqlAnalyzer().catalog.entry("sql:truncate").effect is Effect.DESTRUCTIVE


@SETTINGS
@given(
    garbage=st.lists(
        st.sampled_from(["foo", "bar(", "SELEC 1", "1 +", "a b c", "WHERE"]), min_size=1, max_size=4
    ),
    stmt=st.sampled_from(["DROP TABLE t", "TRUNCATE t", "DROP DATABASE d", "DELETE FROM t"]),
    first=st.booleans(),
)
def test_garbage_beside_a_destructive_statement_never_hides_it(garbage, stmt, first):
    parts = [stmt, *garbage] if first else [*garbage, stmt]
    facts = sql_facts("; ".join(parts))
    assert facts.unknowns
    if first or all("(" not in g for g in garbage):
        assert facts.effect >= Effect.DESTRUCTIVE, facts.to_dict()
