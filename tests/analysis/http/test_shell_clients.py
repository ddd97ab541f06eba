"""curl / wget / httpie command lines as requests, and the same call judged the same way
whichever form it arrives in."""

from __future__ import annotations

import json
import shlex

import pytest

from safehold.analysis import analyze
from safehold.analysis.http.shell_clients import request_from_argv
from safehold.model import Action

INCIDENT = (
    "curl -X POST https://backboard.railway.app/graphql/v2 "
    "-H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' "
    "-d '{\"query\":\"mutation { volumeDelete(volumeId: \\\"vol-123\\\") }\"}'"
)
INCIDENT_RAW = (
    "POST https://backboard.railway.app/graphql/v2\n"
    "Authorization: Bearer $TOKEN\n"
    "Content-Type: application/json\n\n"
    '{"query":"mutation { volumeDelete(volumeId: \\"vol-123\\") }"}'
)


def req(cmd, stdin=None, cwd="/nonexistent"):
    return request_from_argv(shlex.split(cmd), stdin, cwd)


def summary(facts):
    return sorted((op.id, op.effect, tuple(op.targets), op.reason) for op in facts.operations)


@pytest.mark.parametrize(
    ("cmd", "method", "url", "body"),
    [
        ("curl https://example.com", "GET", "https://example.com", None),
        ("curl -sSL example.com/x", "GET", "http://example.com/x", None),
        ("curl -XDELETE localhost:9200/idx", "DELETE", "http://localhost:9200/idx", None),
        ("curl --request=PATCH https://h/a", "PATCH", "https://h/a", None),
        ("curl -d a=1 -d b=2 https://h/f", "POST", "https://h/f", "a=1&b=2"),
        ("curl -sd 'x=1' https://h/f", "POST", "https://h/f", "x=1"),
        ("curl --json '{\"a\": 1}' https://h/j", "POST", "https://h/j", '{"a": 1}'),
        ("curl -G -d q=1 https://h/s", "GET", "https://h/s?q=1", None),
        ("curl -I https://h/", "HEAD", "https://h/", None),
        ("curl -T f.txt https://h/up", "PUT", "https://h/up", "[uploaded file]"),
        ("curl -F file=@x.png https://h/up", "POST", "https://h/up", "file=@x.png"),
        ("curl --data-urlencode 'q=a b' https://h/f", "POST", "https://h/f", "q=a%20b"),
        ("curl -X DELETE -- https://h/x", "DELETE", "https://h/x", None),
        ("wget https://example.com/file", "GET", "https://example.com/file", None),
        ("wget --method=DELETE https://h/x", "DELETE", "https://h/x", None),
        ("wget -q -O - --post-data 'a=1' https://h/f", "POST", "https://h/f", "a=1"),
        ("http DELETE api.github.com/repos/a/b", "DELETE", "http://api.github.com/repos/a/b",
         None),
        ("https api.github.com/user", "GET", "https://api.github.com/user", None),
        ("xh :3000/health", "GET", "http://localhost:3000/health", None),
        ("http POST :3000/x name=a n:=1 q==z", "POST", "http://localhost:3000/x?q=z",
         {"name": "a", "n": 1}),
        ("http -f POST h/x a=1", "POST", "http://h/x", "a=1"),
    ],
)
def test_request_from_argv(cmd, method, url, body):
    out = req(cmd)
    assert out is not None
    assert (out["method"], out["url"], out["body"]) == (method, url, body)
    assert "unknown" not in out


def test_headers_from_curl_and_httpie():
    assert req("curl -H 'X-Api-Key: k' -H 'Accept: */*' https://h")["headers"] == {
        "X-Api-Key": "k", "Accept": "*/*"}
    assert req("http h/x 'Authorization:Bearer t'")["headers"] == {"Authorization": "Bearer t"}
    assert req("curl -u me:pw https://h")["headers"]["Authorization"].startswith("Basic")


@pytest.mark.parametrize("cmd", ["curl", "curl -s -o out.txt", "wget -q", "http", "ls -la",
                                 "curl -H 'A: b'"])
def test_no_url_no_request(cmd):
    assert req(cmd) is None


def test_body_file_is_read_under_cwd(tmp_path):
    (tmp_path / "q.json").write_text(
        '{"query": "mutation { volumeDelete(volumeId: \\"vol-7\\") }"}')
    out = req("curl -X POST https://backboard.railway.app/graphql/v2 -d @q.json",
              cwd=str(tmp_path))
    facts = analyze(Action(kind="http", input=out))
    assert [op.id for op in facts.operations] == ["railway:volumeDelete"]
    assert facts.operations[0].targets[0].name == "vol-7"


@pytest.mark.parametrize(
    "cmd",
    ["curl -d @missing.json https://backboard.railway.app/graphql/v2",
     "curl -d @- https://backboard.railway.app/graphql/v2",
     "curl --data-binary @$FILE https://backboard.railway.app/graphql/v2",
     "wget --post-file=nope.json https://backboard.railway.app/graphql/v2",
     "curl -K cfg https://example.com",
     "curl https://a.example.com https://b.example.com"],
)
def test_unreadable_parts_become_unknown(cmd):
    out = req(cmd)
    assert out["unknown"]
    facts = analyze(Action(kind="http", input=out))
    assert facts.unknowns


def test_body_from_known_stdin():
    body = '{"query": "mutation { projectDelete(id: \\"p\\") }"}'
    out = req("curl -d @- https://backboard.railway.app/graphql/v2", stdin=body)
    facts = analyze(Action(kind="http", input=out))
    assert [op.id for op in facts.operations] == ["railway:projectDelete"]


def test_incident_curl_and_raw_request_agree():
    from_curl = analyze(Action(kind="http", input=req(INCIDENT)))
    from_raw = analyze(Action(kind="http", input=INCIDENT_RAW))
    assert summary(from_curl) == summary(from_raw)
    assert [op.id for op in from_curl.operations] == ["railway:volumeDelete"]
    reason = from_curl.operations[0].reason
    assert "railway" in reason and "volumeDelete" in reason and "vol-123" in reason
    assert [c.id for c in from_curl.credentials] == [c.id for c in from_raw.credentials]
    assert [c.id for c in from_curl.credential_uses] == [c.id for c in from_raw.credential_uses]


def test_incident_through_httpie_agrees_with_curl():
    query = 'mutation { volumeDelete(volumeId: "vol-123") }'
    cmd = shlex.join(["http", "POST", "https://backboard.railway.app/graphql/v2",
                      "Authorization:Bearer $TOKEN", f"query={query}"])
    from_httpie = analyze(Action(kind="http", input=req(cmd)))
    from_curl = analyze(Action(kind="http", input=req(INCIDENT)))
    assert summary(from_httpie) == summary(from_curl)


def test_incident_through_the_shell_is_refused():
    from safehold.decide import Guard

    decision = Guard.load().decide(Action(kind="shell", input=INCIDENT, cwd="/tmp"))
    assert decision.verdict.value == "deny"
    assert "railway:volumeDelete" in json.dumps(decision.to_dict())


def test_text_the_shell_could_not_resolve_stays_unresolved():
    out = request_from_argv(["curl", "-X", "DELETE", "https://$?/v2/volumes/$?"], None, "/")
    assert out["url"] == "https://$UNRESOLVED/v2/volumes/$UNRESOLVED"
    facts = analyze(Action(kind="http", input=out))
    assert any(u.id == "http:unresolved-host" for u in facts.unknowns)


def test_destructive_call_on_a_target_known_only_at_run_time_is_flagged():
    out = req("curl -X DELETE https://api.digitalocean.com/v2/volumes/$VOL")
    facts = analyze(Action(kind="http", input=out))
    assert [op.id for op in facts.operations] == ["digitalocean:volume-delete"]
    assert [u.id for u in facts.unknowns] == ["http:unresolved-target"]


@pytest.mark.parametrize(
    ("cmd", "allowed", "op_id"),
    [
        ("curl -s https://api.github.com/repos/acme/api/pulls | jq '.[].title'", True,
         "github:read"),
        ("wget -qO- https://example.com/docs/index.html > page.html", True, "http:read"),
        ("TOKEN=abc curl -X DELETE https://api.heroku.com/apps/acme-prod", False,
         "heroku:app-delete"),
        ("http DELETE api.digitalocean.com/v2/volumes/abc", False, "digitalocean:volume-delete"),
        ("curl -X POST https://backboard.railway.com/graphql/v2 -d @- <<'EOF'\n"
         '{"query": "mutation { serviceDelete(id: \\"svc\\") }"}\nEOF', False,
         "railway:serviceDelete"),
    ],
)
def test_http_clients_through_the_shell(cmd, allowed, op_id):
    from safehold.decide import Guard

    decision = Guard.load().decide(Action(kind="shell", input=cmd, cwd="/tmp"))
    assert decision.allowed is allowed, decision.to_dict()
    assert op_id in [op.id for op in decision.facts.operations], decision.to_dict()
