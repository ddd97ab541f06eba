"""The calls the API and the dashboard make on the Safehold facade, in one place.

Both surfaces list, vote, cancel and read the audit the same way; this module is where the
facade's errors become an HTTP status with a sentence a person can act on, so neither surface
can drift into its own interpretation of "already decided" or "not yours to approve".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from safehold.config import Config, EnvironmentSettings
from safehold.errors import (
    ApprovalError,
    ApprovalNotFound,
    DelayError,
    DelayNotFound,
    SelfApprovalError,
)
from safehold.server.accounts import Principal
from safehold.server.views import action_text, as_mapping, snapshot_view
from safehold.store.models import AuditRecord


class ControlError(Exception):
    """A request the facade refused; `status` is the HTTP status that describes it."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def counts(sh: Any) -> dict[str, int]:
    return {
        "pending": len(approvals(sh, "pending")),
        "delays": len(delays(sh, "pending")),
    }


# approvals -----------------------------------------------------------------------------------


def approvals(sh: Any, state: str | None, limit: int = 200) -> list[Any]:
    return list(sh.approvals.list(state, limit=limit))


def recent_approvals(sh: Any, n: int) -> list[Any]:
    decided = [a for a in sh.approvals.list(None, limit=n + 50) if a.state != "pending"]
    decided.sort(key=lambda a: a.decided_at or a.created_at, reverse=True)
    return decided[:n]


def approval(sh: Any, approval_id: str) -> Any:
    try:
        return sh.approvals.get(approval_id)
    except ApprovalError as exc:
        raise ControlError(_status_of(exc), str(exc)) from exc


def vote(sh: Any, approval_id: str, who: Principal, verdict: str, comment: str | None) -> Any:
    """Cast `who`'s approve/deny vote; 403 for the requester, 409 when no longer pending."""
    try:
        return sh.vote(approval_id, who.identity, verdict == "approve", comment, via=who.via)
    except ApprovalError as exc:
        raise ControlError(_status_of(exc), str(exc)) from exc


# delays --------------------------------------------------------------------------------------


def delays(sh: Any, state: str | None) -> list[Any]:
    return list(sh.delays.list(state))


def delay(sh: Any, delay_id: str) -> Any:
    try:
        return sh.delays.get(delay_id)
    except DelayError as exc:
        raise ControlError(_status_of(exc), str(exc)) from exc


def delay_verb(sh: Any, delay_id: str, verb: str, who: Principal) -> Any:
    """Cancel or run-now a held action; 409 when it is no longer held."""
    try:
        if verb == "cancel":
            return sh.delays.cancel(delay_id, who.identity)
        return sh.delays.run_now(delay_id, who.identity)
    except DelayError as exc:
        raise ControlError(_status_of(exc), str(exc)) from exc


def with_snapshots(sh: Any, views: list[Any]) -> list[Any]:
    """Fill in each snapshot-first card's snapshot line: the snapshots taken for it (from the
    audit log), else the failure, else what will be captured before release, else why nothing
    can be — and then the action is not released."""
    wanted = {v.id: v for v in views if v.snapshot_first}
    if not wanted:
        return views
    events: dict[str, list[dict[str, Any]]] = {}
    q = (
        select(AuditRecord.type, AuditRecord.payload)
        .where(AuditRecord.type.in_(("snapshot.taken", "snapshot.failed", "snapshot.refused")))
        .order_by(AuditRecord.seq.desc())
        .limit(2000)
    )
    with sh.store.session() as s:
        for type_, payload in s.execute(q):
            data = dict(as_mapping(payload))
            for key in ("approval", "delay"):
                ref = data.get(key)
                if isinstance(ref, str) and ref in wanted:
                    events.setdefault(ref, []).insert(0, {**data, "type": type_})
    for vid, view in wanted.items():
        plan = sh.snapshot_first.plan(view.facts, view.options, view.cwd)
        view.snapshot = snapshot_view(plan, events.get(vid, []))
    return views


def with_agents(sh: Any, views: list[Any]) -> list[Any]:
    """Fill in which agent filed each approval or delay, and a delay's stated reason.

    Approvals keep the agent's reason but delays keep neither it nor (always) the agent's
    name; the decision record that filed them holds both, so one bounded read of the audit
    log completes a whole page."""
    from safehold.server.reveal import summarize

    wanted = {v.id for v in views if not v.agent or (_is_delay(v) and not v.stated_reason)}
    if not wanted:
        return views
    requesters = {v.requester for v in views if v.id in wanted}
    q = (
        select(AuditRecord.agent, AuditRecord.payload)
        .where(AuditRecord.type == "decision")
        .where(AuditRecord.actor.in_(requesters))
        .order_by(AuditRecord.seq.desc())
        .limit(5000)
    )
    agents: dict[str, str] = {}
    reasons: dict[str, str] = {}
    with sh.store.session() as s:
        for agent, payload in s.execute(q):
            data = as_mapping(payload)
            for key in ("approval", "delay"):
                ref = data.get(key)
                if not isinstance(ref, str) or ref not in wanted:
                    continue
                # newest first: the filing record is the oldest, so later rows overwrite
                if agent:
                    agents[ref] = agent
                reason = data.get("stated_reason")
                if isinstance(reason, str) and reason:
                    reasons[ref] = reason
    for v in views:
        v.agent = v.agent or agents.get(v.id)
        if not v.stated_reason and v.id in reasons:
            v.stated_reason = reasons[v.id]
            v.hidden_chars = v.hidden_chars + summarize(
                [("the agent's reason", v.stated_reason, False)])
    return views


def _is_delay(view: Any) -> bool:
    return hasattr(view, "run_at")


# audit ---------------------------------------------------------------------------------------


def audit_entries(sh: Any, *, limit: int, **filters: str | None) -> list[Any]:
    return list(sh.audit.tail(limit, **{k: v for k, v in filters.items() if v}))


def audit_rows(
    sh: Any, protected: frozenset[str], *, limit: int, **filters: str | None
) -> list[dict[str, Any]]:
    """Newest first, each with a one-line summary of what happened."""
    rows = []
    for e in reversed(audit_entries(sh, limit=limit, **filters)):
        rows.append(
            {
                "seq": e.seq,
                "date": e.ts.strftime("%Y-%m-%d"),
                "time": e.ts.strftime("%H:%M:%S"),
                "type": e.type,
                "actor": e.actor,
                "agent": e.agent,
                "session": e.session,
                "environment": e.environment,
                "prod": e.environment in protected,
                "decision": e.decision,
                "summary": summarize(e.type, as_mapping(e.payload)),
            }
        )
    return rows


def summarize(kind: str, payload: Mapping[str, Any]) -> str:
    """A readable line for an audit payload, whatever event wrote it."""
    action = as_mapping(payload.get("action"))
    text = action_text(action["input"], one_line=True) if action.get("input") else None
    parts = []
    if text:
        parts.append(_clip(str(text), 200))
    if kind == "config.loaded":
        source = payload.get("config_path") or "built-in defaults"
        return f"policy {payload.get('policy_version') or '?'} from {source}"
    for key in ("approval", "delay", "verdict", "comment", "why", "stated_reason", "detail",
                "user", "by"):
        value = payload.get(key)
        if value:
            parts.append(f"{key.replace('_', ' ')}: {_clip(str(value), 200)}")
    if not parts:
        parts.append(_clip(_compact(dict(payload)), 200) if payload else kind)
    return " · ".join(parts)


def verify(sh: Any) -> dict[str, Any]:
    """The chain walked, then held against every signed checkpoint on file."""
    from safehold.audit.checkpoint import check_checkpoints

    try:
        result = sh.audit.verify()
        report = check_checkpoints(sh.audit, result, sh.config.audit) if result.ok else None
    except Exception as exc:
        return {"ok": False, "count": 0, "message": f"cannot read the audit log: {exc}"}
    newest = report.newest if report else None
    ok = result.ok and report is not None and report.ok
    return {
        "ok": ok,
        "count": result.records,
        "message": result.problem or (report.problem if report else "") or "",
        "first_bad_seq": result.first_bad_seq,
        "head_seq": result.head_seq,
        "head_hash": result.head_hash,
        "checkpoints": report.checkpoints if report else 0,
        "checkpoint_seq": newest.seq if newest else None,
        "checkpoint_ts": newest.ts if newest else None,
    }


def record_sign_in(sh: Any, who: Principal) -> None:
    sh.audit.append("user.sign_in", {"user": who.name, "role": who.role}, actor=who.identity)


def record_sign_in_failure(sh: Any, accounts: Any, username: str, address: str) -> None:
    """Failed sign-ins are evidence too. The name tried is kept only when it names a user:
    anything else may be a password typed into the username field, so only its length is."""
    known = accounts.known_name(username)
    who = {"user": known} if known else {"user": None, "unknown_name_length": len(username)}
    sh.audit.append("user.sign_in_failed", {**who, "address": address})


# inventory -----------------------------------------------------------------------------------

_RESOURCE_LABELS = (
    ("resource_ids", "Resource ids"),
    ("databases", "Databases"),
    ("hosts", "Hosts"),
    ("urls", "URLs"),
    ("kubernetes", "Kubernetes"),
    ("buckets", "Buckets"),
    ("paths", "Paths"),
    ("git_remotes", "Git remotes"),
)


def inventory(config: Config, protected: frozenset[str]) -> list[dict[str, Any]]:
    def entry(e: EnvironmentSettings) -> dict[str, Any]:
        resources = [(label, getattr(e, key)) for key, label in _RESOURCE_LABELS if getattr(e, key)]
        return {"name": e.name, "protected": e.protected, "prod": e.name in protected,
                "resources": resources}

    envs = [entry(e) for e in config.environments]
    envs.sort(key=lambda e: (not e["prod"], e["name"]))
    return envs


def backups(sh: Any, protected: frozenset[str]) -> list[Any]:
    """The backup posture of every production resource (protection/posture.py)."""
    from safehold.protection.posture import posture
    settings = sh.config.snapshots
    stores = {s.name: sh.snapshot_first.stores(s) for s in settings.stores}
    drills = sorted(sh.audit.tail(500, type="drill.completed")
                    + sh.audit.tail(500, type="drill.failed"), key=lambda e: e.seq)
    payloads = [{**as_mapping(e.data), "at": e.ts.isoformat()} for e in drills]
    return posture(sh.config.environments, protected, settings, stores, payloads)


def _status_of(exc: Exception) -> int:
    if isinstance(exc, ApprovalNotFound | DelayNotFound):
        return 404
    if isinstance(exc, SelfApprovalError):
        return 403
    return 409


def _compact(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
