"""The one object the web layer, the hooks and the CLI open: everything wired from a Config.

`Safehold.evaluate` is the decision path plus what a decision sets in motion: an ask is
answered by a granted approval for exactly this action (used once) or files a request; a
delay is released once its grace period is over or is queued; every outcome is audited with
who asked, from which session and tool call, and notifications go out.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from safehold.approvals import Approval, ApprovalService, approval_url, decision_digest
from safehold.audit.log import AuditLog, Recheck
from safehold.audit.recorder import record_decision
from safehold.config import Config
from safehold.credentials.for_stores import store_secrets
from safehold.delays import Delay, DelayService
from safehold.errors import AuditError, SafeholdError
from safehold.inventory import Inventory
from safehold.model import Action, Decision, Facts, Verdict
from safehold.notify import Notifier, summarize_action
from safehold.protection.first import Protection, SnapshotFirst
from safehold.protection.schedule import Scheduler
from safehold.protection.stores import store_opener
from safehold.store.db import Store, open_store
from safehold.store.models import iso

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A decision and the approval or delay it is tied to; `policy_decision` is the policy's
    own answer before a granted approval or an elapsed delay turned it into allow."""

    action: Action
    decision: Decision
    digest: str
    policy_decision: Decision
    approval: Approval | None = None
    delay: Delay | None = None
    base_url: str = ""
    protection: Protection | None = None

    @property
    def verdict(self) -> Verdict:
        return self.decision.verdict

    def to_dict(self) -> dict[str, Any]:
        d = self.decision.to_dict()
        d.update(
            {
                "decision": self.decision.verdict.value,
                "reasons": list(self.decision.reasons),
                "rules": list(self.decision.rule_ids),
                "facts": self.decision.facts.to_dict(),
                "digest": self.digest,
                "approval": None,
                "delay": None,
            }
        )
        if self.approval is not None:
            d["approval"] = {
                "id": self.approval.id,
                "state": self.approval.state,
                "expires_at": iso(self.approval.expires_at),
                "url": approval_url(self.base_url, self.approval.id) if self.base_url else None,
                "required_approvals": self.approval.required_approvals,
                "approvers": list(self.approval.approvers),
            }
        if self.delay is not None:
            d["delay"] = {
                "id": self.delay.id,
                "run_at": iso(self.delay.run_at),
                "state": self.delay.state,
            }
        if self.protection is not None:
            d["snapshots"] = [
                {"id": m.id, "size": m.size, "store": m.store, "scope": m.scope,
                 "source": m.source} for m in self.protection.snapshots
            ]
        return d


class Safehold:
    """Store, audit log, inventory, guard, approvals, delays and notifier for one Config."""

    def __init__(
        self,
        config: Config,
        store: Store,
        audit: AuditLog,
        inventory: Inventory,
        guard: Any,
        approvals: ApprovalService,
        delays: DelayService,
        notifier: Notifier,
        *,
        snapshot_first: SnapshotFirst | None = None,
    ):
        self.config = config
        self.store = store
        self.audit = audit
        self.inventory = inventory
        self.guard = guard
        self.approvals = approvals
        self.delays = delays
        self._policy_digest = _file_digest(config.policy_path)
        self.notifier = notifier
        self.snapshot_first = snapshot_first or SnapshotFirst(config.snapshots, inventory,
                                                              audit=audit)
        self.scheduler = Scheduler(config.snapshots, inventory, audit, notifier,
                                   clock=self.snapshot_first.clock,
                                   stores=self.snapshot_first.stores)

    @classmethod
    def open(
        cls,
        config: Config,
        *,
        clock: Any = None,
        guard: Any = None,
        notify_in_background: bool = True,
    ) -> Safehold:
        """Open the store (migrated), build every service, and audit a changed config or policy.

        The guard records nothing itself: `evaluate` writes one richer record per decision."""
        store = open_store(config.database_url)
        try:
            audit = AuditLog(store, clock=clock)
            inventory = Inventory(config.environments)
            if guard is None:
                from safehold.decide import Guard

                guard = Guard.from_config(config)
            approvals = ApprovalService(
                store, audit, config.approvals, protected=inventory.protected, clock=clock
            )
            snapshot_first = SnapshotFirst(config.snapshots, inventory, audit=audit, clock=clock,
                                           stores=store_opener(
                                               store_secrets(config, store, audit)))
            delays = DelayService(store, audit, config.delays, clock=clock,
                                  before_run=snapshot_first.before_delay_runs)
            notifier = Notifier(
                config.notifications,
                base_url=config.server.base_url,
                audit=audit,
                background=notify_in_background,
            )
            app = cls(config, store, audit, inventory, guard, approvals, delays, notifier,
                      snapshot_first=snapshot_first)
            app.record_configuration()
            return app
        except BaseException:
            store.close()
            raise

    def close(self) -> None:
        self.notifier.close()
        self.store.close()

    def __enter__(self) -> Safehold:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the decision path ----------------------------------------------------------------------

    def evaluate(
        self,
        action: Action,
        *,
        requester: str,
        stated_reason: str | None = None,
        tool_use_id: str | None = None,
        parent_session: str | None = None,
        request_approval: bool = True,
        facts: Facts | None = None,
        recheck: Recheck | None = None,
    ) -> Evaluation:
        """Decide `action` on the one path. `facts`: the caller's analysis of this exact
        action (same kind, input, options, cwd and environment), so it is not done twice.
        The answer comes only once its record is durable; `recheck` (the caller's
        credentials, say) is checked again in the transaction that writes that record, and
        when it no longer holds, `Refused` is raised instead."""
        if action.environment is None and self.config.session_environment:
            action = replace(action, environment=self.config.session_environment)
            facts = None
        policy = (self.guard.decide(action) if facts is None
                  else self.guard.decide(action, facts=facts))
        digest = decision_digest(action, policy)
        decision, approval, delay = policy, None, None

        if policy.verdict is Verdict.ASK:
            granted = self.approvals.consume(digest, requester=requester, session=action.session)
            if granted is not None:
                approval = granted
                sessions = getattr(self.guard, "sessions", None)
                if sessions is not None:  # a human said yes to exactly this: not a refusal
                    sessions.lift(action)
                who = ", ".join(granted.approvers) or "an approver"
                decision = _allowed(
                    policy, f"approved by {who} (approval {granted.id})", f"approval:{granted.id}"
                )
            elif request_approval:
                approval, new = self.approvals.file(
                    action, policy, requester, stated_reason, digest=digest
                )
                if new:
                    self.notifier.approval_requested(approval)
        elif policy.verdict is Verdict.DELAY:
            released = self.delays.release(digest, session=action.session)
            if released is not None:
                delay = released
                decision = _allowed(
                    policy,
                    f"the delay {released.id} ran its course (since {iso(released.run_at)}) "
                    "and nobody cancelled it",
                    f"delay:{released.id}",
                )
            else:
                delay, new = self.delays.file(action, policy, requester, digest=digest)
                if new:
                    self.notifier.delay_created(
                        delay.id, summarize_action(delay.action), iso(delay.run_at) or ""
                    )
                decision = replace(
                    policy,
                    reasons=(
                        *policy.reasons,
                        f"delayed until {iso(delay.run_at)} ({delay.id}); retry the "
                        "identical action after that, unless it is cancelled",
                    ),
                )
        elif policy.verdict is Verdict.DENY:
            env = policy.facts.environment or action.environment
            self.notifier.denied(action, policy, protected=env in self.inventory.protected)

        protection = None
        if policy.snapshot_first and decision.verdict is Verdict.ALLOW:
            decision, protection = self._snapshot_first(
                action, policy, decision, digest, requester, approval, delay
            )

        try:
            record_decision(
                self.audit,
                action,
                decision,
                actor=requester,
                tool_use_id=tool_use_id,
                parent_session=parent_session,
                digest=digest,
                policy_verdict=(
                    policy.verdict.value if policy.verdict is not decision.verdict else None
                ),
                approval=approval.id if approval else None,
                delay=delay.id if delay else None,
                stated_reason=stated_reason,
                recheck=recheck,
            )
        except AuditError as exc:
            log.exception("could not record a decision")
            if decision.verdict is Verdict.ALLOW:
                from safehold.decide import withheld

                decision = withheld(decision, exc)
        return Evaluation(
            action=action,
            decision=decision,
            digest=digest,
            policy_decision=policy,
            approval=approval,
            delay=delay,
            base_url=self.config.server.base_url,
            protection=protection,
        )

    def _snapshot_first(
        self, action: Action, policy: Decision, released: Decision, digest: str,
        requester: str, approval: Approval | None, delay: Delay | None,
    ) -> tuple[Decision, Protection]:
        """Take the snapshots a snapshot-first decision needs before its release; without
        them the released decision becomes a refusal saying why."""
        protection = self.snapshot_first.before_release(
            policy.facts.to_dict(), action.options, action.cwd,
            reference={"digest": digest, "approval": approval.id if approval else None,
                       "delay": delay.id if delay else None},
            actor=requester, session=action.session,
        )
        if protection.released:
            return replace(released, reasons=(
                *released.reasons, f"snapshot taken first: {protection.summary()}")), protection
        return replace(
            policy, verdict=Verdict.DENY, reasons=(*policy.reasons, protection.reason),
            rule_ids=(*policy.rule_ids, "snapshot-first"), delay_seconds=None,
        ), protection

    def vote(
        self,
        approval_id: str,
        approver: str,
        approve: bool,
        comment: str | None = None,
        *,
        via: str | None = None,
    ) -> Approval:
        """`ApprovalService.vote`, plus a notification once the request is decided."""
        result = self.approvals.vote(approval_id, approver, approve, comment, via=via)
        if result.state in ("approved", "denied"):
            self.notifier.approval_decided(result)
        return result

    def maintenance(self) -> dict[str, int]:
        """Pick up an edited policy, expire overdue approvals and lapsed delays, run scheduled
        backups and drills; a server runs this every few seconds.

        The policy is this process's own and is always re-read. The shared jobs run on one
        server at a time among all sharing the database (`Store.exclusive`): a server that
        finds another one at it skips this round, so no snapshot or alert is doubled."""
        counts = {"policy_reloaded": int(self.reload_policy() is not None),
                  "approvals_expired": 0, "delays_expired": 0,
                  "snapshots_taken": 0, "drills_run": 0, "alerts": 0}
        with self.store.exclusive("maintenance") as mine:
            if mine:
                counts["approvals_expired"] = len(self.approvals.expire_due())
                counts["delays_expired"] = len(self.delays.expire_lapsed())
                counts.update(self.scheduler.tick())
        return counts

    def reload_policy(self) -> str | None:
        """Put an edited policy file in force; the new version, or None when nothing changed.

        A file that no longer parses or validates leaves the last good policy in force: the
        failure is audited (`policy.reload-failed`, naming file and line) and logged, and the
        same broken content is not retried until the file changes again."""
        digest = _file_digest(self.config.policy_path)
        engine = getattr(self.guard, "engine", None)
        if digest == self._policy_digest or engine is None:
            return None
        self._policy_digest = digest
        try:
            engine.reload()
        except SafeholdError as exc:
            log.warning("policy reload failed; the last good policy stays in force: %s", exc)
            self.audit.append("policy.reload-failed", {
                "policy_path": self.config.policy_path,
                "error": str(exc),
                "policy_version_in_force": engine.version,
            })
            return None
        self.record_configuration()
        return str(engine.version)

    # -- configuration changes --------------------------------------------------------------

    def record_configuration(self) -> None:
        """Audit the configuration and policy in force whenever they differ from the last seen."""
        state = {
            "config_path": self.config.path,
            "config_digest": _file_digest(self.config.path),
            "policy_path": self.config.policy_path,
            "policy_digest": _file_digest(self.config.policy_path),
            "policy_version": getattr(self.guard, "policy_version", ""),
        }
        last = self.audit.tail(1, type="config.loaded")
        if last and {k: last[0].data.get(k) for k in state} == state:
            return
        self.audit.append("config.loaded", state)


def _allowed(policy: Decision, reason: str, rule: str) -> Decision:
    return replace(
        policy,
        verdict=Verdict.ALLOW,
        reasons=(*policy.reasons, reason),
        rule_ids=(*policy.rule_ids, rule),
        delay_seconds=None,
    )


def _file_digest(path: str | None) -> str | None:
    if not path:
        return None
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


__all__ = ["Evaluation", "Safehold"]
