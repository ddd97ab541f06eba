"""One gateway request, from capability to upstream, and the delayed requests it runs later.

`prepare` is the whole decision, synchronous (it reads the store): verify the capability's
signature and that none of its blocks is revoked, build the exact outgoing request, analyse it,
check that the capability grants its effect, environment and credential, then decide it on the
one path (`Safehold.evaluate`, which files approvals, queues delays and audits). Only an allow
opens the credential. `send` forwards it (async, pooled, streaming); `execute` sends a delayed
request when its grace period ends. Every forwarded request is audited with the upstream status.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select

from safehold.analysis.http import catalog as http_catalog
from safehold.capabilities.registry import Capabilities
from safehold.capabilities.tokens import Grant, Request
from safehold.catalog.gatewaydata import ProviderAccess, generic, providers
from safehold.credentials.for_stores import STORE_PROVIDER
from safehold.credentials.keys import key_dir_for
from safehold.credentials.store import CredentialInfo, CredentialStore
from safehold.delays import Delay
from safehold.errors import CapabilityError, CredentialError
from safehold.gateway.outgoing import BadRequest, Outgoing, build, capability_from
from safehold.model import Action, Effect, Verdict
from safehold.store.models import GatewayRequest

log = logging.getLogger(__name__)
TIMEOUT = httpx.Timeout(connect=5.0, read=60.0, write=30.0, pool=10.0)
LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=64)


@dataclass(slots=True)
class Outcome:
    """What `prepare` concluded. `secret` is set only when the request may be sent."""

    status: int
    kind: str  # forward | deny | ask | delay | capability | bad_request | unknown_credential
    message: str
    shape: str = "json"
    details: dict[str, Any] = field(default_factory=dict)
    outgoing: Outgoing | None = None
    credential: CredentialInfo | None = None
    access: ProviderAccess | None = None
    grant: Grant | None = None
    evaluation: Any = None
    secret: str | None = None

    def headers_with_credential(self) -> list[tuple[str, str]]:
        assert self.outgoing is not None and self.access is not None and self.secret is not None
        return [*self.outgoing.headers, self.access.auth(self.secret)]


class Gateway:
    def __init__(self, sh: Any, credentials: CredentialStore, capabilities: Capabilities):
        self.sh = sh
        self.credentials = credentials
        self.capabilities = capabilities
        self.client: httpx.AsyncClient | None = None
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()

    @classmethod
    def open(cls, sh: Any) -> Gateway:
        keys = key_dir_for(sh.config)
        return cls(sh, CredentialStore.open(sh.store, sh.audit, keys, actor="gateway"),
                   Capabilities.open(sh.store, sh.audit, keys, actor="gateway"))

    async def start(self) -> None:
        if self.client is None:
            self.client = httpx.AsyncClient(timeout=TIMEOUT, limits=LIMITS,
                                            follow_redirects=False, trust_env=False)

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None

    # -- deciding ------------------------------------------------------------------------

    def prepare(self, name: str, method: str, path: str, query: str,
                headers: list[tuple[str, str]], body: bytes) -> Outcome:
        token = None
        try:
            token = capability_from(headers)
        except BadRequest as exc:
            return self._refused(401, "capability", str(exc), name, method, path)
        if token is None:
            return self._refused(
                401, "capability", "no capability: send the safehold capability as "
                "'Authorization: Bearer shc_…'", name, method, path)
        try:
            parsed = self.capabilities.signer.parse(token)
            if self.capabilities.revoked(parsed.revocation_ids):
                raise CapabilityError("the capability was revoked")
        except CapabilityError as exc:
            return self._refused(401, "capability", str(exc), name, method, path)
        try:
            cred, sealed = self.credentials.sealed(name)
        except CredentialError:
            return self._refused(404, "unknown_credential",
                                 f"no credential named {name!r} behind this gateway",
                                 name, method, path)
        if cred.provider == STORE_PROVIDER:
            return self._refused(403, "unknown_credential",
                                 f"credential {name!r} holds a snapshot store's keys; the "
                                 "gateway never forwards it", name, method, path)
        access = providers().get(cred.provider) or generic(cred.provider, cred.upstream)
        shape = access.errors
        try:
            out = build(method, cred.upstream, path, query, headers, body,
                        _credential_headers(cred.provider))
        except BadRequest as exc:
            return self._refused(400, "bad_request", str(exc), name, method, path, shape)
        action = Action(kind="http", input=out.action_input(), environment=cred.environment,
                        options={"provider": cred.provider})
        facts = self.sh.guard.analyze(action)
        try:
            grant = self.capabilities.signer.authorize(
                parsed, Request(cred.name, cred.environment, facts.effect, datetime.now(UTC)))
            if grant.lineage and self.capabilities.revoked(grant.lineage):
                raise CapabilityError("the capability this one was renewed from was revoked")
        except CapabilityError as exc:
            return self._refused(403, "capability", str(exc), name, method, out.url, shape)
        # the same request with its holder named: analysis reads neither, so it is reused
        action = replace(action, session=grant.session, agent=grant.agent)
        ev = self.sh.evaluate(action, requester=grant.identity, facts=facts)
        outcome = Outcome(200, "forward", "", shape, outgoing=out, credential=cred,
                          access=access, grant=grant, evaluation=ev)
        verdict = ev.decision.verdict
        if verdict is Verdict.ALLOW and ev.decision.facts.effect >= Effect.DESTRUCTIVE \
                and ev.approval is None and ev.delay is None:
            return self._refused(
                403, "deny", f"this is a {ev.decision.facts.effect.label} call; a capability "
                "never sends one without a human's approval, and the policy asked for none",
                name, method, out.url, shape)
        if verdict is Verdict.ALLOW:
            outcome.secret = self.credentials.open_sealed(cred, sealed)
            self._mark_used(cred.name)
            return outcome
        from safehold.gateway.replies import decision_message

        outcome.message, outcome.details = decision_message(ev)
        outcome.kind = verdict.value
        outcome.status = 202 if verdict is Verdict.DELAY else 403
        if verdict is Verdict.DELAY and ev.delay is not None:
            self._queue(ev.delay.id, cred.name, out, grant)
        return outcome

    def approval_state(self, approval_id: str) -> str:
        return str(self.sh.approvals.get(approval_id).state)

    # -- sending -------------------------------------------------------------------------

    def record_forwarded(self, outcome: Outcome, status: int | None, error: str | None = None,
                         delay_id: str | None = None) -> None:
        assert outcome.outgoing is not None and outcome.credential is not None
        ev = outcome.evaluation
        self.sh.audit.append(
            "gateway.forwarded" if error is None else "gateway.upstream-failed",
            {
                "credential_name": outcome.credential.name,
                "provider": outcome.credential.provider,
                "method": outcome.outgoing.method,
                "url": outcome.outgoing.url,
                "status": status,
                "error": error,
                "digest": ev.digest if ev is not None else None,
                "capability": outcome.grant.id if outcome.grant else None,
                "approval": ev.approval.id if ev is not None and ev.approval else None,
                "delay": delay_id,
            },
            actor=outcome.grant.identity if outcome.grant else "gateway",
            agent=outcome.grant.agent if outcome.grant else None,
            session=outcome.grant.session if outcome.grant else None,
            environment=outcome.credential.environment,
        )

    def execute(self, delay: Delay) -> str:
        """Send a delayed request now that its grace period is over (the delay queue calls
        this once per delay). A revoked capability or a removed credential stops it."""
        with self.sh.store.session() as s:
            row = s.get(GatewayRequest, delay.id)
            if row is None:
                raise CredentialError(f"no queued gateway request for {delay.id}")
            name, method, url = row.credential, row.method, row.url
            headers = [tuple(h) for h in json.loads(row.headers)]
            body, revocation_ids = bytes(row.body), json.loads(row.revocation_ids)
        if self.capabilities.revoked(revocation_ids):
            raise CapabilityError("the capability that queued it was revoked; not sent")
        cred, secret = self.credentials.secret(name)
        access = providers().get(cred.provider) or generic(cred.provider, cred.upstream)
        out = Outgoing(method, url, tuple(headers), body)  # type: ignore[arg-type]
        outcome = Outcome(200, "forward", "", access.errors, outgoing=out, credential=cred,
                          access=access, secret=secret)
        try:
            with httpx.Client(timeout=TIMEOUT, trust_env=False) as client:
                r = client.request(method, url, headers=outcome.headers_with_credential(),
                                   content=body)
        except httpx.HTTPError as exc:
            self.record_forwarded(outcome, None, f"{type(exc).__name__}", delay_id=delay.id)
            raise
        self.record_forwarded(outcome, r.status_code, delay_id=delay.id)
        self._mark_used(name)
        return f"sent; upstream answered {r.status_code}"

    def run_due(self) -> list[Delay]:
        """Send every due delayed gateway request (each exactly once); others are left alone."""
        return list(self.sh.delays.run_due(self.execute, runs=self._queued))

    # -- internals -------------------------------------------------------------------------

    def _queued(self, delay: Delay) -> bool:
        with self.sh.store.session() as s:
            return s.get(GatewayRequest, delay.id) is not None

    def _queue(self, delay_id: str, credential: str, out: Outgoing, grant: Grant) -> None:
        with self.sh.store.write() as s:
            if s.get(GatewayRequest, delay_id) is not None:
                return
            s.add(GatewayRequest(
                delay_id=delay_id, credential=credential, method=out.method, url=out.url,
                headers=out.to_json(), body=out.body,
                revocation_ids=json.dumps([*grant.revocation_ids, *grant.lineage]),
                created_at=datetime.now(UTC),
            ))

    def _mark_used(self, name: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._used.get(name, -1e9) < 60:
                return
            self._used[name] = now
        self.credentials.mark_used(name)

    def _refused(self, status: int, kind: str, message: str, credential: str, method: str,
                 target: str, shape: str = "json") -> Outcome:
        self.sh.audit.append("gateway.refused", {
            "credential_name": credential, "method": method, "target": target, "status": status,
            "reason": message,
        }, actor="gateway", decision="deny")
        return Outcome(status, kind, message, shape)


def _credential_headers(provider: str) -> frozenset[str]:
    for p in http_catalog.builtin().providers:
        if p.name == provider:
            return frozenset(h.lower() for h in p.credential_headers)
    return frozenset()


def pending_requests(store: Any) -> list[str]:
    """Ids of delays that hold a gateway request (for listings and tests)."""
    with store.session() as s:
        return list(s.scalars(select(GatewayRequest.delay_id)))
