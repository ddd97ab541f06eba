"""MCP tool calls: catalogued tools, arguments that carry shell/SQL/HTTP, uncatalogued tools
judged by name and arguments, and calls that cannot be understood."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cpu_time
from safehold.analysis import analyze
from safehold.analysis.interface import AnalysisContext
from safehold.analysis.mcp.analyzer import McpAnalyzer, looks_like_sql
from safehold.decide import Guard
from safehold.model import Action, Effect


def facts_for(call):
    return analyze(Action(kind="mcp", input=call))


def ids(facts):
    return [op.id for op in facts.operations]


@pytest.fixture(scope="module")
def guard():
    return Guard.load()


@pytest.mark.parametrize(
    ("call", "expected_id", "effect"),
    [
        ({"server": "filesystem", "tool": "read_file", "arguments": {"path": "a.txt"}},
         "mcp-filesystem:read", Effect.READ),
        ({"server": "filesystem", "tool": "delete_file", "arguments": {"path": "a.db"}},
         "mcp-filesystem:delete", Effect.DESTRUCTIVE),
        ({"server": "github", "tool": "delete_repository",
          "arguments": {"owner": "a", "repo": "b"}}, "mcp-github:repo-delete", Effect.IRREVERSIBLE),
        ({"tool": "mcp__github__create_issue",
          "arguments": {"owner": "a", "repo": "b", "body": "DROP TABLE users"}},
         "mcp-github:write", Effect.WRITE),
        ({"server": "k8s", "tool": "kubectl_delete",
          "arguments": {"resourceType": "pvc", "name": "data-pg-0"}},
         "mcp-kubernetes:delete-storage", Effect.IRREVERSIBLE),
        ({"server": "k8s", "tool": "kubectl_delete",
          "arguments": {"resourceType": "deployment", "name": "web"}},
         "mcp-kubernetes:delete", Effect.DESTRUCTIVE),
        ({"server": "supabase", "tool": "delete_branch", "arguments": {"branch_id": "b"}},
         "mcp-database:destroy", Effect.IRREVERSIBLE),
        ({"server": "anything", "tool": "purge_cache", "arguments": {}},
         "mcp:tool-destructive", Effect.DESTRUCTIVE),
        ({"server": "anything", "tool": "get_forecast", "arguments": {"city": "Oslo"}},
         "mcp:tool-read", Effect.READ),
    ],
)
def test_tool_operations(call, expected_id, effect):
    facts = facts_for(call)
    assert expected_id in ids(facts), facts.to_dict()
    assert facts.effect is effect


def test_targets_come_from_arguments():
    facts = facts_for({"server": "github", "tool": "delete_repository",
                       "arguments": {"owner": "acme", "repo": "api"}})
    assert [(t.kind, t.name) for t in facts.targets] == [("repository", "api")]
    assert "api" in facts.operations[0].reason


@pytest.mark.parametrize(
    ("call", "verdict"),
    [
        ({"server": "postgres", "tool": "query", "arguments": {"sql": "DROP TABLE users"}}, "ask"),
        ({"server": "mysql", "tool": "execute_sql", "arguments": {"sql": "TRUNCATE orders"}},
         "ask"),
        ({"server": "desktop-commander", "tool": "execute_command",
          "arguments": {"command": "rm -rf /"}}, "deny"),
        ({"server": "x", "tool": "bash", "arguments": {"command": "dd if=/dev/zero of=/dev/sda"}},
         "deny"),
        ({"server": "fetch", "tool": "fetch",
          "arguments": {"url": "https://backboard.railway.app/graphql/v2", "method": "POST",
                        "body": {"query": 'mutation { volumeDelete(volumeId: "v") }'}}}, "deny"),
        ({"server": "k8s", "tool": "exec_in_pod",
          "arguments": {"name": "pg-0", "command": ["sh", "-c", "rm -rf /var/lib/postgresql"]}},
         "ask"),
        ({"server": "unknown", "tool": "do_thing", "arguments": {"cmd": "rm -rf ~"}}, "deny"),
        ({"server": "unknown", "tool": "get_page",
          "arguments": {"url": "https://api.digitalocean.com/v2/volumes/abc", "method": "DELETE"}},
         "deny"),
        ({"server": "unknown", "tool": "update_record", "arguments": {"id": 1}}, "ask"),
        ({"server": "unknown", "tool": "frobnicate", "arguments": {}}, "ask"),
    ],
)
def test_dangerous_or_unclear_calls_get_their_exact_verdict(guard, call, verdict):
    """Irreversible where production may be hit is refused; destructive or unclear is asked."""
    decision = guard.decide(Action(kind="mcp", input=call))
    assert decision.verdict.value == verdict, decision.to_dict()


@pytest.mark.parametrize(
    "call",
    [
        {"server": "filesystem", "tool": "read_file", "arguments": {"path": "README.md"}},
        {"server": "filesystem", "tool": "write_file",
         "arguments": {"path": "notes.md", "content": "remember: never DROP TABLE users"}},
        {"server": "postgres", "tool": "query", "arguments": {"sql": "SELECT * FROM users"}},
        {"server": "x", "tool": "run_command", "arguments": {"command": "ls -la"}},
        {"server": "github", "tool": "create_issue",
         "arguments": {"owner": "a", "repo": "b", "title": "t", "body": "rm -rf / is bad"}},
        {"server": "docs", "tool": "search_docs",
         "arguments": {"query": "drop tables in the postgres docs"}},
        {"server": "fetch", "tool": "fetch", "arguments": {"url": "https://example.com/docs"}},
    ],
)
def test_routine_calls_pass(guard, call):
    decision = guard.decide(Action(kind="mcp", input=call))
    assert decision.allowed, decision.to_dict()


def test_approval_covers_arguments_not_just_the_tool_name(guard):
    read = guard.decide(Action(kind="mcp", input={"server": "pg", "tool": "query",
                                                  "arguments": {"sql": "SELECT 1"}}))
    drop = guard.decide(Action(kind="mcp", input={"server": "pg", "tool": "query",
                                                  "arguments": {"sql": "DROP TABLE t"}}))
    assert (read.verdict.value, drop.verdict.value) == ("allow", "ask")


@pytest.mark.parametrize(
    ("path", "effect"),
    [("notes.md", Effect.WRITE), ("/etc/hosts", Effect.DESTRUCTIVE),
     ("data/app.sqlite", Effect.DESTRUCTIVE), (".git/HEAD", Effect.DESTRUCTIVE)],
)
def test_filesystem_writes_follow_the_editor_write_rules(tmp_path, path, effect):
    facts = analyze(Action(kind="mcp", cwd=str(tmp_path), input={
        "server": "filesystem", "tool": "write_file", "arguments": {"path": path, "content": ""}}))
    assert facts.effect is effect, facts.to_dict()


def test_relative_paths_are_resolved_against_the_working_directory():
    facts = analyze(Action(kind="mcp", cwd="/home/dev/project", input={
        "server": "filesystem", "tool": "delete_file", "arguments": {"path": "data/app.db"}}))
    assert [(t.kind, t.name) for t in facts.targets] == [("path", "/home/dev/project/data/app.db")]


def test_catalogued_exec_tool_without_its_argument_is_unknown():
    facts = facts_for({"server": "x", "tool": "run_command", "arguments": {"argv": ["ls"]}})
    assert any(u.id == "mcp:embedded-missing" for u in facts.unknowns)


def test_write_like_unknown_tool_is_unknown():
    facts = facts_for({"server": "crm", "tool": "update_customer", "arguments": {"id": 3}})
    assert ids(facts) == ["mcp:tool-write"]
    assert [u.id for u in facts.unknowns] == ["mcp:unknown-tool"]


def test_credential_arguments_are_noted_not_shown():
    facts = facts_for({"server": "x", "tool": "get_status",
                       "arguments": {"api_key": "sk_live_abcdef123", "id": 1}})
    assert [c.id for c in facts.credential_uses] == ["mcp:credential"]
    assert "sk_live_abcdef123" not in json.dumps(facts.to_dict())


@pytest.mark.parametrize(
    "bad",
    [None, "tool", 7, {}, {"server": "x"}, {"server": "x", "tool": ""},
     {"server": "x", "tool": "read_file", "arguments": "path=/etc"},
     {"server": "x", "tool": 5, "arguments": {}}],
)
def test_bad_input_is_unknown(bad):
    facts = facts_for(bad)
    assert facts.unknowns and not facts.operations


@pytest.mark.parametrize(
    ("text", "is_sql"),
    [("SELECT 1", True), ("  -- note\n drop table x", True),
     ("with a as (select 1) select *", True), ("how do I select a row", False),
     ("kubernetes pods", False)],
)
def test_looks_like_sql(text, is_sql):
    assert looks_like_sql(text) is is_sql


ARGS = st.dictionaries(
    st.sampled_from(["command", "cmd", "sql", "query", "url", "path", "method", "body", "x",
                     "token", "resourceType", "name", "args"]),
    st.none() | st.integers() | st.text(max_size=30) | st.lists(st.text(max_size=8), max_size=3),
    max_size=5,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(server=st.text(max_size=12), tool=st.text(max_size=20), arguments=ARGS)
def test_random_calls_never_raise(server, tool, arguments):
    call = {"server": server, "tool": tool, "arguments": arguments}
    with cpu_time.at_most(2.0):
        facts = McpAnalyzer().analyze(call, {}, AnalysisContext(
            action=Action("mcp", call), _embed=lambda *a: analyze(Action(a[0], a[1]))))
    assert facts.operations or facts.unknowns
