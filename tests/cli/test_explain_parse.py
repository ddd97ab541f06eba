"""`safehold explain` shows how each analyser parsed the input: the shell syntax tree with
unparsed spots marked, SQL statements by node, and an HTTP request's GraphQL root fields,
never a credential's value."""

from __future__ import annotations

from safehold.analysis.registry import get_analyzer


def describe(kind: str, value, **options: str) -> str:
    analyzer = get_analyzer(kind)
    assert analyzer is not None
    return analyzer.describe(value, options)


def test_shell_tree_names_commands_and_arguments() -> None:
    text = describe("shell", "sudo rm -rf \"$X\" | psql -c 'drop table t'")
    assert "pipeline" in text
    assert "word 'sudo'" in text
    assert "simple_expansion" in text
    assert "raw_string \"'drop table t'\"" in text


def test_shell_tree_marks_what_did_not_parse() -> None:
    assert "not parsed" in describe("shell", "echo 'unterminated")


def test_sql_statements_are_listed_by_parser_node() -> None:
    text = describe("sql", "WITH d AS (DELETE FROM users RETURNING *) SELECT 1; DROP TABLE b.i")
    assert text.splitlines() == [
        "1. SelectStmt: WITH d AS (DELETE FROM users RETURNING *) SELECT 1",
        "2. DropStmt: DROP TABLE b.i",
    ]


def test_sql_other_dialects_and_parse_errors() -> None:
    assert "1. delete:" in describe("sql", "DELETE FROM t WHERE 1=1", dialect="mysql")
    assert describe("sql", "DELTE x").startswith("does not parse as postgres SQL")


def test_http_shows_graphql_root_fields_and_hides_credentials() -> None:
    request = {
        "method": "POST",
        "url": "https://backboard.railway.app/graphql/v2?token=abc123",
        "headers": {"Authorization": "Bearer s3cr3t-value"},
        "body": {"query": 'mutation { gone: volumeDelete(volumeId: "vol-1") }'},
    }
    text = describe("http", request)
    assert "graphql mutation volumeDelete (as gone)" in text
    assert '"vol-1"' in text
    assert "s3cr3t-value" not in text and "abc123" not in text
