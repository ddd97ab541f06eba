"""HTTP calls decided end to end by the default policy: what passes, what asks, what is refused."""

from __future__ import annotations

import json

import pytest

from safehold.decide import Guard
from safehold.model import Action, Verdict

RAILWAY = "https://backboard.railway.app/graphql/v2"


def gql(query):
    return {"method": "POST", "url": RAILWAY, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"query": query})}


@pytest.fixture(scope="module")
def guard():
    return Guard.load()


@pytest.mark.parametrize(
    ("request_", "verdict", "op_id"),
    [
        (gql('mutation { volumeDelete(volumeId: "vol-123") }'), Verdict.DENY,
         "railway:volumeDelete"),
        (gql('query { project(id: "p") { volumes { edges { node { id } } } } }'), Verdict.ALLOW,
         "railway:query"),
        (gql('# volumeDelete(volumeId: "v")\nquery { me { id } }'), Verdict.ALLOW,
         "railway:query"),
        (gql('mutation { deploymentRemove(id: "d") }'), Verdict.ASK, "railway:deploymentRemove"),
        (gql("mutation { volumeDelete(volumeId: "), Verdict.ASK, None),
        ("DELETE https://api.digitalocean.com/v2/volumes/abc", Verdict.DENY,
         "digitalocean:volume-delete"),
        ("POST https://rds.amazonaws.com/\n\nAction=DeleteDBInstance&DBInstanceIdentifier=db"
         "&SkipFinalSnapshot=true", Verdict.DENY, "aws:DeleteDBInstance-SkipFinalSnapshot"),
        ("DELETE http://localhost:9200/logs-2024", Verdict.ASK, "http:delete"),
        ("GET https://api.github.com/repos/acme/api/pulls", Verdict.ALLOW, "github:read"),
        ({"method": "POST", "url": "https://api.github.com/repos/acme/api/issues",
          "body": {"title": "x", "body": "DROP TABLE users"}}, Verdict.ALLOW, "github:issue-write"),
        ("DELETE https://k8s.example.com/api/v1/namespaces/prod?dryRun=All", Verdict.ALLOW,
         "kubernetes:dry-run"),
        ({"method": "DELETE", "url": "https://$UNRESOLVED/v2/volumes/x"}, Verdict.ASK,
         "http:delete"),
    ],
)
def test_http_decision(guard, request_, verdict, op_id):
    decision = guard.decide(Action(kind="http", input=request_))
    assert decision.verdict is verdict, decision.to_dict()
    if op_id is not None:
        assert op_id in [op.id for op in decision.facts.operations]
    if verdict is not Verdict.ALLOW:
        assert decision.reasons
