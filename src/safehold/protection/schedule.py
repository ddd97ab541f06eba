"""Scheduled backups and drills, run by the server, with alerts.

For each `[[snapshots.schedules]]` entry: take a snapshot when the newest copy in the
resource's store is older than `every`; drill the newest copy when the last drill is older
than `drill_every`; and alert (webhook `backup.rpo-exceeded`) when the newest independent
copy is older than `rpo`, at most once per `rpo` period. A failed drill alerts
`drill.failed`, a failed scheduled snapshot `snapshot.failed`. Everything is audited.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from safehold.errors import SafeholdError
from safehold.protection.drill import newest, run_drill
from safehold.protection.drivers import driver_named
from safehold.protection.first import snapshot_record
from safehold.protection.interface import SnapshotStore, display_source
from safehold.protection.plan import capture_of_source
from safehold.protection.posture import age_label
from safehold.protection.settings import ScheduleSettings, SnapshotSettings, StoreSettings
from safehold.protection.snapshot import take
from safehold.protection.stores import open_store

log = logging.getLogger(__name__)
MIN_INTERVAL = 60.0


class Scheduler:
    def __init__(
        self,
        settings: SnapshotSettings,
        inventory: Any,
        audit: Any,
        notifier: Any,
        *,
        clock: Callable[[], datetime] | None = None,
        min_interval: float = MIN_INTERVAL,
        stores: Callable[[StoreSettings], SnapshotStore] = open_store,
    ):
        self.settings = settings
        self.inventory = inventory
        self.audit = audit
        self.notifier = notifier
        self._now = clock or (lambda: datetime.now(UTC))
        self.min_interval = min_interval
        self.stores = stores
        self._last = -float("inf")

    def tick(self, *, force: bool = False) -> dict[str, int]:
        """Run what is due; cheap when nothing is (at most one pass per `min_interval`)."""
        counts = {"snapshots_taken": 0, "drills_run": 0, "alerts": 0}
        if not self.settings.schedules:
            return counts
        if not force and time.monotonic() - self._last < self.min_interval:
            return counts
        self._last = time.monotonic()
        for sched in self.settings.schedules:
            try:
                self._one(sched, counts)
            except Exception:  # one broken schedule must not stop the others
                log.exception("schedule for %s failed", sched.resource)
        return counts

    def _one(self, sched: ScheduleSettings, counts: dict[str, int]) -> None:
        capture = capture_of_source(sched.resource, self.inventory)
        shown = display_source(capture.source)
        store_settings = self.settings.store_for(capture.environment)
        if store_settings is None:
            self._alert("backup.rpo-exceeded", sched, f"no snapshot store is configured for "
                        f"{shown}: there is no copy", counts)
            return
        store = self.stores(store_settings)
        found = newest([store], shown)
        age = None if found is None else self._age(found[1].created_at)
        if sched.every_seconds and (age is None or age >= sched.every_seconds):
            try:
                manifest = take(capture, driver_named(capture.driver), store,
                                retention_seconds=self.settings.retention_for(
                                    capture.environment), clock=self._now)
            except SafeholdError as exc:
                self.audit.append("snapshot.failed", {"resource": shown, "scheduled": True,
                                                      "reason": str(exc)},
                                  environment=capture.environment)
                self.notifier.backup_alert("snapshot.failed", f"*Scheduled snapshot failed* "
                                           f"for {shown}: {exc}", shown)
                counts["alerts"] += 1
            else:
                self.audit.append("snapshot.taken", {**snapshot_record(manifest),
                                                     "scheduled": True},
                                  environment=capture.environment)
                counts["snapshots_taken"] += 1
                found, age = (store, manifest), self._age(manifest.created_at)
        if sched.rpo_seconds and (age is None or age > sched.rpo_seconds):
            what = "no copy at all" if age is None else f"the newest copy is {age_label(age)} old"
            self._alert("backup.rpo-exceeded", sched, f"*RPO exceeded* for {shown}: {what} "
                        f"(limit {age_label(sched.rpo_seconds)})", counts)
        if sched.drill_every_seconds and found is not None:
            last = self._last_drill(shown)
            if last is None or self._age(last) >= sched.drill_every_seconds:
                result = run_drill(found[0], found[1], connect_url=capture.source
                                   if capture.driver == "postgresql" else None,
                                   query=sched.query, now=self._now)
                self.audit.append("drill.completed" if result.ok else "drill.failed",
                                  {**result.to_dict(), "scheduled": True},
                                  environment=capture.environment)
                counts["drills_run"] += 1
                if not result.ok:
                    self.notifier.backup_alert("drill.failed", f"*Restore drill failed* for "
                                               f"{shown} ({result.snapshot}): {result.error}",
                                               shown)
                    counts["alerts"] += 1

    def _age(self, iso: str) -> float:
        return (self._now() - datetime.fromisoformat(iso)).total_seconds()

    def _last_drill(self, shown: str) -> str | None:
        entries = self.audit.tail(200, type="drill.completed") + self.audit.tail(
            200, type="drill.failed")
        times = [e.ts.isoformat() for e in entries if e.data.get("source") == shown]
        return max(times, default=None)

    def _alert(self, event: str, sched: ScheduleSettings, text: str,
               counts: dict[str, int]) -> None:
        """Alert, and audit it; once per `rpo` period for the same resource."""
        shown = display_source(sched.resource)
        window = sched.rpo_seconds or sched.every_seconds or 86400
        for e in self.audit.tail(50, type=event):
            if e.data.get("resource") == shown and self._age(e.ts.isoformat()) < window:
                return
        self.audit.append(event, {"resource": shown, "text": text})
        self.notifier.backup_alert(event, text, shown)
        counts["alerts"] += 1
