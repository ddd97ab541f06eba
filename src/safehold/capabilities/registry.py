"""Issued capabilities and their revocations, in the store.

The token itself is never stored (it is a bearer secret); what is kept is enough to list what
was issued to whom and to revoke it: the first block's revocation id. Revocation is a row in
`capability_revocations`, read on every gateway request, so it takes effect on the next one
whichever server replica receives it. Every issue and revocation is audited.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from safehold.audit.log import AuditLog
from safehold.capabilities.tokens import (
    ACTION_LEVELS,
    DEFAULT_TTL,
    MAX_LIFETIME,
    MAX_RENEWALS,
    MAX_TTL,
    Signer,
)
from safehold.credentials.keys import load_or_create, random_key
from safehold.credentials.store import check_name
from safehold.errors import CapabilityError, CredentialError
from safehold.store.db import Store
from safehold.store.models import Capability, CapabilityRevocation, Credential

KEY_FILE = "capability.key"


@dataclass(frozen=True, slots=True)
class IssuedCapability:
    id: str
    name: str
    agent: str
    session: str
    environment: str
    credentials: tuple[str, ...]
    actions: str
    revocation_id: str
    created_at: datetime
    expires_at: datetime
    revoked: bool = False


class Capabilities:
    """Issue, list and revoke capabilities; answer "is any of these ids revoked?"."""

    def __init__(self, store: Store, audit: AuditLog | None, signer: Signer, *,
                 actor: str | None = None):
        self.store = store
        self.audit = audit
        self.signer = signer
        self._actor = actor

    @classmethod
    def open(cls, store: Store, audit: AuditLog | None, key_dir: Path, *,
             actor: str | None = None) -> Capabilities:
        return cls(store, audit, Signer(load_or_create(key_dir / KEY_FILE, random_key(32))),
                   actor=actor)

    def issue(self, name: str, *, credentials: Iterable[str], environment: str | None = None,
              actions: str = "writes", ttl: timedelta = DEFAULT_TTL, agent: str | None = None,
              session: str | None = None) -> tuple[IssuedCapability, str]:
        """A new capability and the token (shown once). The environment defaults to the one
        the credentials reach; credentials in different environments need separate tokens."""
        name = check_name(name, "token name")
        creds = tuple(sorted({check_name(c, "credential name") for c in credentials}))
        if not creds:
            raise CapabilityError("name at least one credential (--credential NAME)")
        if ttl <= timedelta(0) or ttl > MAX_TTL:
            raise CapabilityError("a capability lives between 1 second and 30 days")
        with self.store.session() as s:
            found = s.scalars(select(Credential).where(Credential.name.in_(creds)))
            rows = {r.name: r for r in found}
        missing = [c for c in creds if c not in rows]
        if missing:
            raise CredentialError(f"no credential named {', '.join(map(repr, missing))}; add it "
                                  "first with: safehold credentials add NAME --provider P --env E")
        envs = {rows[c].environment for c in creds}
        env = check_name(environment, "environment") if environment else None
        if env is None:
            if len(envs) != 1:
                raise CapabilityError(f"the credentials reach several environments "
                                      f"({', '.join(sorted(envs))}); issue one token for each")
            env = envs.pop()
        elif envs != {env}:
            wrong = [c for c in creds if rows[c].environment != env]
            where = rows[wrong[0]].environment
            raise CapabilityError(f"credential {wrong[0]!r} reaches {where!r}, not {env!r}")
        now = datetime.now(UTC).replace(microsecond=0)
        cid = secrets.token_hex(8)
        agent = check_name(agent or name, "agent name")
        session = session or f"cap-{cid}"
        token, revocation_id = self.signer.issue(
            id=cid, agent=agent, session=session, environment=env, credentials=creds,
            actions=actions, expires_at=now + ttl, origin=now, term=ttl,
        )
        row = Capability(id=cid, name=name, agent=agent, session=session, environment=env,
                         credentials=json.dumps(list(creds)), actions=actions,
                         revocation_id=revocation_id, created_at=now, expires_at=now + ttl)
        with self.store.write() as s:
            s.add(row)
            s.flush()
            issued = _issued(row, revoked=False)
            self._record(s, "capability.issued", {
                "capability": cid, "name": name, "agent": agent, "session": session,
                "environment": env, "credential_names": list(creds), "actions": actions,
                "expires_at": issued.expires_at.isoformat(), "revocation_id": revocation_id,
            }, env)
        return issued, token

    def renew(self, token: str, *, ttl: timedelta | None = None, by: str | None = None,
              now: datetime | None = None) -> tuple[IssuedCapability, str]:
        """A fresh token granting exactly what `token` grants, for another term.

        Refused for a token that is forged, expired, revoked (itself or any capability it was
        renewed from), attenuated (renewing would drop its restrictions: its holder renews
        the parent and attenuates again), not issued by this registry, or at the end of its
        maximum lifetime (`MAX_LIFETIME` after the first issue). The new token carries its
        ancestors' revocation ids, so revoking any of them refuses it too."""
        now = (now or datetime.now(UTC)).replace(microsecond=0)
        parsed = self.signer.parse(token)
        if parsed.block_count() > 1:
            raise CapabilityError(
                "an attenuated capability is not renewed (a renewal would drop its "
                "restrictions): renew the capability it was narrowed from and attenuate again")
        grant = self.signer.read(parsed)
        if self.revoked([*parsed.revocation_ids, *grant.lineage]):
            raise CapabilityError("the capability was revoked; it cannot be renewed")
        if now >= grant.expires_at:
            raise CapabilityError(f"the capability expired at {grant.expires_at.isoformat()}; "
                                  "an expired capability is not renewed: issue a new one")
        with self.store.session() as s:
            row = s.get(Capability, grant.id)
            if row is None or row.revocation_id != parsed.revocation_ids[0]:
                raise CapabilityError("this capability is not one this server issued")
            name, actions = row.name, row.actions
            origin = grant.origin or _aware(row.created_at)
            term = grant.term or (_aware(row.expires_at) - _aware(row.created_at))
        if set(ACTION_LEVELS.get(actions, ())) != set(grant.effects):
            raise CapabilityError("the capability's grants do not match what was issued")
        if ttl is not None and (ttl <= timedelta(0) or ttl > term):
            raise CapabilityError(f"a renewal gives at most the capability's own term "
                                  f"({int(term.total_seconds())}s)")
        if len(grant.lineage) >= MAX_RENEWALS:
            raise CapabilityError(f"the capability was renewed {MAX_RENEWALS} times; issue a "
                                  "new one")
        limit = origin + MAX_LIFETIME
        expires = min(now + (ttl or term), limit)
        if grant.expires_at >= limit:
            raise CapabilityError(
                f"the capability has reached its maximum lifetime ({_hours(MAX_LIFETIME)} after "
                f"it was first issued, {limit.isoformat()}); issue a new one")
        cid = secrets.token_hex(8)
        lineage = tuple(sorted({*grant.lineage, parsed.revocation_ids[0]}))
        new_token, revocation_id = self.signer.issue(
            id=cid, agent=grant.agent, session=grant.session, environment=grant.environment,
            credentials=grant.credentials, actions=actions, expires_at=expires, origin=origin,
            term=term, lineage=lineage,
        )
        new = Capability(id=cid, name=name, agent=grant.agent, session=grant.session,
                         environment=grant.environment,
                         credentials=json.dumps(list(grant.credentials)), actions=actions,
                         revocation_id=revocation_id, created_at=now, expires_at=expires)
        with self.store.write() as s:
            s.add(new)
            s.flush()
            issued = _issued(new, revoked=False)
            self._record(s, "capability.renewed", {
                "capability": cid, "renewed_from": grant.id, "name": name,
                "agent": grant.agent, "session": grant.session,
                "environment": grant.environment, "credential_names": list(grant.credentials),
                "actions": actions, "expires_at": expires.isoformat(),
                "origin": origin.isoformat(), "revocation_id": revocation_id,
                "renewals": len(lineage), "by": by or self._actor,
            }, grant.environment, actor=by)
        return issued, new_token

    def revoke(self, name_or_id: str, *, by: str | None = None) -> list[str]:
        """Revoke by revocation id (any block's, so one attenuated token can be cut off), by
        capability id, or by name (every capability issued under it)."""
        key = name_or_id.strip()
        with self.store.write() as s:
            rows = list(s.scalars(select(Capability).where(or_(
                Capability.id == key, Capability.name == key, Capability.revocation_id == key))))
            ids = [r.revocation_id for r in rows]
            if not ids:
                if len(key) < 64 or any(ch not in "0123456789abcdef" for ch in key):
                    raise CapabilityError(f"no capability with name, id or revocation id {key!r}")
                ids = [key]
            done = []
            for rid in ids:
                if s.get(CapabilityRevocation, rid) is not None:
                    continue
                s.add(CapabilityRevocation(revocation_id=rid, revoked_at=datetime.now(UTC),
                                           revoked_by=by or self._actor))
                s.flush()
                self._record(s, "capability.revoked", {"revocation_id": rid}, None)
                done.append(rid)
        return done

    def revoked(self, revocation_ids: Iterable[str]) -> bool:
        ids = list(revocation_ids)
        with self.store.session() as s:
            hit = s.scalar(select(CapabilityRevocation.revocation_id)
                           .where(CapabilityRevocation.revocation_id.in_(ids)).limit(1))
        return hit is not None

    def list(self) -> list[IssuedCapability]:
        with self.store.session() as s:
            revoked = set(s.scalars(select(CapabilityRevocation.revocation_id)))
            rows = s.scalars(select(Capability).order_by(Capability.created_at))
            return [_issued(r, revoked=r.revocation_id in revoked) for r in rows]

    def _record(self, s: Session, type: str, payload: dict[str, object],
                environment: str | None, *, actor: str | None = None) -> None:
        if self.audit is not None:
            self.audit.append(type, payload, within=s, actor=actor or self._actor,
                              environment=environment)


def _issued(r: Capability, *, revoked: bool) -> IssuedCapability:
    return IssuedCapability(r.id, r.name, r.agent, r.session, r.environment,
                            tuple(json.loads(r.credentials)), r.actions, r.revocation_id,
                            r.created_at, r.expires_at, revoked)


def _aware(t: datetime) -> datetime:
    """A stored time as UTC (SQLite gives back naive datetimes)."""
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _hours(d: timedelta) -> str:
    return f"{d.total_seconds() / 3600:g}h"
