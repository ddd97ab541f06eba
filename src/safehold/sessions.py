"""What each agent session has been refused lately: the session fact behind staying careful.

An agent that is refused tends to reroute: the same target through another tool, a script,
another spelling. So a refusal (a deny, or an ask nobody has granted) is remembered for the
session for a configurable time (`[sessions] caution`), and while that window is open the
policy sees `context.session_refused` and, after a deny, `context.refused_target` (see
`default.cedar`'s `careful-after-refusal`). Routine work that is fully followed and touches
nothing that was denied keeps passing.

Hooks run as separate processes, the hook daemon and the server as long-lived ones; all of them
build their guard from the same configuration, so the memory is a directory of small files
(0700, one 0600 JSON file per session, named by a digest of the session id) beside the
database. A file that exists but cannot be read is a refusal of unknown content: unknown is
never allow. A human's approval of exactly the refused action lifts that refusal.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from safehold.model import Action, Decision, SessionCaution, Target, Verdict
from safehold.owner_only import FILE_MODE, private_dir

log = logging.getLogger(__name__)

#: The policy rule that holds a careful session's actions; its own asks extend nothing.
CAUTION_RULE = "careful-after-refusal"
#: Rules that say safehold failed, not that the agent was refused.
_NOT_REFUSALS = frozenset({CAUTION_RULE, "internal-error", "audit-unavailable", "policy-error"})
MAX_REFUSALS = 32
MAX_TARGETS = 16
MAX_FILE_BYTES = 256 * 1024


def action_key(action: Action) -> str:
    """Which action a refusal was for, so that a human's approval of it lifts exactly it."""
    h = hashlib.sha256()
    for part in (action.kind, action.cwd or "", action.environment or "", action.input_text()):
        h.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()


class SessionMemory:
    """Refusals per session, each open for `caution_seconds`; 0 switches the memory off."""

    def __init__(self, directory: str | os.PathLike[str], caution_seconds: int,
                 clock: Callable[[], float] = time.time):
        self.directory = Path(directory)
        self.caution_seconds = caution_seconds
        self.clock = clock

    def _path(self, session: str) -> Path:
        name = hashlib.sha256(session.encode("utf-8", "surrogatepass")).hexdigest()[:40]
        return self.directory / f"{name}.json"

    def caution(self, session: str | None, action: Action | None = None
                ) -> SessionCaution | None:
        """The session fact for `session` now, or None when it was not refused lately. The
        refusal of `action` itself does not count: retrying exactly what was refused is not a
        reroute, and gets the same answer anyway."""
        if not session or self.caution_seconds <= 0:
            return None
        now = self.clock()
        try:
            with open(self._path(session), "rb") as f:
                raw = f.read(MAX_FILE_BYTES + 1)
            refusals = _parse(raw, session)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            return SessionCaution(session, (f"the record of this session's refusals could not "
                                            f"be read ({exc})",), now, now + self.caution_seconds)
        same = action_key(action) if action is not None else None
        live = [r for r in refusals if float(r["until"]) > now and r["key"] != same]
        if not live:
            return None
        targets: dict[Target, None] = {}
        for r in live:
            if r["verdict"] != Verdict.DENY.value:
                continue  # a pending ask may still be granted; work on its target goes on
            for t in r.get("targets", ()):
                targets.setdefault(Target(str(t[0]), str(t[1]), t[2] if len(t) > 2 else None))
        return SessionCaution(
            session=session,
            refusals=tuple(f"{r['verdict']} ({', '.join(r['rules'])}): {r['what']}"
                           for r in live),
            since=min(float(r["at"]) for r in live),
            until=max(float(r["until"]) for r in live),
            targets=tuple(targets),
        )

    def remember(self, action: Action, decision: Decision) -> bool:
        """Open (or extend) the caution window after a refusal; True when one was recorded.
        A hold that comes only from the caution itself, or from safehold's own failure,
        extends nothing."""
        if (not action.session or self.caution_seconds <= 0
                or decision.verdict not in (Verdict.DENY, Verdict.ASK)
                or set(decision.rule_ids) <= _NOT_REFUSALS):
            return False
        now = self.clock()
        entry = {
            "key": action_key(action),
            "at": now,
            "until": now + self.caution_seconds,
            "verdict": decision.verdict.value,
            "rules": [r for r in decision.rule_ids if r not in _NOT_REFUSALS][:8],
            "what": _summary(action),
            "targets": [[t.kind, t.name, t.environment]
                        for t in decision.facts.targets[:MAX_TARGETS]],
        }

        def add(refusals: list[dict[str, Any]]) -> list[dict[str, Any]]:
            kept = [r for r in refusals if float(r["until"]) > now and r["key"] != entry["key"]]
            return [*kept, entry][-MAX_REFUSALS:]

        self._update(action.session, add)
        return True

    def lift(self, action: Action) -> None:
        """A human approved exactly this action: its refusal no longer makes the session
        careful (other refusals stay)."""
        if not action.session or self.caution_seconds <= 0:
            return
        key = action_key(action)
        self._update(action.session, lambda rs: [r for r in rs if r["key"] != key])

    def _update(self, session: str,
                change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> None:
        private_dir(self.directory, dedicated=True)
        fd = os.open(self._path(session), os.O_RDWR | os.O_CREAT, FILE_MODE)
        with os.fdopen(fd, "r+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            raw = f.read(MAX_FILE_BYTES + 1)
            try:
                refusals = _parse(raw, session) if raw else []
            except ValueError:
                refusals = []  # rewritten whole below; the unreadable part is logged
                log.warning("session record %s was unreadable and is rewritten", f.name)
            body = json.dumps({"session": session, "refusals": change(refusals)}).encode()
            f.seek(0)
            f.truncate()
            f.write(body)


def _parse(raw: bytes, session: str) -> list[dict[str, Any]]:
    if len(raw) > MAX_FILE_BYTES:
        raise ValueError("the file is larger than it can be")
    data = json.loads(raw)
    if not isinstance(data, dict) or data.get("session") != session:
        raise ValueError("the file does not belong to this session")
    refusals = data.get("refusals")
    if not isinstance(refusals, list) or not all(
            isinstance(r, dict) and {"key", "at", "until", "verdict", "rules", "what"} <= set(r)
            for r in refusals):
        raise ValueError("the file is not a list of refusals")
    return refusals


def _summary(action: Action) -> str:
    text = " ".join(action.input_text().split())
    return text if len(text) <= 160 else text[:157] + "..."


def overlaps(target: Target, refused: Target, workspace: str | None) -> bool:
    """Whether acting on `target` reaches what was refused: the same thing, something that
    holds it, or something inside it, unless the refused thing holds the whole workspace (a
    refused `rm -rf ~` does not make every edit in the project a reroute)."""
    if target.kind != refused.kind:
        return False
    a, b = target.name.rstrip("/") or "/", refused.name.rstrip("/") or "/"
    if a == b:
        return True
    if "/" not in a or "/" not in b:
        return False
    if _inside(b, a):
        return True
    return _inside(a, b) and not (workspace and (_inside(workspace, b) or workspace == b))


def _inside(child: str, parent: str) -> bool:
    return parent == "/" or child.startswith(parent + "/")


__all__ = ["CAUTION_RULE", "SessionMemory", "action_key", "overlaps"]
