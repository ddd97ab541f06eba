"""Agents log in to the proxy with their capability; the database password stays in the store.

A capability (`shc_…`, issued for a `postgresql` credential) is accepted two ways:

- **SCRAM-SHA-256**, the way for any client that is not on this machine: `safehold env` enrols
  the capability it issues under the login `cap-<id>`, storing only its SCRAM verifier (salt,
  StoredKey, ServerKey; RFC 5802). The proxy proves the client knows the token without the
  token crossing the socket, then re-reads the capability's record: revoked, expired, or for
  another environment or database is refused.
- **In clear from a loopback client**: the token is the password and is verified in full
  (signature, every attenuation block, revocation), as the gateway verifies it.

Either way the client's `permit` is asked before each statement, so a capability that expires
or is revoked mid-session stops the next statement, and a read-only one never writes.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from scramp import ScramMechanism

from safehold.capabilities.registry import Capabilities
from safehold.capabilities.tokens import ACTION_LEVELS, PREFIX, Request
from safehold.errors import CapabilityError
from safehold.model import Effect
from safehold.pgproxy.auth import Client, Permit, ScramLogin
from safehold.pgproxy.errors import AuthenticationFailed
from safehold.store.models import Capability, PgProxyLogin

#: PostgreSQL's own default for scram-sha-256 verifiers.
ITERATIONS = 4096
LOGIN_PREFIX = "cap-"


@dataclass(frozen=True, slots=True)
class Database:
    """What a capability must grant to reach this proxy: the database's credential and its
    environment."""

    credential: str
    environment: str


def enrol(capabilities: Capabilities, capability_id: str, token: str) -> str:
    """Store the SCRAM verifier of a freshly issued capability; the login name to use."""
    salt, stored, server, iterations = ScramMechanism().make_auth_info(
        token, iteration_count=ITERATIONS, salt=secrets.token_bytes(16)
    )
    login = LOGIN_PREFIX + capability_id
    with capabilities.store.write() as s:
        s.add(PgProxyLogin(login=login, capability_id=capability_id, salt=salt,
                           iterations=iterations, stored_key=stored, server_key=server,
                           created_at=datetime.now(UTC)))
    return login


class CapabilityLogins:
    """Both ways a capability logs in to one proxied database."""

    def __init__(self, capabilities: Capabilities, database: Database):
        self.capabilities = capabilities
        self.database = database

    # -- SCRAM ------------------------------------------------------------------------------

    def scram(self, user: str) -> ScramLogin | None:
        if not user.startswith(LOGIN_PREFIX):
            return None
        with self.capabilities.store.session() as s:
            row = s.get(PgProxyLogin, user)
            if row is None:
                return None
            cid = row.capability_id
            return ScramLogin(bytes(row.salt), row.iterations, bytes(row.stored_key),
                              bytes(row.server_key), lambda: self._admit_record(cid))

    def _admit_record(self, capability_id: str) -> Client:
        with self.capabilities.store.session() as s:
            row = s.get(Capability, capability_id)
            if row is None:
                raise AuthenticationFailed("the capability behind this login no longer exists")
            record = (row.agent, row.environment, tuple(json.loads(row.credentials)),
                      row.actions, row.revocation_id, row.expires_at)
        agent, environment, credentials, actions, revocation_id, expires_at = record
        effects = ACTION_LEVELS.get(actions, ())

        def permit(effect: Effect) -> str | None:
            if datetime.now(UTC) >= expires_at:
                return "the capability expired; ask the user for a new one (safehold env)"
            if self.capabilities.revoked([revocation_id]):
                return "the capability was revoked"
            if environment != self.database.environment:
                return (f"the capability is for environment {environment!r}; this database is "
                        f"in {self.database.environment!r}")
            if self.database.credential not in credentials:
                return (f"the capability does not cover database credential "
                        f"{self.database.credential!r}")
            if effect.label not in effects:
                return (f"the capability allows {', '.join(effects)} statements; this one is "
                        f"{effect.label}")
            return None

        why = permit(Effect.READ)
        if why is not None:
            raise AuthenticationFailed(why)
        return Client(identity=f"capability/{agent}", name=agent, permit=permit)

    # -- in clear, from loopback ------------------------------------------------------------

    def verify(self, secret: str) -> Client | None:
        """The client a capability sent as a password proves; None for a non-capability."""
        text = secret.strip()
        if not text.startswith(PREFIX):
            return None
        try:
            parsed = self.capabilities.signer.parse(text)
            if self.capabilities.revoked(parsed.revocation_ids):
                raise CapabilityError("the capability was revoked")
            grant = self.capabilities.signer.authorize(parsed, self._request(Effect.READ))
        except CapabilityError as exc:
            raise AuthenticationFailed(str(exc)) from None
        return Client(identity=grant.identity, name=grant.agent,
                      permit=self._biscuit_permit(parsed))

    def _biscuit_permit(self, parsed: object) -> Permit:
        def permit(effect: Effect) -> str | None:
            try:
                if self.capabilities.revoked(parsed.revocation_ids):  # type: ignore[attr-defined]
                    return "the capability was revoked"
                self.capabilities.signer.authorize(parsed, self._request(effect))  # type: ignore[arg-type]
            except CapabilityError as exc:
                return str(exc)
            return None

        return permit

    def _request(self, effect: Effect) -> Request:
        return Request(self.database.credential, self.database.environment, effect,
                       datetime.now(UTC))
