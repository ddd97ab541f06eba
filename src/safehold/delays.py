"""Delayed actions: a durable queue with a grace period, cancel and run-now.

Two honest semantics. For an action safehold does not run itself (a shell command an agent's
hook asked about), the delay cannot hold the command; instead the identical action (same
digest) is *released* once when the agent tries it again after the grace period and before
the release window closes, unless someone cancelled it. For an action safehold runs itself
(a gateway call), `run_due(executor)` runs it when due. All state is in the store, so a
restart loses nothing, and every change is audited in the same transaction.

States: pending -> cancelled | released | running -> executed | failed; pending -> expired when
nobody came back for it within the release window.
"""

from __future__ import annotations

import builtins
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from safehold.approvals import decision_digest
from safehold.audit.log import AuditLog, canonical_json
from safehold.audit.recorder import action_payload
from safehold.audit.redact import redact
from safehold.config import DelaySettings
from safehold.errors import DelayError, DelayNotFound
from safehold.model import Action, Decision
from safehold.store.db import Store
from safehold.store.models import Delay as DelayRow
from safehold.store.models import iso as _iso

Clock = Callable[[], datetime]
STATES = ("pending", "cancelled", "released", "running", "executed", "failed", "expired")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delay:
    id: str
    digest: str
    kind: str
    action: dict[str, Any]
    decision: dict[str, Any]
    requester: str
    session: str | None
    environment: str | None
    state: str
    created_at: datetime
    run_at: datetime
    cancelled_at: datetime | None
    cancelled_by: str | None
    released_at: datetime | None
    executed_at: datetime | None
    result: str | None

    @property
    def agent(self) -> str | None:
        """The agent that asked, as recorded with the action."""
        value = self.action.get("agent")
        return value if isinstance(value, str) else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "digest": self.digest,
            "kind": self.kind,
            "action": self.action,
            "decision": self.decision,
            "requester": self.requester,
            "session": self.session,
            "environment": self.environment,
            "state": self.state,
            "created_at": _iso(self.created_at),
            "run_at": _iso(self.run_at),
            "cancelled_at": _iso(self.cancelled_at),
            "cancelled_by": self.cancelled_by,
            "released_at": _iso(self.released_at),
            "executed_at": _iso(self.executed_at),
            "result": self.result,
        }

    @classmethod
    def from_row(cls, row: DelayRow) -> Delay:
        return cls(
            id=row.id,
            digest=row.digest,
            kind=row.kind,
            action=json.loads(row.action),
            decision=json.loads(row.decision),
            requester=row.requester,
            session=row.session,
            environment=row.environment,
            state=row.state,
            created_at=row.created_at,
            run_at=row.run_at,
            cancelled_at=row.cancelled_at,
            cancelled_by=row.cancelled_by,
            released_at=row.released_at,
            executed_at=row.executed_at,
            result=row.result,
        )


class DelayService:
    """Hold, list, cancel, run-now, release and execute delayed actions."""

    def __init__(
        self,
        store: Store,
        audit: AuditLog,
        settings: DelaySettings | None = None,
        *,
        clock: Clock | None = None,
        before_run: Callable[[Delay], Any] | None = None,
    ):
        self.store = store
        self.audit = audit
        self.settings = settings or DelaySettings()
        self._now = clock or (lambda: datetime.now(UTC))
        self.before_run = before_run

    def hold(
        self, action: Action, decision: Decision, requester: str, *, digest: str | None = None
    ) -> Delay:
        """Queue this action (or return the pending delay already queued for the same digest)."""
        return self.file(action, decision, requester, digest=digest)[0]

    def file(
        self, action: Action, decision: Decision, requester: str, *, digest: str | None = None
    ) -> tuple[Delay, bool]:
        """`hold`, also saying whether a new delay was queued (True) or one re-used."""
        if not requester or not requester.strip():
            raise DelayError("a delayed action needs a requester identity")
        digest = digest or decision_digest(action, decision)
        seconds = decision.delay_seconds or self.settings.default_seconds
        if seconds <= 0:
            raise DelayError(f"a delay must be positive, got {seconds} seconds")
        now = self._now()
        with self.store.write() as s:
            existing = s.scalars(
                select(DelayRow)
                .where(DelayRow.digest == digest, DelayRow.state == "pending")
                .order_by(DelayRow.created_at.desc())
                .limit(1)
            ).first()
            if existing is not None and not self._lapsed(existing, now):
                return Delay.from_row(existing), False
            row = DelayRow(
                id=f"dl_{secrets.token_hex(8)}",
                digest=digest,
                kind=action.kind,
                action=canonical_json(redact(action_payload(action))),
                decision=canonical_json(redact(decision.to_dict())),
                requester=requester.strip(),
                session=action.session,
                environment=decision.facts.environment or action.environment,
                state="pending",
                created_at=now,
                run_at=now + timedelta(seconds=seconds),
            )
            s.add(row)
            s.flush()
            self._audit(s, "delay.created", row, requester.strip(), seconds=seconds)
            return Delay.from_row(row), True

    def get(self, delay_id: str) -> Delay:
        with self.store.session() as s:
            row = s.get(DelayRow, delay_id)
            if row is None:
                raise DelayNotFound(f"no delayed action {delay_id!r}")
            return Delay.from_row(row)

    def list(self, state: str | None = None, *, limit: int = 100) -> builtins.list[Delay]:
        if state is not None and state not in STATES:
            raise DelayError(f"unknown state {state!r}; expected one of {', '.join(STATES)}")
        q = select(DelayRow).order_by(DelayRow.run_at.desc()).limit(limit)
        if state is not None:
            q = q.where(DelayRow.state == state)
        with self.store.session() as s:
            return [Delay.from_row(r) for r in s.scalars(q).all()]

    def cancel(self, delay_id: str, by: str) -> Delay:
        """Stop a pending delayed action for good."""
        now = self._now()
        with self.store.write() as s:
            row = self._pending(s, delay_id, "cancel")
            row.state, row.cancelled_at, row.cancelled_by = "cancelled", now, by
            s.flush()
            self._audit(s, "delay.cancelled", row, by)
            return Delay.from_row(row)

    def run_now(self, delay_id: str, by: str) -> Delay:
        """End the grace period now: the action becomes due (released or executed next)."""
        now = self._now()
        with self.store.write() as s:
            row = self._pending(s, delay_id, "run now")
            previous = row.run_at
            row.run_at = now
            s.flush()
            self._audit(s, "delay.run_now", row, by, previous_run_at=_iso(previous))
            return Delay.from_row(row)

    def due(self) -> builtins.list[Delay]:
        now = self._now()
        with self.store.session() as s:
            rows = s.scalars(
                select(DelayRow)
                .where(DelayRow.state == "pending", DelayRow.run_at <= now)
                .order_by(DelayRow.run_at)
            ).all()
            return [Delay.from_row(r) for r in rows if not self._lapsed(r, now)]

    def release(self, digest: str, *, session: str | None = None) -> Delay | None:
        """Let the identical action through once, if its grace period is over and nobody
        cancelled it; None otherwise (still waiting, cancelled, already released, lapsed)."""
        now = self._now()
        with self.store.write() as s:
            rows = s.scalars(
                select(DelayRow)
                .where(DelayRow.digest == digest, DelayRow.state == "pending")
                .where(DelayRow.run_at <= now)
                .order_by(DelayRow.run_at)
            ).all()
            for row in rows:
                if self._lapsed(row, now):
                    self._close(s, row, "expired")
                    continue
                if session is not None and row.session is not None and row.session != session:
                    continue
                if not self._flip(s, row, "pending", "released", released_at=now):
                    continue
                self._audit(s, "delay.released", row, row.requester)
                return Delay.from_row(row)
        return None

    def pending_for(self, digest: str) -> Delay | None:
        with self.store.session() as s:
            row = s.scalars(
                select(DelayRow)
                .where(DelayRow.digest == digest, DelayRow.state == "pending")
                .order_by(DelayRow.created_at.desc())
                .limit(1)
            ).first()
            return Delay.from_row(row) if row else None

    def run_due(
        self,
        executor: Callable[[Delay], Any],
        *,
        runs: Callable[[Delay], bool] | None = None,
    ) -> builtins.list[Delay]:
        """Execute every due delayed action safehold runs itself, each exactly once.

        `runs` says which due delays this executor runs (a gateway runs the requests it
        queued, and leaves a hook's delays to be released when the agent comes back).
        Each is claimed (pending -> running) in its own transaction before it runs, so two
        workers never run the same action; the outcome is recorded as executed or failed.
        `before_run` (the snapshot-first check) goes first; when it raises, the action does
        not run and is recorded as failed with the reason."""
        done = []
        for delay in self.due():
            if runs is not None and not runs(delay):
                continue
            with self.store.write() as s:
                row = s.get(DelayRow, delay.id)
                if row is None or not self._flip(s, row, "pending", "running"):
                    continue
                self._audit(s, "delay.running", row, None)
                claimed = Delay.from_row(row)
            try:
                if self.before_run is not None:
                    self.before_run(claimed)
                outcome = executor(claimed)
                state, result = "executed", _describe(outcome)
            except Exception as exc:  # the queue outlives one failed action
                log.exception("delayed action %s failed", claimed.id)
                state, result = "failed", f"{type(exc).__name__}: {exc}"
            with self.store.write() as s:
                row = s.get(DelayRow, delay.id)
                assert row is not None
                row.state, row.executed_at, row.result = state, self._now(), result
                s.flush()
                self._audit(s, f"delay.{state}", row, None, result=result)
                done.append(Delay.from_row(row))
        return done

    def expire_lapsed(self) -> builtins.list[Delay]:
        """Close due delays nobody came back for within the release window."""
        now = self._now()
        closed = []
        with self.store.write() as s:
            rows = s.scalars(select(DelayRow).where(DelayRow.state == "pending")).all()
            for row in rows:
                if self._lapsed(row, now):
                    self._close(s, row, "expired")
                    closed.append(Delay.from_row(row))
        return closed

    # -- internals ----------------------------------------------------------------------------

    def _lapsed(self, row: DelayRow, now: datetime) -> bool:
        return now >= row.run_at + timedelta(seconds=self.settings.release_window_seconds)

    def _pending(self, s: Session, delay_id: str, verb: str) -> DelayRow:
        row = s.get(DelayRow, delay_id)
        if row is None:
            raise DelayNotFound(f"no delayed action {delay_id!r}")
        if row.state != "pending":
            raise DelayError(f"cannot {verb} {delay_id}: it is {row.state}")
        return row

    def _flip(self, s: Session, row: DelayRow, old: str, new: str, **values: Any) -> bool:
        result = s.execute(
            update(DelayRow)
            .where(DelayRow.id == row.id, DelayRow.state == old)
            .values(state=new, **values)
            .execution_options(synchronize_session=False)
        )
        if cast(CursorResult[Any], result).rowcount != 1:
            return False
        s.refresh(row)
        return True

    def _close(self, s: Session, row: DelayRow, state: str) -> None:
        row.state = state
        s.flush()
        self._audit(s, f"delay.{state}", row, None)

    def _audit(self, s: Session, type: str, row: DelayRow, actor: str | None, **extra: Any) -> None:
        payload = {
            "delay": row.id,
            "digest": row.digest,
            "state": row.state,
            "kind": row.kind,
            "requester": row.requester,
            "run_at": _iso(row.run_at),
            **{k: v for k, v in extra.items() if v is not None},
        }
        if type == "delay.created":
            payload["action"] = json.loads(row.action)
        self.audit.append(
            type, payload, within=s, actor=actor, session=row.session, environment=row.environment
        )


def _describe(outcome: Any) -> str | None:
    if outcome is None:
        return None
    text = outcome if isinstance(outcome, str) else json.dumps(outcome, default=str)
    return text[:4000]
