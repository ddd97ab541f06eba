"""Capability renewal, attacked as an agent would: renew to outlive a revocation, to shed an
attenuation, to bring an expired token back, to stretch the lifetime, or through the API
without the right token. A renewal grants exactly what the renewed token granted."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import biscuit_auth as bis
import pytest
from fastapi.testclient import TestClient
from gateway_helpers import PROJECTS, VOLUME_DELETE, World, bearer, gql

from safehold.capabilities.registry import Capabilities
from safehold.capabilities.tokens import MAX_LIFETIME, PREFIX, attenuate
from safehold.errors import CapabilityError
from safehold.server.accounts import Accounts
from safehold.service import Safehold

URL = "/gateway/rw-prod/graphql/v2"
SAFEHOLD = str(Path(sys.executable).with_name("safehold"))


def _ok(client: TestClient, token: str) -> bool:
    return client.post(URL, json=gql(PROJECTS), headers=bearer(token)).status_code == 200


def test_renewal_grants_the_same_for_longer_and_is_audited(
    client: TestClient, caps: Capabilities, sh: Safehold,
) -> None:
    issued, token = caps.issue("claude", credentials=["rw-prod"], actions="read-only",
                               ttl=timedelta(minutes=10))
    renewed, fresh = caps.renew(token, now=datetime.now(UTC) + timedelta(minutes=5))
    assert fresh != token and renewed.id != issued.id
    assert renewed.expires_at > issued.expires_at
    assert (renewed.agent, renewed.session, renewed.environment, renewed.credentials,
            renewed.actions) == (issued.agent, issued.session, issued.environment,
                                 issued.credentials, "read-only")
    assert _ok(client, fresh)
    # still read-only: a write is refused before the policy is asked
    r = client.post(URL, json=gql('mutation { variableUpsert(name: "A", value: "b") }'),
                    headers=bearer(fresh))
    assert r.status_code == 403 and "read" in r.text
    [event] = sh.audit.tail(5, type="capability.renewed")
    assert event.data["renewed_from"] == issued.id and event.data["capability"] == renewed.id
    assert fresh not in str(event.data) and token not in str(event.data)


def test_revoking_the_original_refuses_every_renewal_of_it(
    client: TestClient, caps: Capabilities,
) -> None:
    issued, token = caps.issue("claude", credentials=["rw-prod"])
    _, second = caps.renew(token)
    _, third = caps.renew(second)
    assert _ok(client, third)
    caps.revoke(issued.revocation_id)
    for t in (token, second, third):
        assert not _ok(client, t)
    with pytest.raises(CapabilityError, match="revoked"):
        caps.renew(third)


def test_revoking_a_renewal_by_id_refuses_its_own_renewals(
    client: TestClient, caps: Capabilities,
) -> None:
    _, token = caps.issue("claude", credentials=["rw-prod"])
    middle, second = caps.renew(token)
    _, third = caps.renew(second)
    caps.revoke(middle.id)
    assert _ok(client, token), "the original was not revoked"
    assert not _ok(client, second) and not _ok(client, third)


def test_an_expired_capability_is_not_renewed(caps: Capabilities) -> None:
    issued, token = caps.issue("claude", credentials=["rw-prod"], ttl=timedelta(minutes=1))
    with pytest.raises(CapabilityError, match="expired"):
        caps.renew(token, now=issued.expires_at + timedelta(seconds=1))


def test_an_attenuated_capability_is_not_renewed_into_a_wider_one(
    client: TestClient, caps: Capabilities,
) -> None:
    _, token = caps.issue("claude", credentials=["rw-prod"], actions="destructive")
    narrow = attenuate(token, caps.signer.public_key_hex, actions="read-only",
                       ttl=timedelta(minutes=2))
    with pytest.raises(CapabilityError, match="attenuated"):
        caps.renew(narrow)
    # a renewed parent attenuates again as before
    _, fresh = caps.renew(token)
    again = attenuate(fresh, caps.signer.public_key_hex, actions="read-only")
    assert _ok(client, again)
    r = client.post(URL, json=gql(VOLUME_DELETE), headers=bearer(again))
    assert r.status_code == 403 and "read" in r.text


def test_a_forged_capability_and_one_of_another_registry_are_refused(
    caps: Capabilities, world: World,
) -> None:
    other = bis.KeyPair()
    forged = bis.BiscuitBuilder(
        "capability(\"x\"); agent(\"claude\"); session(\"s\"); environment(\"production\");"
        "expires({e}); credential(\"rw-prod\"); effect(\"read\");",
        {"e": datetime.now(UTC) + timedelta(hours=1)}).build(other.private_key)
    with pytest.raises(CapabilityError, match="not issued by this safehold"):
        caps.renew(PREFIX + forged.to_base64())
    # signed with the right key but never recorded: not one this registry issued
    token, _ = caps.signer.issue(id="ffffffffffffffff", agent="claude", session="s",
                                 environment="production", credentials=("rw-prod",),
                                 actions="destructive",
                                 expires_at=datetime.now(UTC) + timedelta(minutes=5))
    with pytest.raises(CapabilityError, match="not one this server issued"):
        caps.renew(token)


def test_renewal_never_stretches_the_term_or_the_maximum_lifetime(caps: Capabilities) -> None:
    issued, token = caps.issue("claude", credentials=["rw-prod"], ttl=timedelta(minutes=15))
    with pytest.raises(CapabilityError, match="at most the capability's own term"):
        caps.renew(token, ttl=timedelta(hours=1))
    start = issued.created_at
    now = start
    expiries = []
    for _ in range(200):
        now = min(now + timedelta(minutes=10), issued.expires_at - timedelta(seconds=1)) \
            if not expiries else expiries[-1][0].expires_at - timedelta(minutes=5)
        try:
            renewed = caps.renew(token, now=now)
        except CapabilityError as exc:
            assert "maximum lifetime" in str(exc)
            break
        expiries.append(renewed)
        token = renewed[1]
    else:
        pytest.fail("renewal went on forever")
    last = expiries[-1][0].expires_at
    assert last == start + MAX_LIFETIME
    assert all(e.expires_at - start <= MAX_LIFETIME for e, _ in expiries)


def test_the_api_renews_for_the_hook_and_admins_only(
    client: TestClient, caps: Capabilities, sh: Safehold,
) -> None:
    accounts = Accounts(sh.store, sh.audit)
    hook = accounts.create_token("hook", "agent").secret
    accounts.add_user("ann", "ann-password-long-enough", "approver")
    approver = accounts.create_token("ann-token", "approver", "ann").secret
    _, token = caps.issue("claude", credentials=["rw-prod"])
    url = "/api/v1/capabilities/renew"
    assert client.post(url, json={"capability": token}).status_code == 401
    assert client.post(url, json={"capability": token},
                       headers=bearer(token)).status_code == 401, "a capability is no API token"
    assert client.post(url, json={"capability": token},
                       headers=bearer(approver)).status_code == 403
    r = client.post(url, json={"capability": token}, headers=bearer(hook))
    assert r.status_code == 200, r.text
    fresh = r.json()["capability"]
    assert fresh.startswith(PREFIX) and _ok(client, fresh)
    narrow = attenuate(fresh, caps.signer.public_key_hex, actions="read-only")
    r = client.post(url, json={"capability": narrow}, headers=bearer(hook))
    assert r.status_code == 403 and "attenuated" in r.json()["detail"]
    [event] = sh.audit.tail(5, type="capability.renewed")
    assert event.actor == "token/hook"


def test_the_cli_renews_from_stdin_and_prints_the_token_alone(
    world: World, caps: Capabilities, client: TestClient,
) -> None:
    _, token = caps.issue("claude", credentials=["rw-prod"])
    r = subprocess.run([SAFEHOLD, "tokens", "renew", "--config", str(world.config_path)],
                       input=token + "\n", capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    fresh = r.stdout.strip()
    assert fresh.startswith(PREFIX) and "\n" not in fresh and fresh != token
    assert _ok(client, fresh)
    caps.revoke("claude")
    r = subprocess.run([SAFEHOLD, "tokens", "renew", "--config", str(world.config_path)],
                       input=fresh + "\n", capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "revoked" in r.stderr
