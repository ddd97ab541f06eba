"""Human approvals bound to one exact action.

An approval unlocks the action whose digest it carries, once. The digest covers the surface,
the normalised input, the working directory, the resolved targets and environment, the
session and the policy version, so any change to what would run (or to the rules that judged
it) needs a new request. The requesting identity can never approve its own request;
production may need several distinct approvers; one denial denies; no answer before the
deadline means no. Every state change is written to the audit log in the same transaction.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safehold.audit.log import AuditLog, canonical_json
from safehold.audit.recorder import action_payload
from safehold.audit.redact import redact
from safehold.config import ApprovalSettings
from safehold.errors import ApprovalClosed, ApprovalError, ApprovalNotFound, SelfApprovalError
from safehold.model import Action, Decision, Facts
from safehold.store.db import Store
from safehold.store.models import Approval as ApprovalRow
from safehold.store.models import ApprovalVote
from safehold.store.models import iso as _iso

Clock = Callable[[], datetime]
STATES = ("pending", "approved", "denied", "expired", "used")


def _normalised_input(action: Action) -> Any:
    if isinstance(action.input, str):
        return action.input.replace("\r\n", "\n").strip()
    data = dict(action.input)
    if action.kind == "http":
        if isinstance(data.get("method"), str):
            data["method"] = data["method"].upper()
        headers = data.get("headers")
        if isinstance(headers, Mapping):
            data["headers"] = {str(k).lower(): v for k, v in headers.items()}
    return json.loads(canonical_json(data))


def action_digest(
    action: Action, facts: Facts, environment: str | None, policy_version: str
) -> str:
    """SHA-256 naming exactly this action, where it runs and the policy that judged it."""
    targets = sorted((t.kind, t.name, t.environment or "", t.provider or "") for t in facts.targets)
    body = {
        "kind": action.kind,
        "input": _normalised_input(action),
        "options": dict(sorted((action.options or {}).items())),
        "cwd": action.cwd,
        "targets": targets,
        "environment": environment,
        "claimed_environment": action.environment,
        "session": action.session,
        "policy_version": policy_version,
    }
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def decision_digest(action: Action, decision: Decision) -> str:
    return action_digest(
        action,
        decision.facts,
        decision.facts.environment or action.environment,
        decision.policy_version,
    )


def same_identity(a: str | None, b: str | None) -> bool:
    """Identities compare without case or surrounding space: `Alice` may not approve `alice`."""
    return a is not None and b is not None and a.strip().casefold() == b.strip().casefold()


@dataclass(frozen=True, slots=True)
class Vote:
    approver: str
    verdict: str
    comment: str | None
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "approver": self.approver,
            "verdict": self.verdict,
            "comment": self.comment,
            "at": _iso(self.at),
        }


@dataclass(frozen=True, slots=True)
class Approval:
    """An approval request as approvers and surfaces see it."""

    id: str
    digest: str
    kind: str
    action: dict[str, Any]
    decision: dict[str, Any]
    stated_reason: str | None
    requester: str
    session: str | None
    environment: str | None
    state: str
    required_approvals: int
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    used_at: datetime | None
    votes: tuple[Vote, ...] = ()

    @property
    def agent(self) -> str | None:
        """The agent that asked, as recorded with the action."""
        value = self.action.get("agent")
        return value if isinstance(value, str) else None

    @property
    def approvers(self) -> tuple[str, ...]:
        return tuple(v.approver for v in self.votes if v.verdict == "approve")

    def expired_at(self, now: datetime) -> bool:
        return now >= self.expires_at

    def to_dict(self, base_url: str | None = None) -> dict[str, Any]:
        d = {
            "id": self.id,
            "digest": self.digest,
            "kind": self.kind,
            "action": self.action,
            "decision": self.decision,
            "stated_reason": self.stated_reason,
            "requester": self.requester,
            "session": self.session,
            "environment": self.environment,
            "state": self.state,
            "required_approvals": self.required_approvals,
            "approvals": len(self.approvers),
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at),
            "decided_at": _iso(self.decided_at),
            "used_at": _iso(self.used_at),
            "votes": [v.to_dict() for v in self.votes],
        }
        if base_url:
            d["url"] = approval_url(base_url, self.id)
        return d

    @classmethod
    def from_row(cls, row: ApprovalRow) -> Approval:
        return cls(
            id=row.id,
            digest=row.digest,
            kind=row.kind,
            action=json.loads(row.action),
            decision=json.loads(row.decision),
            stated_reason=row.stated_reason,
            requester=row.requester,
            session=row.session,
            environment=row.environment,
            state=row.state,
            required_approvals=row.required_approvals,
            created_at=row.created_at,
            expires_at=row.expires_at,
            decided_at=row.decided_at,
            used_at=row.used_at,
            votes=tuple(Vote(v.approver, v.verdict, v.comment, v.at) for v in row.votes),
        )


def approval_url(base_url: str, approval_id: str) -> str:
    return f"{base_url.rstrip('/')}/approvals/{approval_id}"


class ApprovalService:
    """Requests, votes, expiry and single use, all in serialised store transactions."""

    def __init__(
        self,
        store: Store,
        audit: AuditLog,
        settings: ApprovalSettings | None = None,
        *,
        protected: Iterable[str] = ("production", "prod"),
        clock: Clock | None = None,
    ):
        self.store = store
        self.audit = audit
        self.settings = settings or ApprovalSettings()
        self.protected = frozenset(protected)
        self._now = clock or (lambda: datetime.now(UTC))

    def required_for(self, environment: str | None) -> int:
        if environment in self.protected or environment in (None, "unknown"):
            return self.settings.production_approvers
        return 1

    # -- requests -----------------------------------------------------------------------------

    def request(
        self,
        action: Action,
        decision: Decision,
        requester: str,
        stated_reason: str | None = None,
        *,
        digest: str | None = None,
    ) -> Approval:
        """File a request for this exact action, or return the open one already filed."""
        return self.file(action, decision, requester, stated_reason, digest=digest)[0]

    def file(
        self,
        action: Action,
        decision: Decision,
        requester: str,
        stated_reason: str | None = None,
        *,
        digest: str | None = None,
    ) -> tuple[Approval, bool]:
        """`request`, also saying whether a new request was filed (True) or one re-used."""
        if not requester or not requester.strip():
            raise ApprovalError("an approval request needs a requester identity")
        digest = digest or decision_digest(action, decision)
        environment = decision.facts.environment or action.environment
        now = self._now()
        with self.store.write() as s:
            existing = s.scalars(
                select(ApprovalRow)
                .where(ApprovalRow.digest == digest, ApprovalRow.state.in_(("pending", "approved")))
                .where(ApprovalRow.expires_at > now)
                .order_by(ApprovalRow.created_at.desc())
                .limit(1)
            ).first()
            if existing is not None:
                return Approval.from_row(existing), False
            # redacted together: a secret cut from the command is cut from the reason too
            safe = redact(
                {
                    "action": action_payload(action),
                    "decision": decision.to_dict(),
                    "reason": stated_reason or None,
                }
            )
            row = ApprovalRow(
                id=f"ap_{secrets.token_hex(8)}",
                digest=digest,
                kind=action.kind,
                action=canonical_json(safe["action"]),
                decision=canonical_json(safe["decision"]),
                stated_reason=safe["reason"],
                requester=requester.strip(),
                session=action.session,
                environment=environment,
                state="pending",
                required_approvals=self.required_for(environment),
                created_at=now,
                expires_at=now + timedelta(seconds=self.settings.ttl_seconds),
            )
            s.add(row)
            s.flush()
            self._audit(
                s,
                "approval.requested",
                row,
                requester.strip(),
                stated_reason=safe["reason"],
                decision=decision.verdict.value,
            )
            return Approval.from_row(row), True

    def get(self, approval_id: str) -> Approval:
        with self.store.session() as s:
            row = s.get(ApprovalRow, approval_id)
            if row is None:
                raise ApprovalNotFound(f"no approval request {approval_id!r}")
            return Approval.from_row(row)

    def list(self, state: str | None = None, *, limit: int = 100) -> list[Approval]:
        if state is not None and state not in STATES:
            raise ApprovalError(f"unknown state {state!r}; expected one of {', '.join(STATES)}")
        q = select(ApprovalRow).order_by(ApprovalRow.created_at.desc()).limit(limit)
        if state is not None:
            q = q.where(ApprovalRow.state == state)
        with self.store.session() as s:
            return [Approval.from_row(r) for r in s.scalars(q).all()]

    # -- votes --------------------------------------------------------------------------------

    def vote(
        self,
        approval_id: str,
        approver: str,
        approve: bool,
        comment: str | None = None,
        *,
        via: str | None = None,
    ) -> Approval:
        """Record one approver's answer; the request is decided once enough agree or one denies.

        `approver` is the person (`user/NAME`) whatever the channel; `via` (e.g. the API token
        used) is recorded beside the vote, so a second token of the same person is the same
        voter and counts once."""
        if not approver or not approver.strip():
            raise ApprovalError("a vote needs an approver identity")
        approver = approver.strip()
        now = self._now()
        refusal: str | None = None
        try:
            with self.store.write() as s:
                row = s.get(ApprovalRow, approval_id)
                if row is None:
                    raise ApprovalNotFound(f"no approval request {approval_id!r}")
                if row.state == "pending" and now >= row.expires_at:
                    self._expire(s, row, now)
                    refusal = "expired"
                elif same_identity(row.requester, approver):
                    refusal = "requester"
                elif row.state != "pending":
                    refusal = row.state
                elif any(same_identity(v.approver, approver) for v in row.votes):
                    refusal = "already-voted"
                else:
                    verdict = "approve" if approve else "deny"
                    s.add(
                        ApprovalVote(
                            approval_id=row.id,
                            approver=approver,
                            verdict=verdict,
                            comment=comment,
                            at=now,
                        )
                    )
                    s.flush()
                    s.refresh(row)
                    self._audit(
                        s, "approval.vote", row, approver, verdict=verdict, comment=comment,
                        via=via,
                    )
                    approvals = sum(1 for v in row.votes if v.verdict == "approve")
                    if not approve:
                        row.state, row.decided_at = "denied", now
                        self._audit(s, "approval.denied", row, approver)
                    elif approvals >= row.required_approvals:
                        row.state, row.decided_at = "approved", now
                        self._audit(s, "approval.approved", row, approver)
                    s.flush()
                    return Approval.from_row(row)
        except IntegrityError as exc:
            raise ApprovalError(f"{approver} has already voted on {approval_id}") from exc
        self.audit.append(
            "approval.vote_refused",
            {"approval": approval_id, "approver": approver, "why": refusal,
             **({"via": via} if via else {})},
            actor=approver,
        )
        if refusal == "requester":
            raise SelfApprovalError(
                f"{approver} requested {approval_id} and cannot approve or deny it"
            )
        if refusal == "already-voted":
            raise ApprovalError(f"{approver} has already voted on {approval_id}")
        raise ApprovalClosed(f"approval {approval_id} is {refusal}; it can no longer be voted on")

    # -- expiry and use -----------------------------------------------------------------------

    def expire_due(self) -> builtins.list[Approval]:
        """Close every request (pending, or approved but unused) whose deadline has passed."""
        now = self._now()
        with self.store.write() as s:
            rows = s.scalars(
                select(ApprovalRow).where(
                    ApprovalRow.state.in_(("pending", "approved")), ApprovalRow.expires_at <= now
                )
            ).all()
            for row in rows:
                self._expire(s, row, now)
            return [Approval.from_row(r) for r in rows]

    def consume(
        self, digest: str, *, requester: str | None = None, session: str | None = None
    ) -> Approval | None:
        """Use the granted approval for exactly this digest, once; None when there is none."""
        now = self._now()
        with self.store.write() as s:
            candidates = s.scalars(
                select(ApprovalRow)
                .where(ApprovalRow.digest == digest, ApprovalRow.state == "approved")
                .where(ApprovalRow.used_at.is_(None), ApprovalRow.expires_at > now)
                .order_by(ApprovalRow.decided_at)
            ).all()
            for row in candidates:
                if requester is not None and not same_identity(row.requester, requester):
                    continue
                if session is not None and row.session is not None and row.session != session:
                    continue
                done = s.execute(
                    update(ApprovalRow)
                    .where(
                        ApprovalRow.id == row.id,
                        ApprovalRow.state == "approved",
                        ApprovalRow.used_at.is_(None),
                    )
                    .values(state="used", used_at=now)
                    .execution_options(synchronize_session=False)
                )
                if cast(CursorResult[Any], done).rowcount != 1:
                    continue
                s.refresh(row)
                self._audit(
                    s,
                    "approval.used",
                    row,
                    requester or row.requester,
                    approvers=[v.approver for v in row.votes if v.verdict == "approve"],
                )
                return Approval.from_row(row)
        return None

    def _expire(self, s: Session, row: ApprovalRow, now: datetime) -> None:
        was = row.state
        row.state, row.decided_at = "expired", row.decided_at or now
        s.flush()
        self._audit(s, "approval.expired", row, None, previous_state=was)

    def _audit(
        self, s: Session, type: str, row: ApprovalRow, actor: str | None, **extra: Any
    ) -> None:
        payload = {
            "approval": row.id,
            "digest": row.digest,
            "state": row.state,
            "kind": row.kind,
            "requester": row.requester,
            "required_approvals": row.required_approvals,
            "expires_at": _iso(row.expires_at),
            **{k: v for k, v in extra.items() if v is not None},
        }
        if type == "approval.requested":
            payload["action"] = json.loads(row.action)
        self.audit.append(
            type, payload, within=s, actor=actor, session=row.session, environment=row.environment
        )
