"""The one decision path every surface calls: action -> analysis -> resolution -> policy.

Hooks, the MCP proxy, gateways and the CLI build an `Action` and call `Guard.decide`; none of
them analyses or applies policy on its own. A failure anywhere on this path yields ask, never
allow, and a failure to record the decision withholds an allow.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from safehold.analysis.interface import Limits
from safehold.analysis.registry import Registry, analyze
from safehold.model import Action, Decision, Facts, Verdict
from safehold.policy.engine import DEFAULT_PROTECTED, PolicyEngine, internal_error_decision

if TYPE_CHECKING:
    from safehold.config import Config
    from safehold.inventory import Inventory
    from safehold.sessions import SessionMemory

Resolver = Callable[[Action, Facts], Facts]
Recorder = Callable[[Action, Decision], None]

log = logging.getLogger(__name__)


class Guard:
    """Decides actions with one policy engine, an optional inventory resolver and recorder."""

    def __init__(
        self,
        engine: PolicyEngine,
        *,
        resolver: Resolver | None = None,
        recorder: Recorder | None = None,
        limits: Limits | None = None,
        registry: Registry | None = None,
        sessions: SessionMemory | None = None,
    ):
        self.engine = engine
        self.resolver = resolver
        self.recorder = recorder
        self.limits = limits or Limits()
        self.registry = registry
        #: Asks a read-only database how many rows a DELETE/UPDATE touches (configured only).
        self.blast_radius: Callable[[Action, Facts], Facts] | None = None
        #: What each session was refused lately (the session fact the policy sees).
        self.sessions = sessions
        #: The inventory behind `resolver`, when the guard was built from a configuration.
        self.inventory: Inventory | None = None

    @classmethod
    def load(
        cls,
        policy_path: str | Path | Iterable[str | Path] | None = None,
        *,
        resolver: Resolver | None = None,
        recorder: Recorder | None = None,
        limits: Limits | None = None,
        protected_environments: Iterable[str] = DEFAULT_PROTECTED,
        catalog_dirs: Sequence[str | Path] = (),
    ) -> Guard:
        """A guard with the built-in policy plus the given user policy file(s), and the
        built-in catalogs plus the user catalog directories.

        Raises PolicyError (naming file and line) when a policy file is broken, CatalogError
        (naming file and entry) when a user catalog is."""
        if policy_path is None:
            paths: list[str | Path] = []
        elif isinstance(policy_path, (str, Path)):
            paths = [policy_path]
        else:
            paths = list(policy_path)
        engine = PolicyEngine.load(
            paths, protected_environments=frozenset(protected_environments)
        )
        registry = None
        if catalog_dirs:
            registry = Registry(catalog_dirs)
            registry.preload()
        return cls(engine, resolver=resolver, recorder=recorder, limits=limits, registry=registry)

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        extra_policies: Iterable[str | Path] = (),
        recorder: Recorder | None = None,
        limits: Limits | None = None,
    ) -> Guard:
        """The guard a configuration describes: its policy file, its inventory (targets placed
        in environments, protected environments) and its user catalogs."""
        from safehold.inventory import Inventory

        inventory = Inventory(config.environments)
        policies = [config.policy_path] if config.policy_path else []
        guard = cls.load(
            [*policies, *extra_policies],
            resolver=inventory.resolve if config.environments else None,
            recorder=recorder,
            limits=limits,
            protected_environments=DEFAULT_PROTECTED | inventory.protected,
            catalog_dirs=config.catalogs,
        )
        if config.environments:
            guard.inventory = inventory
        from safehold.sessions import SessionMemory

        readonly = {e.name: e.readonly_database_url for e in config.environments
                    if e.readonly_database_url}
        if readonly:
            from safehold.blast_radius import BlastRadius

            b = config.blast_radius
            guard.blast_radius = BlastRadius(readonly, rows=b.rows, share=b.share,
                                             timeout=b.timeout_seconds)
        guard.sessions = SessionMemory(config.sessions_directory(),
                                       config.sessions.caution_seconds)
        return guard

    @property
    def policy_version(self) -> str:
        return self.engine.version

    def analyze(self, action: Action) -> Facts:
        """Facts for an action, environments resolved and the session fact added: what the
        policy will see."""
        facts = analyze(action, self.limits, self.registry)
        if self.resolver is not None:
            facts = self.resolver(action, facts)
        if self.blast_radius is not None:
            facts = self.blast_radius(action, facts)
        if self.sessions is not None and action.session:
            caution = self.sessions.caution(action.session, action)
            if caution is not None:
                facts = replace(facts, session=caution)
        return facts

    def decide(self, action: Action, facts: Facts | None = None) -> Decision:
        """The decision for `action`; `facts` when the caller already analysed this very
        action (the gateway, which checks the capability against them first)."""
        try:
            decision = self.engine.decide(
                action, facts if facts is not None else self.analyze(action))
        except Exception as exc:  # the path must answer, and never with allow
            log.exception("decision path failed")
            decision = internal_error_decision(action, exc, self.engine.version)
        if self.sessions is not None and action.session:
            try:
                self.sessions.remember(action, decision)
            except Exception:  # the decision stands; only the session's memory of it is lost
                log.exception("could not remember the refusal for session %s", action.session)
        if self.recorder is not None:
            try:
                self.recorder(action, decision)
            except Exception as exc:
                log.exception("could not record decision")
                if decision.verdict is Verdict.ALLOW:
                    decision = withheld(decision, exc)
        return decision


def withheld(decision: Decision, exc: BaseException) -> Decision:
    """An allow turned into ask because the decision could not be recorded."""
    return Decision(
        verdict=Verdict.ASK,
        reasons=(
            *decision.reasons,
            f"audit-unavailable: the decision could not be recorded ({type(exc).__name__}: {exc})",
        ),
        rule_ids=(*decision.rule_ids, "audit-unavailable"),
        facts=decision.facts,
        policy_version=decision.policy_version,
    )
