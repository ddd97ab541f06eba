"""Each statement a client sends becomes an `sql` Action decided on the one path.

A Query may hold several statements; each is judged on its own (so the audit shows each), and
if any is refused none of them is forwarded. Text larger than the limit is not split: it goes
to the decision path whole, where the analyser's own size limit (the same number) makes it an
unknown, which is at least ask — the parser never gets unbounded work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from safehold.model import Action, Decision, Verdict
from safehold.pgproxy.auth import Client
from safehold.surfaces import messages

log = logging.getLogger(__name__)

#: SQLSTATE of a refusal: insufficient_privilege, which every client reports as an error
#: the program did not have the right to run, not as a broken connection.
REFUSED = "42501"
#: SQLSTATE when safehold itself failed: internal_error.
FAILED = "XX000"


@dataclass(frozen=True, slots=True)
class Session:
    """Who is on the other end of one client connection, as the audit records it."""

    client: Client
    user: str
    application_name: str
    address: str
    database: str

    @property
    def key(self) -> str:
        """Stable across reconnects, so a statement approved for this token passes on retry."""
        return f"pgproxy/{self.client.name}"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a statement did not run, as the ErrorResponse fields say it."""

    message: str
    detail: str = ""
    code: str = REFUSED
    #: The approval request a held statement waits on, and where a human answers it.
    approval_id: str | None = None
    approval_url: str | None = None


#: Takes a snapshot of what an allowed statement is about to change; raises when it cannot.
Snapshotter = Callable[[Action, Decision], None]


class StatementJudge:
    """Judges SQL for one upstream database with `Safehold.evaluate` (audit, approvals).

    A decision that requires a snapshot first runs only after `snapshot` succeeded; with no
    snapshot driver configured such a statement is refused, never run unprotected."""

    def __init__(self, safehold: Any, *, environment: str, max_statement_bytes: int,
                 snapshot: Snapshotter | None = None):
        self.safehold = safehold
        self.snapshot = snapshot
        self.environment = environment
        self.max_statement_bytes = max_statement_bytes

    def judge(self, sql: str, session: Session) -> Refusal | None:
        """None when every statement of `sql` is allowed; else the refusal. Never raises:
        a failure to judge is a refusal."""
        try:
            for piece in self.statements(sql):
                refusal = self._judge_one(piece, session)
                if refusal is not None:
                    return refusal
            return None
        except Exception as exc:  # fail closed: nothing unjudged is forwarded
            log.exception("judging a statement failed")
            text = messages.failure(f"{type(exc).__name__}: {exc}")
            first, _, rest = text.partition("\n")
            return Refusal(first, rest, FAILED)

    def statements(self, sql: str) -> list[str]:
        """The statements to judge: the scanner's split, or the whole text when it is over the
        limit (so that the decision path calls it unknown)."""
        if len(sql.encode("utf-8", "replace")) > self.max_statement_bytes:
            return [sql]
        from safehold.analysis.sql.pg_native import split_statements

        pieces = [p.strip() for p in split_statements(sql)]
        pieces = [p for p in pieces if p and p != ";"]
        return pieces or [sql]

    def action(self, sql: str, session: Session) -> Action:
        return Action(
            "sql",
            sql,
            session=session.key,
            environment=self.environment,
            agent=session.application_name or "pg-proxy",
            options={"dialect": "postgres", "database": session.database},
        )

    def _judge_one(self, sql: str, session: Session) -> Refusal | None:
        action = self.action(sql, session)
        permit = session.client.permit
        if permit is not None:
            # what the capability grants bounds what may even be asked (as on the gateway):
            # expired, revoked or too weak refuses before policy files an approval
            why = permit(self.safehold.guard.analyze(action).effect)
            if why is not None:
                return self._not_permitted(action, sql, session, why)
        evaluation = self.safehold.evaluate(action, requester=session.client.identity)
        decision = evaluation.decision
        if decision.verdict is Verdict.ALLOW:
            refusal = self._snapshot_first(action, decision)
            if refusal is not None:
                self.safehold.audit.append(
                    "pgproxy.snapshot-refused",
                    {"sql": sql, "session": session.key, "reason": refusal.message},
                    actor=session.client.identity,
                )
            return refusal
        if decision.verdict is Verdict.ASK:
            hold = None
            if evaluation.approval is not None:
                info = evaluation.to_dict()["approval"]
                hold = messages.Hold(
                    id=info["id"], state=info["state"], url=info["url"],
                    expires_at=info["expires_at"],
                )
            text = messages.needs_approval(action, decision, hold)
            first, _, rest = text.partition("\n")
            if hold is not None and hold.state == "pending":
                return Refusal(first, rest, approval_id=hold.id, approval_url=hold.url)
            return Refusal(first, rest)
        elif decision.verdict is Verdict.DELAY:
            text = messages.delayed(action, decision.reasons)
        else:
            text = messages.refused(action, decision)
        first, _, rest = text.partition("\n")
        return Refusal(first, rest)

    def approval_state(self, approval_id: str) -> str:
        """The state of an approval request (pending, approved, denied, expired, used)."""
        return str(self.safehold.approvals.get(approval_id).state)

    def _not_permitted(self, action: Action, sql: str, session: Session, why: str) -> Refusal:
        self.safehold.audit.append(
            "pgproxy.capability-refused", {"sql": sql, "session": session.key, "reason": why},
            actor=session.client.identity, environment=self.environment,
        )
        return Refusal(
            f"safehold refused this {messages.describe(action)}: {why}",
            "Nothing ran. Ask the user for a capability that covers it (safehold env).",
        )

    def _snapshot_first(self, action: Action, decision: Decision) -> Refusal | None:
        if not decision.snapshot_first:
            return None
        if self.snapshot is None:
            return Refusal(
                f"safehold refused this {messages.describe(action)}: policy requires a snapshot "
                "before it runs, and this proxy has no snapshot driver configured",
                "Nothing ran. Ask the user to take a backup and run it themselves.",
            )
        try:
            self.snapshot(action, decision)
        except Exception as exc:
            return Refusal(
                f"safehold refused this {messages.describe(action)}: the snapshot policy "
                f"requires before it runs failed ({type(exc).__name__}: {exc})",
                "Nothing ran. Ask the user to check the snapshot store.",
            )
        return None
