"""Turning Facts into a Decision with the Cedar policy in force.

Cedar answers permit/forbid; safehold's richer outcome comes from the annotations of the rules
that fired: a forbid is deny, otherwise the strictest @decision among the matching permits.
No rule matching, or a rule failing to evaluate, is at least ask. Whatever the policy says, an
action with unknowns is never allowed: that floor is enforced here, after the policy.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import cedarpy

from safehold.errors import PolicyError
from safehold.model import Action, Decision, Effect, Facts, Verdict
from safehold.policy.loader import PolicyBundle, Rule, load_bundle

DEFAULT_PROTECTED = frozenset({"production", "prod"})
_CACHE_LIMIT = 4096
_EMPTY_ENTITIES = cedarpy.Entities.from_json_str("[]")


def _family(op_id: str) -> str:
    return op_id.split(":", 1)[0]


class RequestKey(NamedTuple):
    """Everything a Cedar request depends on: the cache key of a decision, and the request."""

    kind: str
    agent: str
    effect: Effect
    operations: tuple[str, ...]
    unknowns: tuple[str, ...]
    credentials: tuple[str, ...]
    credential_use: bool
    environment: str
    claimed: str
    protected: bool
    cross: bool
    providers: tuple[str, ...]
    target_kinds: tuple[str, ...]
    code: tuple[str, ...] = ()
    session_refused: bool = False
    refused_target: bool = False


def request_key(action: Action, facts: Facts, protected: frozenset[str]) -> RequestKey:
    """What the policy will be asked about these facts; hashable, so decisions can be cached."""
    environment = facts.environment or action.environment or "unknown"
    target_envs = {t.environment for t in facts.targets if t.environment}
    return RequestKey(
        kind=action.kind,
        agent=action.agent or "agent",
        effect=facts.effect,
        operations=tuple(sorted({op.id for op in facts.operations})),
        unknowns=tuple(sorted({u.id for u in facts.unknowns})),
        credentials=tuple(sorted({c.id for c in facts.credentials})),
        credential_use=bool(facts.credential_uses),
        environment=environment,
        claimed=action.environment or "unknown",
        protected=environment in protected or any(e in protected for e in target_envs),
        cross=action.environment is not None
        and any(e != action.environment for e in target_envs),
        providers=tuple(sorted({op.provider for op in facts.operations if op.provider})),
        target_kinds=tuple(sorted({t.kind for t in facts.targets})),
        code=tuple(sorted({c.id for c in facts.code})),
        session_refused=facts.session is not None,
        refused_target=_reaches_refused(action, facts),
    )


def _reaches_refused(action: Action, facts: Facts) -> bool:
    """The action touches something this session was refused lately (`sessions.overlaps`)."""
    if facts.session is None or not facts.session.targets:
        return False
    from safehold.sessions import overlaps

    return any(overlaps(t, r, action.cwd) for t in facts.targets for r in facts.session.targets)


def build_request(key: RequestKey) -> dict[str, Any]:
    """The Cedar request for a key; built only when the decision is not cached."""
    context = {
        "kind": key.kind,
        "effect": key.effect.label,
        "effect_rank": int(key.effect),
        "operations": list(key.operations),
        "families": sorted({_family(o) for o in key.operations}),
        "unknown": bool(key.unknowns),
        "unknowns": list(key.unknowns),
        "credential_access": bool(key.credentials),
        "credentials": list(key.credentials),
        "credential_use": key.credential_use,
        "environment": key.environment,
        "claimed_environment": key.claimed,
        "protected": key.protected,
        "cross_environment": key.cross,
        "providers": list(key.providers),
        "target_kinds": list(key.target_kinds),
        "code": list(key.code),
        "code_opaque": bool(key.code),
        "session_refused": key.session_refused,
        "refused_target": key.refused_target,
    }
    return {
        "principal": {"type": "Agent", "id": key.agent},
        "action": {"type": "Action", "id": key.kind},
        "resource": {"type": "Environment", "id": key.environment},
        "context": context,
    }


class PolicyEngine:
    """Holds the policy in force. A reload that fails leaves the last good policy in place."""

    def __init__(
        self,
        bundle: PolicyBundle,
        *,
        paths: Iterable[Path] = (),
        protected_environments: frozenset[str] = DEFAULT_PROTECTED,
    ):
        self._bundle = bundle
        self._paths = tuple(Path(p) for p in paths)
        self._protected = protected_environments
        self._cache: dict[RequestKey, tuple[tuple[Rule, ...], tuple[str, ...]]] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        paths: Iterable[str | Path] = (),
        *,
        protected_environments: frozenset[str] = DEFAULT_PROTECTED,
    ) -> PolicyEngine:
        path_list = [Path(p) for p in paths]
        return cls(
            load_bundle(path_list), paths=path_list, protected_environments=protected_environments
        )

    @property
    def bundle(self) -> PolicyBundle:
        return self._bundle

    @property
    def version(self) -> str:
        return self._bundle.version

    @property
    def paths(self) -> tuple[Path, ...]:
        """The user policy files on top of the built-in policy (empty: the built-in alone)."""
        return self._paths

    def reload(self) -> PolicyBundle:
        """Re-read the policy files; on error raise PolicyError and keep the policy in force."""
        bundle = load_bundle(self._paths)
        with self._lock:
            self._bundle = bundle
            self._cache = {}
        return bundle

    def _fired(self, action: Action, facts: Facts) -> tuple[tuple[Rule, ...], tuple[str, ...]]:
        key = request_key(action, facts, self._protected)
        bundle = self._bundle
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        result = cedarpy.is_authorized(build_request(key), bundle.policy_set, _EMPTY_ENTITIES)
        rules = tuple(bundle.rules[r] for r in result.diagnostics.reasons if r in bundle.rules)
        fired = (rules, tuple(result.diagnostics.errors))
        with self._lock:
            if bundle is self._bundle:
                if len(self._cache) >= _CACHE_LIMIT:
                    self._cache.clear()
                self._cache[key] = fired
        return fired

    def decide(self, action: Action, facts: Facts) -> Decision:
        rules, errors = self._fired(action, facts)
        forbids = [r for r in rules if r.effect == "forbid"]
        chosen = forbids or list(rules)
        verdict = Verdict.strictest(r.verdict for r in chosen) if chosen else Verdict.ASK
        reasons: list[str] = []
        rule_ids: list[str] = []
        for r in chosen:
            if r.verdict is verdict:
                rule_ids.append(r.id)
                if r.reason:
                    reasons.append(f"{r.id}: {r.reason}")
        if not chosen:
            rule_ids.append("no-rule-matched")
            reasons.append("no-rule-matched: no policy rule covers this action; a human decides")
        if errors:
            rule_ids.append("policy-error")
            reasons.append("policy-error: a rule failed to evaluate: " + "; ".join(errors))
            verdict = Verdict.strictest((verdict, Verdict.ASK))
        if facts.unknowns and verdict.strictness < Verdict.ASK.strictness:
            verdict = Verdict.ASK
            rule_ids.append("unknown-is-never-allow")
            reasons.append("unknown-is-never-allow: part of the action was not understood")
        reasons.extend(_fact_reasons(facts, verdict, action.environment))
        if "careful-after-refusal" in rule_ids:
            reasons.extend(_caution_reasons(facts))
        snapshot = any(r.snapshot for r in chosen if r.verdict is verdict)
        delay = None
        if verdict is Verdict.DELAY:
            delay = max(r.delay_seconds or 0 for r in chosen if r.verdict is verdict)
        suggestions = tuple(
            dict.fromkeys(op.suggestion for op in facts.operations if op.suggestion)
        )
        return Decision(
            verdict=verdict,
            reasons=tuple(reasons),
            rule_ids=tuple(rule_ids),
            facts=facts,
            snapshot_first=snapshot and verdict is not Verdict.DENY,
            delay_seconds=delay,
            suggestions=suggestions if verdict is not Verdict.ALLOW else (),
            policy_version=self._bundle.version,
        )


def _fact_reasons(facts: Facts, verdict: Verdict, claimed: str | None = None) -> list[str]:
    """The facts behind a non-allow decision, worst first, in words an agent can act on."""
    if verdict is Verdict.ALLOW:
        return []
    out: list[str] = []
    if claimed is not None:
        elsewhere = sorted({f"{t.kind} {t.name} is in {t.environment}" for t in facts.targets
                            if t.environment and t.environment != claimed})
        if elsewhere:
            out.append(f"outside this session's environment ({claimed}): "
                       + "; ".join(elsewhere))
    for op in sorted(facts.operations, key=lambda o: -int(o.effect)):
        if op.effect < Effect.DESTRUCTIVE:
            continue
        targets = ", ".join(
            f"{t.kind} {t.name}" + (f" ({t.environment})" if t.environment else "")
            for t in op.targets
        )
        where = f" on {targets}" if targets else ""
        out.append(f"{op.id} [{op.effect.label}]{where}: {op.reason} (in `{op.source}`)")
    out.extend(f"{u.id}: {u.reason}" + (f" (in `{u.source}`)" if u.source else "")
               for u in facts.unknowns)
    out.extend(f"{c.id}: {c.reason}" + (f" (in `{c.source}`)" if c.source else "")
               for c in facts.credentials)
    return out


def _caution_reasons(facts: Facts) -> list[str]:
    """Why a careful session held this action: what was refused, until when, and what here
    could not be fully followed."""
    if facts.session is None:
        return []
    import datetime

    until = datetime.datetime.fromtimestamp(facts.session.until, datetime.UTC)
    out = [f"session-caution: this session was refused lately and stays careful until "
           f"{until:%Y-%m-%d %H:%M:%S} UTC; refused: " + " | ".join(facts.session.refusals)]
    out.extend(f"{c.id}: {c.reason}" + (f" (in `{c.source}`)" if c.source else "")
               for c in facts.code)
    return out


def internal_error_decision(action: Action, exc: BaseException, version: str = "") -> Decision:
    """What the path answers when it fails itself: never allow."""
    return Decision(
        verdict=Verdict.ASK,
        reasons=(f"internal-error: safehold could not decide ({type(exc).__name__}: {exc})",),
        rule_ids=("internal-error",),
        facts=Facts(kind=action.kind),
        policy_version=version,
    )


__all__ = ["PolicyEngine", "PolicyError", "build_request", "internal_error_decision",
           "request_key"]
