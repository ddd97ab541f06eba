"""Hostile and random input: analysis never raises, stays fast, and what does not parse is
never taken for something understood."""

from __future__ import annotations

import json

from graphql import GraphQLError, parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cpu_time
from safehold.analysis import analyze
from safehold.analysis.http.analyzer import HttpAnalyzer
from safehold.analysis.http.shell_clients import request_from_argv
from safehold.analysis.interface import AnalysisContext
from safehold.model import Action, Effect

RAILWAY = "https://backboard.railway.app/graphql/v2"
FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
GRAPHQL_TOKENS = st.sampled_from(
    ["mutation", "query", "{", "}", "(", ")", ":", "$v", "volumeDelete", "volumeId", '"x"',
     "...", "on", "Mutation", "fragment", "F", "#", "\n", "@skip", "[", "]", "!", "=", ","]
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=4),
    max_leaves=20,
)


def direct(request):
    """The analyser itself, without the registry's safety net: it must not raise either."""
    return HttpAnalyzer().analyze(request, {}, AnalysisContext(action=Action("http", request)))


@FAST
@given(st.lists(GRAPHQL_TOKENS, max_size=40).map(" ".join))
def test_garbled_graphql_is_never_taken_as_understood(query):
    facts = direct({"method": "POST", "url": RAILWAY, "body": {"query": query}})
    try:
        parse(query)
    except GraphQLError:
        assert facts.unknowns, query
    else:
        assert facts.operations or facts.unknowns, query


@FAST
@given(st.text(max_size=400))
def test_random_raw_requests_never_raise(text):
    with cpu_time.at_most(2.0):
        direct(text)


@FAST
@given(
    method=st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH", "X", ""])
    | st.text(max_size=8),
    host=st.sampled_from(["backboard.railway.app", "api.github.com", "rds.amazonaws.com",
                          "management.azure.com", "example.com", "$H", ""]),
    path=st.text(max_size=40),
    body=JSON,
    headers=st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=4),
)
def test_random_requests_never_raise(method, host, path, body, headers):
    request = {"method": method, "url": f"https://{host}/{path}", "headers": headers,
               "body": body if not isinstance(body, str) else json.dumps(body)}
    facts = direct(request)
    assert facts.operations or facts.unknowns


@FAST
@given(st.lists(st.sampled_from(
    ["curl", "wget", "http", "-X", "-d", "@-", "@f", "-H", "A: b", "-G", "--json", "{}",
     "https://h/x", "x=1", "k:=[", "--", "-sSL", "-F", "POST", "DELETE", ":3000", "a==b"]),
    max_size=12))
def test_random_command_lines_never_raise(words):
    out = request_from_argv(words, None, "/nonexistent")
    if out is not None:
        facts = analyze(Action(kind="http", input=out))
        assert facts.operations or facts.unknowns


def test_deeply_nested_graphql_is_bounded():
    query = "query { " + "a { " * 3000 + "b" + " }" * 3000 + " }"
    with cpu_time.at_most(4.0):
        facts = analyze(Action(kind="http", input={"method": "POST", "url": RAILWAY,
                                                   "body": {"query": query}}))
    assert facts.unknowns


def test_huge_graphql_document_is_bounded():
    query = "mutation { " + " ".join(f'a{i}: volumeDelete(volumeId: "v{i}")'
                                     for i in range(5000)) + " }"
    with cpu_time.at_most(2.0):
        facts = analyze(Action(kind="http", input={"method": "POST", "url": RAILWAY,
                                                   "body": {"query": query}}))
    assert facts.unknowns or facts.effect is Effect.IRREVERSIBLE
