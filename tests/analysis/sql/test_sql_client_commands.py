"""Client commands (psql backslash, sqlite3 dot): describes are reads, the rest is followed or
stays unknown."""

from __future__ import annotations

import pytest
from sql_helpers import op_ids, sql_facts, unknown_ids

from safehold.model import Action, Effect, Target


@pytest.mark.parametrize(
    "command", ["\\dt", "\\d users", "\\d+ public.users", "\\l", "\\dn", "\\df", "\\x \\dt", "\\du"]
)
def test_describe_commands_are_reads_and_allowed(guard, command):
    assert op_ids(sql_facts(command)) == ["sql:show"]
    assert guard.decide(Action(kind="sql", input=command)).allowed


@pytest.mark.parametrize(
    "command", ["\\i evil.sql", "\\gexec", "\\o /etc/passwd", "\\w out.sql", "\\dt; DROP TABLE x"]
)
def test_commands_that_run_or_write_things_are_unknown(guard, command):
    assert unknown_ids(sql_facts(command)) == ["sql:not-understood"]
    assert not guard.decide(Action(kind="sql", input=command)).allowed


def test_gexec_after_a_query_is_not_understood():
    sql = "SELECT format('DROP TABLE %I', tablename) FROM pg_tables \\gexec"
    assert unknown_ids(sql_facts(sql)) == ["sql:not-understood"]


def test_client_copy_is_judged_as_copy_with_its_file_quoted():
    (op,) = sql_facts("\\copy users to /tmp/u.csv csv").operations
    assert op.id == "sql:copy-to-file"
    assert Target("file", "/tmp/u.csv") in op.targets
    assert op_ids(sql_facts("\\copy (SELECT * FROM t WHERE a = 1) to pstdout")) == ["sql:copy-to"]


def test_client_copy_program_and_shell_escape_reach_the_shell_analyser():
    facts = sql_facts("\\copy t from program 'rm -rf /'")
    assert "sql:copy-program" in op_ids(facts)
    assert facts.effect is Effect.IRREVERSIBLE
    shell = sql_facts("\\! rm -rf /")
    assert shell.operations or shell.unknowns
    assert all(not op.id.startswith("sql:") for op in shell.operations)


def test_backslash_inside_sql_strings_is_not_a_command():
    assert op_ids(sql_facts("SELECT '\\dt'")) == ["sql:select"]


@pytest.mark.parametrize(
    "command", [".tables", ".schema users", ".headers on\n.mode column", ".dump"]
)
def test_sqlite_describe_commands_are_reads(guard, command):
    assert set(op_ids(sql_facts(command, "sqlite"))) == {"sql:show"}
    assert guard.decide(Action(kind="sql", input=command, options={"dialect": "sqlite"})).allowed


@pytest.mark.parametrize(
    "command", [".read evil.sql", ".output /etc/passwd", ".import x.csv t", ".load x"]
)
def test_sqlite_commands_that_run_or_write_things_are_unknown(guard, command):
    assert unknown_ids(sql_facts(command, "sqlite")) == ["sql:not-understood"]
    assert not guard.decide(
        Action(kind="sql", input=command, options={"dialect": "sqlite"})
    ).allowed


def test_sqlite_script_mixing_commands_and_sql_judges_both():
    facts = sql_facts(".headers on\nSELECT 1;\nDELETE FROM t;\n.tables\n", "sqlite")
    assert op_ids(facts) == ["sql:show", "sql:select", "sql:delete-all", "sql:show"]


def test_sqlite_shell_escape_reaches_the_shell_analyser():
    facts = sql_facts(".shell rm -rf /", "sqlite")
    assert facts.effect is Effect.IRREVERSIBLE or facts.unknowns
    assert all(not op.id.startswith("sql:") for op in facts.operations)


def test_a_dot_inside_sql_is_not_a_command():
    assert op_ids(sql_facts("SELECT 1.5, '.tables'", "sqlite")) == ["sql:select"]
