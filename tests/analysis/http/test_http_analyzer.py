"""HTTP analysis: GraphQL root fields, provider REST/query APIs, method semantics, credentials
and input that cannot be understood."""

from __future__ import annotations

import json

import pytest

from safehold.analysis import analyze
from safehold.model import Action, Effect

RAILWAY = "https://backboard.railway.app/graphql/v2"


def facts_for(request):
    return analyze(Action(kind="http", input=request))


def gql(query, variables=None, operation_name=None, url=RAILWAY, headers=None):
    body = {"query": query}
    if variables is not None:
        body["variables"] = variables
    if operation_name is not None:
        body["operationName"] = operation_name
    return {"method": "POST", "url": url, "headers": headers or {}, "body": json.dumps(body)}


def ids(facts):
    return [op.id for op in facts.operations]


# --- GraphQL ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("request_", "expected_ids", "effect"),
    [
        (gql('mutation { volumeDelete(volumeId: "vol-123") }'), ["railway:volumeDelete"],
         Effect.IRREVERSIBLE),
        (gql('mutation { keep: volumeDelete(volumeId: "v") }'), ["railway:volumeDelete"],
         Effect.IRREVERSIBLE),
        (gql('mutation M($v: String!) { volumeDelete(volumeId: $v) }', {"v": "vol-9"}),
         ["railway:volumeDelete"], Effect.IRREVERSIBLE),
        (gql('mutation { ...F } fragment F on Mutation { serviceDelete(id: "s") }'),
         ["railway:serviceDelete"], Effect.IRREVERSIBLE),
        (gql('mutation { ... on Mutation { environmentDelete(id: "e") } }'),
         ["railway:environmentDelete"], Effect.IRREVERSIBLE),
        (gql('mutation { serviceInstanceRedeploy(serviceId: "s", environmentId: "e") }'),
         ["railway:mutation"], Effect.WRITE),
        (gql('mutation { someFutureThingPurge(id: "x") }'), ["railway:mutation-destructive"],
         Effect.DESTRUCTIVE),
        (gql('query { me { projects { edges { node { id } } } } }'), ["railway:query"],
         Effect.READ),
        (gql('# mutation { volumeDelete(volumeId: "vol-123") }\nquery { me { id } }'),
         ["railway:query"], Effect.READ),
        (gql('query { projects(filter: "volumeDelete") { edges { node { id } } } }'),
         ["railway:query"], Effect.READ),
        (gql('query Q { me { id } } mutation M { volumeDelete(volumeId: "v") }',
             operation_name="Q"), ["railway:query"], Effect.READ),
        (gql('query Q { me { id } } mutation M { volumeDelete(volumeId: "v") }'),
         ["railway:volumeDelete", "railway:query"], Effect.IRREVERSIBLE),
        (gql('mutation { deleteEntity(guid: "abc") }', url="https://api.newrelic.com/graphql"),
         ["graphql:mutation-destructive"], Effect.DESTRUCTIVE),
        (gql('mutation { createIssue(input: {title: "drop volumeDelete"}) { issue { id } } }',
             url="https://api.github.com/graphql"), ["github:mutation"], Effect.WRITE),
    ],
)
def test_graphql_operations(request_, expected_ids, effect):
    facts = facts_for(request_)
    assert sorted(ids(facts)) == sorted(expected_ids), facts.to_dict()
    assert facts.effect is effect
    assert not facts.unknowns, facts.to_dict()


def test_volume_delete_names_provider_mutation_and_volume():
    facts = facts_for(gql('mutation { volumeDelete(volumeId: "vol-123") }'))
    (op,) = facts.operations
    assert op.provider == "railway"
    assert [(t.kind, t.name, t.provider) for t in op.targets] == [("volume", "vol-123", "railway")]
    for word in ("railway", "volumeDelete", "vol-123"):
        assert word in op.reason


def test_batched_graphql_is_judged_by_every_operation():
    body = json.dumps([{"query": "query { me { id } }"},
                       {"query": 'mutation { projectDelete(id: "p") }'}])
    facts = facts_for({"method": "POST", "url": RAILWAY, "body": body})
    assert "railway:projectDelete" in ids(facts)
    assert facts.effect is Effect.IRREVERSIBLE


def test_graphql_as_raw_body_and_as_get_parameter():
    raw = facts_for({"method": "POST", "url": RAILWAY,
                     "headers": {"Content-Type": "application/graphql"},
                     "body": 'mutation { volumeDelete(volumeId: "v") }'})
    query = 'mutation%20%7B%20volumeDelete(volumeId:%20"v")%20%7D'
    get = facts_for({"method": "GET", "url": f"{RAILWAY}?query={query}"})
    assert ids(raw) == ids(get) == ["railway:volumeDelete"]


@pytest.mark.parametrize(
    "query",
    ["mutation {", "mutation { volumeDelete(volumeId: ) }", "}}}}", "mutation { ...Missing }",
     "", "fragment F on Mutation { a }"],
)
def test_graphql_that_does_not_parse_is_unknown(query):
    facts = facts_for(gql(query))
    assert facts.unknowns, facts.to_dict()


def test_destructive_mutation_with_missing_variable_is_flagged():
    facts = facts_for(gql("mutation M($v: String!) { volumeDelete(volumeId: $v) }"))
    assert ids(facts) == ["railway:volumeDelete"]
    assert [u.id for u in facts.unknowns] == ["http:graphql-unresolved"]


def test_missing_variables_matter_only_where_something_is_lost():
    facts = facts_for(gql("mutation M($i: In!) { serviceUpdate(input: $i) { id } }"))
    assert ids(facts) == ["railway:mutation"]
    assert not facts.unknowns
    facts = facts_for(gql("mutation M($v: String!) { thingDelete(id: $v) }"))
    assert ids(facts) == ["railway:mutation-destructive"]
    assert [u.id for u in facts.unknowns] == ["http:graphql-unresolved"]


def test_persisted_query_without_document_is_unknown():
    body = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ab"}}}
    facts = facts_for({"method": "POST", "url": RAILWAY, "body": body})
    assert facts.unknowns


def test_graphql_endpoint_with_non_graphql_body_is_unknown():
    facts = facts_for({"method": "POST", "url": RAILWAY, "body": '{"hello": "world"}'})
    assert any(u.id == "http:graphql-unreadable" for u in facts.unknowns)


# --- REST and query-protocol APIs ------------------------------------------------------------

@pytest.mark.parametrize(
    ("request_", "expected_id", "effect"),
    [
        ("DELETE https://api.digitalocean.com/v2/volumes/abc", "digitalocean:volume-delete",
         Effect.IRREVERSIBLE),
        ("GET https://api.digitalocean.com/v2/volumes/abc", "digitalocean:read", Effect.READ),
        ("POST https://rds.amazonaws.com/\n\nAction=DeleteDBInstance&DBInstanceIdentifier=db"
         "&SkipFinalSnapshot=true", "aws:DeleteDBInstance-SkipFinalSnapshot", Effect.IRREVERSIBLE),
        ("POST https://ec2.us-east-1.amazonaws.com/?Action=DescribeInstances", "aws:action-read",
         Effect.READ),
        ("POST https://iam.amazonaws.com/\n\nAction=DeleteRole&RoleName=x",
         "aws:action-destructive", Effect.DESTRUCTIVE),
        ("POST https://dynamodb.us-east-1.amazonaws.com/\nX-Amz-Target: DynamoDB_20120810.PutItem"
         "\n\n{\"TableName\": \"t\"}", "aws:action-write", Effect.WRITE),
        ("DELETE https://management.azure.com/SUBSCRIPTIONS/1/RESOURCEGROUPS/prod",
         "azure:resource-group-delete", Effect.IRREVERSIBLE),
        ("DELETE http://localhost:9200/logs-2024", "http:delete", Effect.DESTRUCTIVE),
        ("GET http://localhost:9200/_cat/indices?v", "http:read", Effect.READ),
        ("POST http://jenkins.local/job/deploy-prod/doDelete", "http:destructive-endpoint",
         Effect.DESTRUCTIVE),
        ("POST http://localhost:9200/logs/_delete_by_query\n\n{\"query\": {\"match_all\": {}}}",
         "elasticsearch:delete-by-query", Effect.DESTRUCTIVE),
        ("POST http://localhost:7700/indexes/movies/documents/delete-batch\n\n[1, 2]",
         "http:destructive-endpoint", Effect.DESTRUCTIVE),
        ("POST https://api.example.com/v1/orders\n\n{\"note\": \"DROP TABLE orders\"}",
         "http:write", Effect.WRITE),
        ("HEAD https://example.com/", "http:read", Effect.READ),
    ],
)
def test_rest_operations(request_, expected_id, effect):
    facts = facts_for(request_)
    assert ids(facts) == [expected_id], facts.to_dict()
    assert facts.effect is effect


@pytest.mark.parametrize(
    ("request_", "url"),
    [
        ("DELETE http://localhost:9200/logs?x=1", "http://localhost:9200/logs"),
        ("DELETE https://api.digitalocean.com/v2/volumes/abc",
         "https://api.digitalocean.com/v2/volumes/abc"),
        ("GET https://u:p@k8s.internal:6443/api/v1/pods", "https://k8s.internal:6443/api/v1/pods"),
    ],
)
def test_every_rest_call_names_its_url_for_the_inventory(request_, url):
    facts = facts_for(request_)
    assert url in [t.name for t in facts.targets if t.kind == "url"]


def test_a_path_that_merely_mentions_graphql_is_still_matched_by_the_catalog():
    facts = facts_for("DELETE https://api.digitalocean.com/v2/volumes/graphql")
    assert [op.id for op in facts.operations] == ["digitalocean:volume-delete"]
    assert not facts.unknowns


@pytest.mark.parametrize(
    ("request_", "expected_id"),
    [
        ({"method": "DELETE", "url": "https://api.digitalocean.com/v2/volumes/graphql",
          "body": {"query": "query { me { id } }"}}, "digitalocean:volume-delete"),
        ({"method": "POST", "url": "http://jenkins.local/job/prod/doDelete",
          "body": {"query": "query { me { id } }"}}, "http:destructive-endpoint"),
        ({"method": "DELETE", "url": "https://example.com/graphql",
          "body": {"query": "query { me { id } }"}}, "http:delete"),
    ],
)
def test_a_graphql_looking_body_never_hides_what_the_call_does(request_, expected_id):
    facts = facts_for(request_)
    assert expected_id in ids(facts)
    assert facts.effect >= Effect.DESTRUCTIVE


@pytest.mark.parametrize(
    "request_",
    [
        "POST https://api.digitalocean.com/v2/volumes/abc\nX-HTTP-Method-Override: DELETE",
        "POST https://api.digitalocean.com/v2/volumes/abc?_method=delete",
        "DELETE https://api.digitalocean.com//v2/./volumes/x/../abc/",
        "DELETE https://api.digitalocean.com/v2/volumes/%61bc",
    ],
)
def test_method_overrides_and_path_tricks_reach_the_same_entry(request_):
    facts = facts_for(request_)
    assert ids(facts) == ["digitalocean:volume-delete"], facts.to_dict()
    assert facts.operations[0].targets[0].name == "abc"


def test_issue_body_mentioning_drop_table_is_a_write_not_a_drop():
    facts = facts_for({
        "method": "POST",
        "url": "https://api.github.com/repos/acme/api/issues",
        "headers": {"Content-Type": "application/json"},
        "body": {"title": "Cleanup", "body": "Run DROP TABLE users; and curl -X DELETE …"},
    })
    assert ids(facts) == ["github:issue-write"]
    assert facts.effect is Effect.WRITE
    assert not facts.unknowns


def test_sql_in_a_supabase_query_body_goes_through_the_sql_analyser():
    facts = facts_for({
        "method": "POST",
        "url": "https://api.supabase.com/v1/projects/abcd/database/query",
        "body": {"query": "DROP TABLE users"},
    })
    assert "supabase:sql-query" in ids(facts)
    assert facts.effect >= Effect.DESTRUCTIVE or facts.unknowns, facts.to_dict()
    assert all(not op.id.startswith("http:") for op in facts.operations)


@pytest.mark.parametrize(
    ("request_", "sql_id"),
    [
        ({"method": "POST", "url": "https://api.supabase.com/v1/projects/abcd/database/query",
          "body": {"query": "DROP TABLE users"}}, "sql:drop-table"),
        ({"method": "POST",
          "url": "https://api.cloudflare.com/client/v4/accounts/a/d1/database/d/query",
          "body": {"sql": "DELETE FROM users"}}, "sql:delete-all"),
        ({"method": "POST", "url": "https://rds-data.us-east-1.amazonaws.com/Execute",
          "body": {"resourceArn": "arn", "sql": "TRUNCATE orders"}}, "sql:truncate"),
    ],
)
def test_embedded_sql_is_judged_by_the_sql_analyser(request_, sql_id):
    facts = facts_for(request_)
    assert sql_id in ids(facts), facts.to_dict()
    assert facts.effect >= Effect.DESTRUCTIVE


def test_supabase_query_body_without_sql_is_unknown():
    facts = facts_for({"method": "POST",
                       "url": "https://api.supabase.com/v1/projects/abcd/database/query",
                       "body": {"sql": "select 1"}})
    assert any(u.id == "http:embedded-missing" for u in facts.unknowns)


# --- credentials -----------------------------------------------------------------------------

SECRET = "sk_live_9f8e7d6c5b4a"


@pytest.mark.parametrize(
    "request_",
    [
        {"method": "GET", "url": "https://api.example.com/x",
         "headers": {"Authorization": f"Bearer {SECRET}"}},
        {"method": "GET", "url": "https://api.example.com/x", "headers": {"X-Api-Key": SECRET}},
        {"method": "GET", "url": "https://api.example.com/x", "headers": [["Cookie", SECRET]]},
        {"method": "GET", "url": f"https://api.example.com/x?api_key={SECRET}"},
        {"method": "GET", "url": f"https://user:{SECRET}@api.example.com/x"},
        {"method": "POST", "url": RAILWAY, "headers": {"Project-Access-Token": SECRET},
         "body": {"query": "query { me { id } }"}},
        f"POST {RAILWAY}\nAuthorization: Bearer {SECRET}\n\n"
        + json.dumps({"query": "query { me { id } }"}),
    ],
)
def test_credentials_are_noted_and_never_shown(request_):
    facts = facts_for(request_)
    assert facts.credential_uses, facts.to_dict()
    assert not facts.credentials, "presenting a credential is not hunting for one"
    assert SECRET not in json.dumps(facts.to_dict())


def test_an_authenticated_read_passes_and_an_authenticated_delete_does_not():
    from safehold.decide import Guard
    from safehold.model import Action

    guard = Guard.load()
    headers = {"Authorization": f"Bearer {SECRET}"}
    read = {"method": "GET", "url": "https://api.github.com/repos/o/r/issues", "headers": headers}
    delete = {"method": "DELETE", "url": "https://api.github.com/repos/o/r", "headers": headers}
    assert guard.decide(Action("http", read)).verdict.value == "allow"
    assert guard.decide(Action("http", delete)).verdict.value == "deny"


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/meta-data/iam/security-credentials/role",
     "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token",
     "http://169.254.170.2/v2/credentials/abc"],
)
def test_metadata_credential_endpoints_are_credential_access(url):
    facts = facts_for({"method": "GET", "url": url})
    assert [c.id for c in facts.credentials] == ["http:credential-endpoint"]


def test_metadata_that_is_not_a_credential_is_just_a_read():
    facts = facts_for({"method": "GET",
                       "url": "http://169.254.169.254/latest/meta-data/instance-id"})
    assert not facts.credentials


def test_redacted_request_hides_secrets():
    from safehold.analysis.http.credentials import redacted
    from safehold.analysis.http.names import vocabulary

    out = redacted({"method": "GET", "url": f"https://u:{SECRET}@h/x?token={SECRET}&a=1",
                    "headers": {"Authorization": f"Bearer {SECRET}", "Accept": "*/*"}},
                   vocabulary())
    assert SECRET not in json.dumps(out)
    assert out["headers"]["Accept"] == "*/*"


# --- input that cannot be understood ---------------------------------------------------------

@pytest.mark.parametrize(
    "bad",
    [None, 42, [], {}, "", "garbage", {"method": "POST"}, {"url": 7},
     {"method": "DELETE", "url": "https://$HOST/v2/volumes/x"},
     {"method": "BREW", "url": "https://example.com/pot"},
     {"method": "GET", "url": "https://example.com", "headers": "Authorization: x"},
     {"method": "POST", "url": "https://example.com", "body": None,
      "unknown": ["request body comes from file 'x.json', which cannot be read"]}],
)
def test_bad_input_is_never_understood_as_safe(bad):
    facts = facts_for(bad)
    assert facts.unknowns, facts.to_dict()


def test_raw_request_with_host_header_and_relative_target():
    raw = ("POST /graphql/v2 HTTP/1.1\r\nHost: backboard.railway.com\r\n"
           "Content-Type: application/json\r\n\r\n"
           '{"query": "mutation { volumeDelete(volumeId: \\"v\\") }"}')
    assert ids(facts_for(raw)) == ["railway:volumeDelete"]
