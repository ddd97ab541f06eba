"""What a decision looks like in the audit log, and the recorder the Guard calls.

One payload shape for every surface, so `audit tail` and the dashboard read decisions from a
hook, the MCP proxy or a gateway the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from safehold.audit.log import AuditLog, Recheck
from safehold.model import Action, Decision


def action_payload(action: Action) -> dict[str, Any]:
    d: dict[str, Any] = {
        "kind": action.kind,
        "input": action.input if isinstance(action.input, str) else dict(action.input),
        "cwd": action.cwd,
        "claimed_environment": action.environment,
        "agent": action.agent,
        "session": action.session,
    }
    if action.options:
        d["options"] = dict(action.options)
    return d


def decision_payload(action: Action, decision: Decision, **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"action": action_payload(action), "decision": decision.to_dict()}
    payload.update({k: v for k, v in extra.items() if v is not None})
    return payload


def record_decision(
    audit: AuditLog,
    action: Action,
    decision: Decision,
    *,
    actor: str | None = None,
    tool_use_id: str | None = None,
    parent_session: str | None = None,
    event: str = "decision",
    recheck: Recheck | None = None,
    **extra: Any,
) -> None:
    """`event` is `decision`, or `decision.probe` for a health check's (not an agent's) call."""
    audit.append(
        event,
        decision_payload(action, decision, **extra),
        recheck=recheck,
        actor=actor,
        agent=action.agent,
        session=action.session,
        tool_use_id=tool_use_id,
        parent_session=parent_session,
        environment=decision.facts.environment or action.environment,
        decision=decision.verdict.value,
    )


def recorder_for(audit: AuditLog) -> Callable[[Action, Decision], None]:
    """The `(Action, Decision) -> None` callable `Guard.load(recorder=…)` expects."""

    def record(action: Action, decision: Decision) -> None:
        record_decision(audit, action, decision)

    return record
