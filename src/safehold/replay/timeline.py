"""The story as safehold's audit log tells it: each decision with its rule, each approval,
snapshot, forwarded request and restore, with times relative to the first record.

Read from the run's own database after the run, with the same summaries the dashboard's
Audit page shows, so what is printed here is what an approver sees there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: records that are bookkeeping, not the story
QUIET = frozenset({"config.loaded", "token.created", "capability.issued", "credential.added",
                   "audit.checkpoint", "server.started", "server.stopped", "credential.used"})

#: payload fields worth a place on a timeline line, per record type
EXTRA = {"snapshot.taken": ("snapshot", "scope", "size", "store"),
         "snapshot.failed": ("reason", "error"), "snapshot.restored": ("id", "seconds"),
         "gateway.forwarded": ("method", "url", "status", "credential_name"),
         "gateway.refused": ("status", "reason")}


@dataclass(frozen=True)
class Event:
    seconds: float
    type: str
    decision: str
    rules: str
    summary: str

    def line(self) -> str:
        verdict = f" {self.decision.upper()}" if self.decision else ""
        rules = f" [{self.rules}]" if self.rules else ""
        return f"+{self.seconds:7.2f}s  {self.type:<18}{verdict}{rules}  {self.summary}"


def read(config_path: Path, limit: int = 2000) -> list[Event]:
    """The run's audit records, oldest first, without the bookkeeping."""
    from safehold.config import load_config
    from safehold.server.control import summarize
    from safehold.service import Safehold

    cfg = load_config(config_path)
    with Safehold.open(cfg, notify_in_background=False) as sh:
        entries = list(sh.audit.tail(limit))
    if not entries:
        return []
    start = entries[0].ts
    events = []
    for e in entries:
        if e.type in QUIET:
            continue
        payload = _mapping(e.payload)
        summary = summarize(e.type, payload)
        extra = [f"{k} {payload[k]}" for k in EXTRA.get(e.type, ())
                 if payload.get(k) not in (None, "")]
        events.append(Event((e.ts - start).total_seconds(), e.type, e.decision or "",
                            ", ".join(_rules(payload)),
                            _clip(" · ".join(_parts(extra, summary)))))
    return events


def verify(config_path: Path) -> str:
    """`safehold audit verify`'s verdict on the run's chain, in a few words."""
    from safehold.config import load_config
    from safehold.service import Safehold

    with Safehold.open(load_config(config_path), notify_in_background=False) as sh:
        result = sh.audit.verify()
    ok = getattr(result, "ok", result)
    return "hash chain intact" if ok else f"hash chain BROKEN: {getattr(result, 'problem', '')}"


def _parts(extra: list[str], summary: str) -> list[str]:
    """The chosen fields, then the summary unless it is only the raw payload again."""
    if extra and summary.startswith("{"):
        return extra
    return [*extra, summary]


def _mapping(payload: Any) -> dict[str, Any]:
    if isinstance(payload, dict):
        return payload
    try:
        value = json.loads(payload)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _rules(payload: dict[str, Any]) -> list[str]:
    rules = payload.get("rules") or _mapping(payload.get("decision")).get("rules") or []
    out = []
    for r in rules:
        out.append(str(r.get("id", r)) if isinstance(r, dict) else str(r))
    return out[:3]


def _clip(text: str, width: int = 150) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
