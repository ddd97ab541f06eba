"""Snapshot first, for real: the one call every surface makes before it releases an action
whose decision carries snapshot-first (the approval path in `Safehold.evaluate`, a released
delay, the delay executor, and the gateway or PostgreSQL proxy when they release one).

Each planned capture is taken through its driver into its store and verified; every snapshot
and every failure is audited. If the plan has a problem or any capture fails, the answer is
"not released" with the reason — never a release on the hope that the data is safe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from safehold.errors import SnapshotError
from safehold.protection.drivers import driver_named
from safehold.protection.interface import Manifest, SnapshotStore
from safehold.protection.plan import Plan, plan
from safehold.protection.settings import SnapshotSettings, StoreSettings
from safehold.protection.snapshot import take
from safehold.protection.stores import open_store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Protection:
    """The outcome: `released` only when every planned snapshot exists and verified."""

    released: bool
    snapshots: tuple[Manifest, ...] = ()
    reason: str = ""

    def summary(self) -> str:
        return ", ".join(f"{m.id} ({m.size} bytes, store {m.store})" for m in self.snapshots)


class SnapshotFirst:
    def __init__(
        self,
        settings: SnapshotSettings,
        inventory: Any,
        *,
        audit: Any = None,
        clock: Callable[[], datetime] | None = None,
        stores: Callable[[StoreSettings], SnapshotStore] = open_store,
    ):
        self.settings = settings
        self.inventory = inventory
        self.audit = audit
        self.clock = clock
        self.stores = stores

    def plan(self, facts: Mapping[str, Any], options: Mapping[str, Any] | None,
             cwd: str | None) -> Plan:
        return plan(facts, options, cwd, inventory=self.inventory, settings=self.settings)

    def before_release(
        self,
        facts: Mapping[str, Any],
        options: Mapping[str, Any] | None = None,
        cwd: str | None = None,
        *,
        reference: Mapping[str, Any] | None = None,
        actor: str | None = None,
        session: str | None = None,
    ) -> Protection:
        """Take every snapshot the plan needs; `released` False (with why) otherwise."""
        ref = {k: v for k, v in (reference or {}).items() if v is not None}
        the_plan = self.plan(facts, options, cwd)
        if not the_plan.ok:
            reason = f"snapshot first: {the_plan.why_not()}"
            self._record("snapshot.refused", {**ref, "reason": reason}, actor, session, facts)
            return Protection(False, reason=reason + "; the action is not released")
        taken: list[Manifest] = []
        for item in the_plan.captures:
            assert item.capture is not None and item.store is not None
            store_settings = self.settings.store(item.store)
            try:
                if store_settings is None:
                    raise SnapshotError(f"store {item.store} is not configured")
                manifest = take(item.capture, driver_named(item.capture.driver),
                                self.stores(store_settings),
                                retention_seconds=self.settings.retention_for(
                                    item.capture.environment), clock=self.clock)
            except SnapshotError as exc:
                reason = f"snapshot first: {item.capture.describe()} failed: {exc}"
                self._record("snapshot.failed", {**ref, "reason": reason,
                                                 "taken": [m.id for m in taken]},
                             actor, session, facts)
                return Protection(False, tuple(taken), reason + "; the action is not released")
            taken.append(manifest)
            self._record("snapshot.taken", {**ref, **snapshot_record(manifest)}, actor, session,
                         facts)
        return Protection(True, tuple(taken))

    def before_delay_runs(self, delay: Any) -> None:
        """For the delay executor: take a delayed action's snapshots before it runs, or raise
        SnapshotError so it does not run."""
        decision = delay.decision if isinstance(delay.decision, Mapping) else {}
        if not decision.get("snapshot_first"):
            return
        action = delay.action if isinstance(delay.action, Mapping) else {}
        outcome = self.before_release(
            decision.get("facts") or {}, action.get("options"), action.get("cwd"),
            reference={"delay": delay.id, "digest": delay.digest}, session=delay.session,
        )
        if not outcome.released:
            raise SnapshotError(outcome.reason)

    def _record(self, type: str, data: dict[str, Any], actor: str | None,
                session: str | None, facts: Mapping[str, Any]) -> None:
        if self.audit is None:
            return
        self.audit.append(type, data, actor=actor, session=session,
                          environment=facts.get("environment"))


def snapshot_record(m: Manifest) -> dict[str, Any]:
    """What the audit log and the approval card keep of a snapshot."""
    return {"snapshot": m.id, "driver": m.driver, "scope": m.scope, "source": m.source,
            "tables": list(m.tables), "size": m.size, "store": m.store,
            "store_location": m.store_location, "retention_until": m.retention_until,
            "locked": m.locked, "warnings": list(m.warnings), "created_at": m.created_at}
