"""Recording what a surface decided, in the audit log, without making the agent wait for it.

Opening the store costs more than deciding (SQLAlchemy alone is ~150 ms to import), so a hook
answers first and then hands the record to a detached child process; the MCP proxy writes from a
worker thread. A record that cannot be written lands in `unrecorded.jsonl` in safehold's data
directory instead of vanishing.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any

from safehold.model import Action, Decision


@dataclass(frozen=True, slots=True)
class Record:
    """One surface decision with the call's context."""

    surface: str
    outcome: str
    agent: str | None = None
    tool: str | None = None
    action: Action | None = None
    decision: Decision | None = None
    session: str | None = None
    tool_use_id: str | None = None
    cwd: str | None = None
    parent_session: str | None = None
    stated_reason: str | None = None
    failure: str | None = None
    approval_id: str | None = None
    probe: bool = False


def write(database_url: str, rec: Record) -> None:
    """Append the record now; raises on failure (callers decide what a failure means)."""
    from safehold.audit import AuditLog
    from safehold.store.db import open_store

    store = open_store(database_url)
    try:
        append(AuditLog(store), rec)
    finally:
        store.close()


def append(audit: Any, rec: Record) -> None:
    """Append one record to an open `AuditLog`."""
    from safehold.audit import record_decision

    extra = {
        "surface": rec.surface,
        "tool": rec.tool,
        "outcome": rec.outcome,
        "stated_reason": rec.stated_reason,
        "approval_id": rec.approval_id,
    }
    actor = f"{rec.surface}:{rec.agent or '?'}"
    if rec.action is not None and rec.decision is not None:
        record_decision(
            audit, rec.action, rec.decision, actor=actor, tool_use_id=rec.tool_use_id,
            parent_session=rec.parent_session, event="decision.probe" if rec.probe else "decision",
            **extra,
        )
        return
    audit.append(
        "surface.failure",
        {**extra, "failure": rec.failure, "cwd": rec.cwd, **_action(rec.action)},
        actor=actor,
        agent=rec.agent,
        session=rec.session,
        tool_use_id=rec.tool_use_id,
        parent_session=rec.parent_session,
        decision="deny",
    )


def write_detached(database_url: str | None, rec: Record, spool_dir: str | None = None) -> None:
    """Write the record from a forked child so the caller can exit at once."""
    if not hasattr(os, "fork"):
        _write_or_spool(database_url, rec, spool_dir)
        return
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.fork()
    except OSError:
        _write_or_spool(database_url, rec, spool_dir)
        return
    if pid:
        return
    code = 0
    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        _write_or_spool(database_url, rec, spool_dir)
    except BaseException:  # a child must never return into the caller's code
        code = 1
    finally:
        os._exit(code)


def _write_or_spool(database_url: str | None, rec: Record, spool_dir: str | None) -> None:
    try:
        if not database_url:
            raise RuntimeError("no database configured")
        write(database_url, rec)
    except Exception as exc:  # keep the record somewhere rather than nowhere
        spool(rec, spool_dir, error=f"{type(exc).__name__}: {exc}")


def spool(rec: Record, spool_dir: str | None, *, error: str) -> None:
    if spool_dir is None:
        from safehold.config import data_dir

        spool_dir = str(data_dir())
    os.makedirs(spool_dir, exist_ok=True)
    line = {
        "surface": rec.surface,
        "agent": rec.agent,
        "tool": rec.tool,
        "outcome": rec.outcome,
        "session": rec.session,
        "tool_use_id": rec.tool_use_id,
        "parent_session": rec.parent_session,
        "cwd": rec.cwd,
        "failure": rec.failure,
        "decision": rec.decision.to_dict() if rec.decision else None,
        "not_recorded_because": error,
        **_action(rec.action),
    }
    with open(os.path.join(spool_dir, "unrecorded.jsonl"), "a", encoding="utf-8") as fh:
        fh.write(json.dumps(line, default=str) + "\n")


def _action(action: Action | None) -> dict[str, Any]:
    if action is None:
        return {}
    return {"action": {"kind": action.kind, "input": action.input, "cwd": action.cwd}}
