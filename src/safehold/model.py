"""The values that travel the one decision path: Action -> Facts -> Decision.

Surfaces build an `Action`; analysers turn it into `Facts`; the policy turns facts into a
`Decision`. Nothing here knows which surface an action came from, so every surface gets the
same analysis and the same policy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any


class Effect(IntEnum):
    """How much an operation can cost; ordered so that `max()` gives the worst."""

    READ = 0
    WRITE = 1
    DESTRUCTIVE = 2
    IRREVERSIBLE = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Effect:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(
                f"unknown effect {text!r}; expected one of: read, write, destructive, irreversible"
            ) from None


class Verdict(StrEnum):
    """What happens to an action. Strictness: deny > ask > delay > allow."""

    ALLOW = "allow"
    DELAY = "delay"
    ASK = "ask"
    DENY = "deny"

    @property
    def strictness(self) -> int:
        return _STRICTNESS[self]

    @classmethod
    def strictest(cls, verdicts: Iterable[Verdict]) -> Verdict:
        return max(verdicts, key=lambda v: v.strictness, default=cls.ALLOW)


_STRICTNESS = {Verdict.ALLOW: 0, Verdict.DELAY: 1, Verdict.ASK: 2, Verdict.DENY: 3}


@dataclass(frozen=True, slots=True)
class Action:
    """One thing an agent tries to do, as a surface received it.

    `input` is a string for shell and SQL, a mapping for HTTP (`method`, `url`, `headers`,
    `body`) and MCP (`server`, `tool`, `arguments`). `environment` is what the session claims;
    the analysis may find that the targets live elsewhere.
    """

    kind: str
    input: str | Mapping[str, Any]
    cwd: str | None = None
    session: str | None = None
    environment: str | None = None
    agent: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)

    def input_text(self) -> str:
        """The input as one string, for digests, audit and display."""
        if isinstance(self.input, str):
            return self.input
        import json

        return json.dumps(self.input, sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True, slots=True)
class Target:
    """Something an operation touches: a path, a git ref, a table, a volume id, a URL…"""

    kind: str
    name: str
    environment: str | None = None
    provider: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "name": self.name}
        if self.environment is not None:
            d["environment"] = self.environment
        if self.provider is not None:
            d["provider"] = self.provider
        return d


@dataclass(frozen=True, slots=True)
class Operation:
    """One understood operation, named by its catalog id (`git:push-force`, `sql:drop-table`)."""

    id: str
    effect: Effect
    reason: str
    source: str
    targets: tuple[Target, ...] = ()
    suggestion: str | None = None
    provider: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "effect": self.effect.label,
            "reason": self.reason,
            "source": self.source,
            "targets": [t.to_dict() for t in self.targets],
        }
        if self.suggestion:
            d["suggestion"] = self.suggestion
        if self.provider:
            d["provider"] = self.provider
        return d


@dataclass(frozen=True, slots=True)
class Finding:
    """A fact that is not an operation: something not understood, or a credential touched."""

    id: str
    reason: str
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "reason": self.reason, "source": self.source}


@dataclass(frozen=True, slots=True)
class SessionCaution:
    """What the policy knows of the session an action comes from: it was refused (a deny, or
    an ask nobody has granted) within the caution window. Agents that are refused tend to
    reroute (the same target through another tool, a script, another spelling), so for a while
    the session's code that cannot be fully followed, and any write to what was refused, is
    held for a human. `targets` are what denied actions named (an ask that may still be granted
    does not stop work on its target). `until` is when the window closes (epoch seconds)."""

    session: str
    refusals: tuple[str, ...]
    since: float
    until: float
    targets: tuple[Target, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "refused": list(self.refusals),
            "since": self.since,
            "until": self.until,
            "targets": [t.to_dict() for t in self.targets],
        }


@dataclass(frozen=True, slots=True)
class Facts:
    """What the analysis learned about an action. `unknowns` is never empty by accident:
    every construct an analyser could not follow is listed there, so policy can refuse to
    allow what nobody understood.

    `credentials` is reading or hunting for secrets (how the incident began);
    `credential_uses` is presenting one (an Authorization header, a token argument), which is
    routine for a real client and matters only with what the call does.

    `code` is code the action runs that is followed only in part (what it leaves out reaches
    nothing that matters) or that talks to the network or a database: routine on its own, but
    what a refused agent reroutes through. `session` is the session fact (`SessionCaution`),
    set by the guard when the session was refused recently."""

    kind: str
    operations: tuple[Operation, ...] = ()
    credentials: tuple[Finding, ...] = ()
    unknowns: tuple[Finding, ...] = ()
    environment: str | None = None
    credential_uses: tuple[Finding, ...] = ()
    code: tuple[Finding, ...] = ()
    session: SessionCaution | None = None

    @property
    def effect(self) -> Effect:
        return max((op.effect for op in self.operations), default=Effect.READ)

    @property
    def targets(self) -> tuple[Target, ...]:
        seen: dict[Target, None] = {}
        for op in self.operations:
            for t in op.targets:
                seen.setdefault(t, None)
        return tuple(seen)

    def merged(self, *others: Facts) -> Facts:
        """These facts plus others' (used when one action embeds another, e.g. SQL in psql -c)."""
        ops, creds, unknowns = list(self.operations), list(self.credentials), list(self.unknowns)
        uses, code = list(self.credential_uses), list(self.code)
        for o in others:
            ops.extend(o.operations)
            creds.extend(o.credentials)
            unknowns.extend(o.unknowns)
            uses.extend(o.credential_uses)
            code.extend(o.code)
        return Facts(
            kind=self.kind,
            operations=tuple(ops),
            credentials=tuple(creds),
            unknowns=tuple(unknowns),
            environment=self.environment,
            credential_uses=tuple(uses),
            code=tuple(code),
            session=self.session,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "effect": self.effect.label,
            "environment": self.environment,
            "operations": [op.to_dict() for op in self.operations],
            "credentials": [c.to_dict() for c in self.credentials],
            "credential_uses": [c.to_dict() for c in self.credential_uses],
            "unknowns": [u.to_dict() for u in self.unknowns],
            "code": [c.to_dict() for c in self.code],
            "session": self.session.to_dict() if self.session is not None else None,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome for one action, with everything needed to explain it."""

    verdict: Verdict
    reasons: tuple[str, ...]
    rule_ids: tuple[str, ...]
    facts: Facts
    snapshot_first: bool = False
    delay_seconds: int | None = None
    suggestions: tuple[str, ...] = ()
    policy_version: str = ""

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOW

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "decision": self.verdict.value,
            "reasons": list(self.reasons),
            "rules": list(self.rule_ids),
            "snapshot_first": self.snapshot_first,
            "suggestions": list(self.suggestions),
            "policy_version": self.policy_version,
            "facts": self.facts.to_dict(),
        }
        if self.delay_seconds is not None:
            d["delay_seconds"] = self.delay_seconds
        return d
