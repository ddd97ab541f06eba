"""Biscuit capability tokens: what an agent holds instead of a provider credential.

A capability is signed by the server's key (ed25519, in the key directory) and its first block
states what it grants: the agent and session it was issued to, one environment, the credentials
it may use, the effects it may ask for, and an expiry. Whoever holds one can append blocks that
only add checks (a narrower environment, fewer credentials, read-only, a shorter life) and hand
the result to a subagent without asking the server; nothing appended can add a grant, because
the authorizer's allow policy reads only the first block's facts. Each block has a revocation
id; revoking one refuses every token derived from it.

The authorizer runs with explicit limits: capability checks are tiny, and a token built to make
the Datalog engine work hard is refused rather than waited on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import biscuit_auth as bis

from safehold.errors import CapabilityError
from safehold.model import Effect

#: biscuit-python's type stubs lag its runtime (key algorithms, authorizer limits); calls the
#: stubs do not know go through this untyped handle.
_rt: Any = bis

PREFIX = "shc_"
DEFAULT_TTL = timedelta(minutes=15)
MAX_TTL = timedelta(days=30)
#: A renewed capability never outlives its first issue by more than this, and a chain of
#: renewals is at most this long (each renewal carries its ancestors' revocation ids).
MAX_LIFETIME = timedelta(hours=12)
MAX_RENEWALS = 96

#: Action classes a capability may grant, and the effects each lets the agent ask for. The
#: policy still decides every request; `destructive` only lets the agent *ask*, and the gateway
#: never forwards a destructive or irreversible call without an approval or an elapsed delay.
ACTION_LEVELS: dict[str, tuple[str, ...]] = {
    "read-only": ("read",),
    "writes": ("read", "write"),
    "destructive": ("read", "write", "destructive", "irreversible"),
}

#: Limits for one authorization: a handful of facts and checks is all a real token carries.
#: Facts and iterations bound the work deterministically; the wall-clock limit is generous
#: because a loaded machine can stall any thread for tens of milliseconds, and a capability
#: refused for that would be a spurious denial.
MAX_FACTS = 256
MAX_ITERATIONS = 16
MAX_TIME = timedelta(milliseconds=250)

_AUTHORIZER = """
time({now});
request_credential({credential});
request_environment({environment});
request_effect({effect});
allow if request_credential($c), credential($c),
         request_environment($e), environment($e),
         request_effect($x), effect($x);
"""


@dataclass(frozen=True, slots=True)
class Request:
    """What an incoming gateway request asks of the capability."""

    credential: str
    environment: str
    effect: Effect
    at: datetime


@dataclass(frozen=True, slots=True)
class Grant:
    """A capability that verified: who holds it and what its first block grants."""

    id: str
    agent: str
    session: str
    environment: str
    credentials: tuple[str, ...]
    effects: tuple[str, ...]
    expires_at: datetime
    revocation_ids: tuple[str, ...]
    blocks: int
    #: revocation ids of the capabilities this one was renewed from: revoking any refuses it
    lineage: tuple[str, ...] = ()
    #: when the first capability of the chain was issued, and the lifetime each renewal gives
    origin: datetime | None = None
    term: timedelta | None = None

    @property
    def identity(self) -> str:
        return f"capability/{self.agent}"


class Signer:
    """Issues and verifies capabilities with one root key pair."""

    def __init__(self, private_key: bytes):
        try:
            key = _rt.PrivateKey.from_bytes(private_key, _rt.Algorithm.Ed25519)
            self._keys = bis.KeyPair.from_private_key(key)
        except Exception as exc:
            raise CapabilityError(f"the capability signing key is not usable: {exc}") from exc

    @property
    def public_key_hex(self) -> str:
        return bytes(self._keys.public_key.to_bytes()).hex()

    def issue(self, *, id: str, agent: str, session: str, environment: str,
              credentials: tuple[str, ...], actions: str, expires_at: datetime,
              origin: datetime | None = None, term: timedelta | None = None,
              lineage: tuple[str, ...] = ()) -> tuple[str, str]:
        """A signed token and its revocation id. A renewal passes the chain's `origin`, the
        `term` each renewal gives, and the `lineage` of revocation ids it descends from."""
        effects = ACTION_LEVELS.get(actions)
        if effects is None:
            raise CapabilityError(f"unknown action class {actions!r}; expected one of "
                                  f"{', '.join(ACTION_LEVELS)}")
        if not credentials:
            raise CapabilityError("a capability needs at least one credential")
        builder = bis.BiscuitBuilder(
            "capability({id}); agent({agent}); session({session}); environment({env});"
            "expires({expires}); check if time($t), $t <= {expires};",
            {"id": id, "agent": agent, "session": session, "env": environment,
             "expires": expires_at},
        )
        for cred in credentials:
            builder.add_fact(bis.Fact("credential({c})", {"c": cred}))
        for effect in effects:
            builder.add_fact(bis.Fact("effect({e})", {"e": effect}))
        if origin is not None:
            builder.add_fact(bis.Fact("origin({t})", {"t": origin}))
        if term is not None:
            builder.add_fact(bis.Fact("term({s})", {"s": int(term.total_seconds())}))
        for rid in lineage:
            builder.add_fact(bis.Fact("renewed_from({r})", {"r": rid}))
        token = builder.build(self._keys.private_key)
        return PREFIX + token.to_base64(), token.revocation_ids[0]

    def parse(self, token: str) -> bis.Biscuit:
        """The token, its signature checked; CapabilityError for anything else."""
        return parse(token, self._keys.public_key)

    def read(self, token: bis.Biscuit) -> Grant:
        """What the first block grants, without deciding any request (for renewal)."""
        builder: Any = bis.AuthorizerBuilder("")
        limits = builder.limits()
        limits.max_facts = MAX_FACTS
        limits.max_iterations = MAX_ITERATIONS
        limits.max_time = MAX_TIME
        builder.set_limits(limits)
        return _grant(builder.build(token), token)

    def authorize(self, token: bis.Biscuit, request: Request) -> Grant:
        """The grant, when every block's checks and the allow policy pass for `request`."""
        builder: Any = bis.AuthorizerBuilder(_AUTHORIZER, {
            "now": request.at, "credential": request.credential,
            "environment": request.environment, "effect": request.effect.label,
        })
        limits = builder.limits()
        limits.max_facts = MAX_FACTS
        limits.max_iterations = MAX_ITERATIONS
        limits.max_time = MAX_TIME
        builder.set_limits(limits)
        authorizer = builder.build(token)
        grant = _grant(authorizer, token)
        try:
            authorizer.authorize()
        except bis.AuthorizationError as exc:
            raise CapabilityError(_why(grant, request, str(exc))) from None
        return grant


def parse(token: str, public_key: bis.PublicKey) -> bis.Biscuit:
    text = token.strip()
    if not text.startswith(PREFIX):
        raise CapabilityError("not a safehold capability (it must start with shc_)")
    if len(text) > 16 * 1024:
        raise CapabilityError("the capability is too long")
    try:
        return bis.Biscuit.from_base64(text[len(PREFIX):], public_key)
    except Exception:
        raise CapabilityError(
            "the capability was not issued by this safehold server or was altered "
            "(its signature does not verify)"
        ) from None


def attenuate(token: str, public_key_hex: str, *, environment: str | None = None,
              credentials: tuple[str, ...] = (), actions: str | None = None,
              ttl: timedelta | None = None, now: datetime | None = None) -> str:
    """A narrower token for a subagent, made offline: only checks are appended.

    The public key is not secret (`safehold env` prints it); it is needed only because the
    library re-reads the token before extending it."""
    try:
        key = _rt.PublicKey.from_bytes(bytes.fromhex(public_key_hex.strip()),
                                   _rt.Algorithm.Ed25519)
    except Exception:
        raise CapabilityError("the capability public key is not valid hex") from None
    base = parse(token, key)
    checks: list[tuple[str, dict[str, object]]] = []
    if environment:
        checks.append(("check if request_environment({e})", {"e": environment}))
    for i, cred in enumerate(credentials):
        checks.append((f"credential_narrowed({{c{i}}})", {f"c{i}": cred}))
    if credentials:
        checks.append(("check if request_credential($c), credential_narrowed($c)", {}))
    if actions:
        effects = ACTION_LEVELS.get(actions)
        if effects is None:
            raise CapabilityError(f"unknown action class {actions!r}; expected one of "
                                  f"{', '.join(ACTION_LEVELS)}")
        checks.append(("check if request_effect($x), {allowed}.contains($x)",
                       {"allowed": set(effects)}))
    if ttl is not None:
        if ttl <= timedelta(0):
            raise CapabilityError("a lifetime must be positive")
        until = (now or datetime.now(UTC)) + ttl
        checks.append(("check if time($t), $t <= {until}", {"until": until}))
    if not checks:
        raise CapabilityError("say how to narrow the capability (--env, --credential, "
                              "--actions or --ttl)")
    block = bis.BlockBuilder("")
    for source, params in checks:
        block.add_code(source + ";", params)  # type: ignore[arg-type]
    return PREFIX + base.append(block).to_base64()


def inspect(token: str, public_key_hex: str) -> dict[str, object]:
    """What a token says, block by block (Datalog source), and its revocation ids."""
    key = _rt.PublicKey.from_bytes(bytes.fromhex(public_key_hex.strip()),
                                   _rt.Algorithm.Ed25519)
    t = parse(token, key)
    return {
        "blocks": [t.block_source(i) for i in range(t.block_count())],
        "revocation_ids": list(t.revocation_ids),
    }


def _grant(authorizer: bis.Authorizer, token: bis.Biscuit) -> Grant:
    def values(rule: str) -> list[object]:
        return [f.terms[0] for f in authorizer.query(bis.Rule(rule))]

    def one(rule: str) -> object:
        found = values(rule)
        if len(found) != 1:
            raise CapabilityError("the capability's first block is not one safehold issues")
        return found[0]

    expires = one("x($t) <- expires($t)")
    if not isinstance(expires, datetime):
        raise CapabilityError("the capability carries no expiry")
    origins, terms = values("x($t) <- origin($t)"), values("x($s) <- term($s)")
    if len(origins) > 1 or len(terms) > 1:
        raise CapabilityError("the capability's first block is not one safehold issues")
    origin = origins[0] if origins and isinstance(origins[0], datetime) else None
    term = timedelta(seconds=terms[0]) if terms and isinstance(terms[0], int) else None
    return Grant(
        id=str(one("x($i) <- capability($i)")),
        agent=str(one("x($a) <- agent($a)")),
        session=str(one("x($s) <- session($s)")),
        environment=str(one("x($e) <- environment($e)")),
        credentials=tuple(sorted(str(v) for v in values("x($c) <- credential($c)"))),
        effects=tuple(str(v) for v in values("x($e) <- effect($e)")),
        expires_at=expires,
        revocation_ids=tuple(token.revocation_ids),
        blocks=token.block_count(),
        lineage=tuple(sorted(str(v) for v in values("x($r) <- renewed_from($r)"))),
        origin=origin,
        term=term,
    )


def _why(grant: Grant, request: Request, detail: str) -> str:
    """The first reason a person can act on; the library's own text as the last resort."""
    if request.at > grant.expires_at:
        return (f"the capability expired at {grant.expires_at.isoformat()}; ask the operator "
                "for a new one (safehold tokens create … --role agent)")
    if request.credential not in grant.credentials:
        return (f"the capability does not cover credential {request.credential!r} (it covers "
                f"{', '.join(grant.credentials)})")
    if request.environment != grant.environment:
        return (f"the capability is for environment {grant.environment!r}, and credential "
                f"{request.credential!r} reaches {request.environment!r}")
    if request.effect.label not in grant.effects:
        return (f"the capability allows {', '.join(grant.effects)} calls; this one is "
                f"{request.effect.label}")
    if grant.blocks > 1:
        return f"a restriction added to the capability refuses this request ({_short(detail)})"
    return f"the capability refuses this request ({_short(detail)})"


def _short(text: str) -> str:
    return text.replace("authorization failed: ", "")[:300]
