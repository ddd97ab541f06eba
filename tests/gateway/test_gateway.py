"""The gateway end to end, in process: a capability in, the real token out only on allow."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import biscuit_auth as bis
import pytest
from fastapi.testclient import TestClient
from gateway_helpers import PROJECTS, RAILWAY_TOKEN, VOLUME_DELETE, World, bearer, gql

from safehold.capabilities.registry import Capabilities
from safehold.capabilities.tokens import PREFIX, attenuate
from safehold.gateway.core import Gateway
from safehold.service import Safehold

URL = "/gateway/rw-prod/graphql/v2"


def test_allowed_query_reaches_upstream_with_the_real_token_only(
    client: TestClient, caps: Capabilities, world: World, sh: Safehold,
) -> None:
    _, token = caps.issue("claude", credentials=["rw-prod"])
    r = client.post(URL, json=gql(PROJECTS), headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.json()["data"]["projects"][0]["volumes"][0]["id"] == "vol-prod-db"
    [got] = world.railway.received
    assert got.headers["authorization"] == f"Bearer {RAILWAY_TOKEN}"
    assert all(PREFIX not in v for v in got.headers.values()), "capability forwarded"
    forwarded = sh.audit.tail(5, type="gateway.forwarded")
    assert forwarded and forwarded[0].data["status"] == 200
    assert forwarded[0].data["credential_name"] == "rw-prod"


def test_capability_in_the_tools_own_token_header_is_taken_and_not_forwarded(
    client: TestClient, caps: Capabilities, world: World,
) -> None:
    _, token = caps.issue("claude", credentials=["rw-prod"])
    r = client.post(URL, json=gql(PROJECTS), headers={"Project-Access-Token": token})
    assert r.status_code == 200, r.text
    [got] = world.railway.received
    assert "project-access-token" not in got.headers
    assert got.headers["authorization"] == f"Bearer {RAILWAY_TOKEN}"


def test_denied_volume_delete_never_reaches_upstream_and_says_why_in_graphql_shape(
    client: TestClient, caps: Capabilities, world: World, sh: Safehold,
) -> None:
    _, token = caps.issue("claude", credentials=["rw-prod"], actions="destructive")
    for body in (gql(VOLUME_DELETE),
                 gql("mutation M($v: String!) { keep: volumeDelete(volumeId: $v) }",
                     {"v": "vol-prod-db"})):
        r = client.post(URL, json=body, headers=bearer(token))
        assert r.status_code == 403
        err = r.json()["errors"][0]
        assert err["extensions"]["code"] == "SAFEHOLD_DENIED"
        assert "irreversible-in-production" in err["extensions"]["rules"]
    assert world.railway.mutations("volumeDelete") == []
    assert "vol-prod-db" in world.railway.state.volumes
    decisions = sh.audit.tail(5, type="decision")
    assert decisions[0].decision == "deny"


def test_a_writes_capability_cannot_even_ask_for_an_irreversible_call(
    client: TestClient, caps: Capabilities, world: World,
) -> None:
    _, token = caps.issue("claude", credentials=["rw-staging"])
    r = client.post("/gateway/rw-staging/graphql/v2", json=gql(VOLUME_DELETE),
                    headers=bearer(token))
    assert r.status_code == 403
    err = r.json()["errors"][0]
    assert err["extensions"]["code"] == "SAFEHOLD_CAPABILITY_REFUSED"
    assert "irreversible" in err["message"]
    assert world.railway.received == []


def test_forged_tampered_and_missing_capabilities_are_refused(
    client: TestClient, caps: Capabilities, world: World,
) -> None:
    other = bis.BiscuitBuilder(
        'capability("x"); agent("a"); session("s"); environment("production");'
        'credential("rw-prod"); effect("read"); effect("write");'
        "expires(2099-01-01T00:00:00Z);"
    ).build(bis.KeyPair().private_key)
    _, real = caps.issue("claude", credentials=["rw-prod"])
    tampered = real[:-8] + ("A" if real[-8] != "A" else "B") + real[-7:]
    for headers in (bearer(PREFIX + other.to_base64()), bearer(tampered), {},
                    bearer("shk_" + "x" * 40)):
        r = client.post(URL, json=gql(PROJECTS), headers=headers)
        assert r.status_code == 401, (headers, r.text)
    assert world.railway.received == []


def test_two_capabilities_in_one_request_are_refused(
    client: TestClient, caps: Capabilities, world: World,
) -> None:
    _, a = caps.issue("claude", credentials=["rw-prod"])
    _, b = caps.issue("other", credentials=["rw-prod"])
    r = client.post(URL, json=gql(PROJECTS), headers={**bearer(a), "X-Safehold-Capability": b})
    assert r.status_code == 401
    assert world.railway.received == []


def test_widening_by_appending_grants_is_impossible(
    client: TestClient, caps: Capabilities, world: World,
) -> None:
    _, token = caps.issue("claude", credentials=["rw-staging"], actions="read-only")
    base = bis.Biscuit.from_base64(token[len(PREFIX):], _public(caps))
    widened = base.append(bis.BlockBuilder(
        'effect("write"); effect("irreversible"); credential("rw-prod");'
        'environment("production");'))
    wide = PREFIX + widened.to_base64()
    create = 'mutation { serviceCreate(input: {projectId: "prj-1", name: "x"}) { id } }'
    r = client.post("/gateway/rw-staging/graphql/v2", json=gql(create), headers=bearer(wide))
    assert r.status_code == 403
    r = client.post(URL, json=gql(PROJECTS), headers=bearer(wide))
    assert r.status_code == 403
    assert world.railway.received == []


def test_expired_capability_is_refused(
    client: TestClient, caps: Capabilities, world: World,
) -> None:
    _, token = caps.issue("claude", credentials=["rw-prod"], ttl=timedelta(seconds=1))
    time.sleep(2.1)  # expiry has one-second precision
    r = client.post(URL, json=gql(PROJECTS), headers=bearer(token))
    assert r.status_code == 403
    assert "expired" in r.json()["errors"][0]["message"]
    assert world.railway.received == []


def test_revocation_takes_effect_on_the_next_request_for_the_token_and_its_children(
    client: TestClient, caps: Capabilities, world: World,
) -> None:
    issued, token = caps.issue("claude", credentials=["rw-prod"])
    child = attenuate(token, caps.signer.public_key_hex, actions="read-only")
    assert client.post(URL, json=gql(PROJECTS), headers=bearer(token)).status_code == 200
    assert client.post(URL, json=gql(PROJECTS), headers=bearer(child)).status_code == 200
    caps.revoke(issued.revocation_id)
    for t in (token, child):
        r = client.post(URL, json=gql(PROJECTS), headers=bearer(t))
        assert r.status_code == 401 and "revoked" in r.json()["error"]["message"]
    assert len(world.railway.received) == 2


def test_revoking_only_a_subagents_block_leaves_the_parent_working(
    client: TestClient, caps: Capabilities,
) -> None:
    _, token = caps.issue("claude", credentials=["rw-prod"])
    child = attenuate(token, caps.signer.public_key_hex, actions="read-only")
    child_block = caps.signer.parse(child).revocation_ids[1]
    caps.revoke(child_block)
    assert client.post(URL, json=gql(PROJECTS), headers=bearer(child)).status_code == 401
    assert client.post(URL, json=gql(PROJECTS), headers=bearer(token)).status_code == 200


def test_wrong_environment_capability_is_refused(
    client: TestClient, caps: Capabilities, world: World,
) -> None:
    _, staging = caps.issue("claude", credentials=["rw-staging"])
    r = client.post(URL, json=gql(PROJECTS), headers=bearer(staging))
    assert r.status_code == 403
    assert "does not cover credential 'rw-prod'" in r.json()["errors"][0]["message"]
    assert world.railway.received == []


def test_attenuated_subagent_token_is_narrower_and_shorter(
    client: TestClient, caps: Capabilities, world: World,
) -> None:
    _, token = caps.issue("claude", credentials=["rw-prod"])
    sub = attenuate(token, caps.signer.public_key_hex, actions="read-only",
                    ttl=timedelta(minutes=1))
    create = 'mutation { serviceCreate(input: {projectId: "prj-1", name: "worker"}) { id } }'
    assert client.post(URL, json=gql(PROJECTS), headers=bearer(sub)).status_code == 200
    r = client.post(URL, json=gql(create), headers=bearer(sub))
    assert r.status_code == 403 and "restriction" in r.json()["errors"][0]["message"]
    assert client.post(URL, json=gql(create), headers=bearer(token)).status_code == 200
    assert [s["name"] for s in world.railway.state.services] == ["api", "worker"]


def test_approved_request_is_forwarded_exactly_once(
    client: TestClient, caps: Capabilities, world: World, sh: Safehold,
) -> None:
    _, token = caps.issue("claude", credentials=["rw-staging"], actions="destructive")
    body = gql('mutation { variableDelete(input: {projectId: "prj-1", environmentId: "env-stg",'
               ' name: "DATABASE_URL"}) }')
    url = "/gateway/rw-staging/graphql/v2"
    r = client.post(url, json=body, headers=bearer(token))
    assert r.status_code == 403
    ext = r.json()["errors"][0]["extensions"]
    assert ext["code"] == "SAFEHOLD_APPROVAL_REQUIRED"
    assert ext["approval"]["url"].endswith(ext["approval"]["id"])
    assert world.railway.mutations("variableDelete") == []
    sh.vote(ext["approval"]["id"], "user/alice", True)
    changed = gql('mutation { variableDelete(input: {projectId: "prj-1", environmentId: '
                  '"env-prod", name: "DATABASE_URL"}) }')
    assert client.post(url, json=changed, headers=bearer(token)).status_code == 403
    r = client.post(url, json=body, headers=bearer(token))
    assert r.status_code == 200 and r.json()["data"]["variableDelete"] is True
    again = client.post(url, json=body, headers=bearer(token))
    assert again.status_code == 403
    assert len(world.railway.mutations("variableDelete")) == 1


def test_a_held_request_is_sent_when_approved_while_waiting(
    client: TestClient, caps: Capabilities, world: World, sh: Safehold,
) -> None:
    _, token = caps.issue("claude", credentials=["rw-staging"], actions="destructive")
    body = gql('mutation { variableDelete(input: {projectId: "prj-1", environmentId: "env-stg",'
               ' name: "DATABASE_URL"}) }')

    def approve_when_filed() -> None:
        for _ in range(100):
            pending = sh.approvals.list("pending")
            if pending:
                sh.vote(pending[0].id, "user/alice", True)
                return
            time.sleep(0.05)

    t = threading.Thread(target=approve_when_filed)
    t.start()
    r = client.post("/gateway/rw-staging/graphql/v2", json=body,
                    headers={**bearer(token), "X-Safehold-Wait": "20"})
    t.join()
    assert r.status_code == 200, r.text
    assert len(world.railway.mutations("variableDelete")) == 1


def test_delayed_request_runs_when_due_exactly_once(
    client: TestClient, caps: Capabilities, world: World, sh: Safehold,
) -> None:
    _, token = caps.issue("claude", credentials=["rw-staging"], actions="destructive")
    r = client.post("/gateway/rw-staging/graphql/v2", json=gql(VOLUME_DELETE),
                    headers=bearer(token))
    assert r.status_code == 202, r.text
    delay = r.json()["errors"][0]["extensions"]["delay"]
    gateway: Gateway = client.app.state.gateway  # type: ignore[attr-defined]
    assert gateway.run_due() == []
    assert world.railway.mutations("volumeDelete") == []
    sh.delays.run_now(delay["id"], "user/alice")
    [done] = gateway.run_due()
    assert done.state == "executed" and "200" in (done.result or "")
    assert gateway.run_due() == []
    [sent] = world.railway.mutations("volumeDelete")
    assert sent.headers["authorization"] == f"Bearer {RAILWAY_TOKEN}"
    assert "vol-prod-db" not in world.railway.state.volumes
    forwarded = sh.audit.tail(10, type="gateway.forwarded")
    assert forwarded[0].data["delay"] == delay["id"] and forwarded[0].data["status"] == 200


def test_cancelled_delay_never_runs(
    client: TestClient, caps: Capabilities, world: World, sh: Safehold,
) -> None:
    _, token = caps.issue("claude", credentials=["rw-staging"], actions="destructive")
    r = client.post("/gateway/rw-staging/graphql/v2", json=gql(VOLUME_DELETE),
                    headers=bearer(token))
    delay_id = r.json()["errors"][0]["extensions"]["delay"]["id"]
    sh.delays.cancel(delay_id, "user/alice")
    gateway: Gateway = client.app.state.gateway  # type: ignore[attr-defined]
    assert gateway.run_due() == []
    assert world.railway.mutations("volumeDelete") == []
    assert "vol-prod-db" in world.railway.state.volumes


def test_delayed_request_of_a_revoked_capability_is_not_sent(
    client: TestClient, caps: Capabilities, world: World, sh: Safehold,
) -> None:
    issued, token = caps.issue("claude", credentials=["rw-staging"], actions="destructive")
    r = client.post("/gateway/rw-staging/graphql/v2", json=gql(VOLUME_DELETE),
                    headers=bearer(token))
    delay_id = r.json()["errors"][0]["extensions"]["delay"]["id"]
    caps.revoke(issued.name)
    sh.delays.run_now(delay_id, "user/alice")
    gateway: Gateway = client.app.state.gateway  # type: ignore[attr-defined]
    [done] = gateway.run_due()
    assert done.state == "failed" and "revoked" in (done.result or "")
    assert world.railway.mutations("volumeDelete") == []


def test_rest_provider_read_allowed_delete_refused_in_json_shape(
    client: TestClient, caps: Capabilities, world: World,
) -> None:
    _, token = caps.issue("claude", credentials=["gh"], actions="destructive")
    r = client.get("/gateway/gh/repos/acme/web", headers=bearer(token))
    assert r.status_code == 200 and r.json() == {"name": "web"}
    r = client.delete("/gateway/gh/repos/acme/web", headers=bearer(token))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "SAFEHOLD_DENIED"
    assert [x.method for x in world.rest.received] == ["GET"]
    assert "acme/web" in world.rest.repos


def test_paths_that_climb_out_and_unknown_credentials_are_refused(
    client: TestClient, caps: Capabilities, world: World,
) -> None:
    _, token = caps.issue("claude", credentials=["rw-prod"])
    r = client.get("/gateway/rw-prod/graphql/%2e%2e/admin", headers=bearer(token))
    assert r.status_code == 400
    r = client.get("/gateway/nope/graphql/v2", headers=bearer(token))
    assert r.status_code == 404
    assert world.railway.received == []


def test_responses_stream_back(client: TestClient, caps: Capabilities) -> None:
    _, token = caps.issue("claude", credentials=["rw-prod"])
    with client.stream("GET", "/gateway/rw-prod/stream/200", headers=bearer(token)) as r:
        assert r.status_code == 200
        lines = list(r.iter_lines())
    assert lines[0] == "chunk 0" and lines[-1] == "chunk 199"


def _public(caps: Capabilities) -> bis.PublicKey:
    return bis.PublicKey.from_bytes(bytes.fromhex(caps.signer.public_key_hex),
                                    bis.Algorithm.Ed25519)


def test_requests_that_would_be_read_differently_upstream_are_not_forwarded(
    client: TestClient, caps: Capabilities, world: World,
) -> None:
    import gzip
    import json

    _, token = caps.issue("claude", credentials=["rw-prod"], actions="destructive")
    packed = gzip.compress(json.dumps(gql(VOLUME_DELETE)).encode())
    r = client.post(URL, content=packed, headers={**bearer(token), "Content-Encoding": "gzip",
                                                   "Content-Type": "application/json"})
    assert r.status_code == 400
    r = client.patch("/gateway/gh/repos/acme/web", json={"description": "web shop"}, headers={
        **bearer(caps.issue("x", credentials=["gh"], actions="destructive")[1]),
        "X-HTTP-Method-Override": "DELETE"})
    assert r.status_code == 200, r.text
    assert [x.method for x in world.rest.received] == ["PATCH"]
    assert "x-http-method-override" not in world.rest.received[0].headers
    assert "acme/web" in world.rest.repos
    assert world.railway.received == []


def test_oversized_bodies_are_refused_even_without_a_length(
    client: TestClient, caps: Capabilities, world: World,
) -> None:
    _, token = caps.issue("claude", credentials=["rw-prod"])

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"x" * 65536

    r = client.post(URL, content=chunks(), headers=bearer(token))
    assert r.status_code == 413
    assert world.railway.received == []


def test_a_snapshot_stores_keys_are_never_forwarded_even_when_granted(
    client: TestClient, caps: Capabilities, world: World, sh: Safehold,
) -> None:
    from safehold.credentials.keys import key_dir_for
    from safehold.credentials.store import CredentialStore

    CredentialStore.open(sh.store, sh.audit, key_dir_for(world.config)).add(
        "vault-keys", "snapshot-store", "production", "AKIAVAULT:vault-secret-value",
        world.railway.url)
    _, token = caps.issue("claude", credentials=["vault-keys"])
    r = client.post("/gateway/vault-keys/graphql/v2", json=gql(PROJECTS), headers=bearer(token))
    assert r.status_code == 403, r.text
    assert "snapshot store's keys" in r.text and "vault-secret-value" not in r.text
    assert world.railway.received == []


def test_each_request_is_analysed_once(
    client: TestClient, caps: Capabilities, world: World, sh: Safehold,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The capability check and the policy share one analysis of the exact request."""
    seen: list[object] = []
    analyze = sh.guard.analyze

    def counted(action: object) -> object:
        seen.append(action)
        return analyze(action)

    monkeypatch.setattr(sh.guard, "analyze", counted)
    _, token = caps.issue("claude", credentials=["rw-prod"], actions="destructive")
    assert client.post(URL, json=gql(PROJECTS), headers=bearer(token)).status_code == 200
    assert len(seen) == 1
    r = client.post(URL, json=gql(VOLUME_DELETE), headers=bearer(token))
    assert r.status_code == 403 and len(seen) == 2
    assert "irreversible-in-production" in r.text
