"""What a person deciding at 3 a.m. needs to see, computed once from stored records.

Approvals and delays keep the action and the decision as JSON; templates should not dig
through that. These view models pull out the headline, the blast radius (how many targets, of
which kinds, in which environments, at what effect), the agent's stated reason and the rule
that fired, and mark anything in a protected environment as production.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from safehold.config import Config
from safehold.inventory import PRODUCTION_NAMES


def protected_environments(config: Config) -> frozenset[str]:
    return PRODUCTION_NAMES | {e.name for e in config.environments if e.protected}


@dataclass(frozen=True, slots=True)
class TargetView:
    """One target and the environment it resolved to; `how` says which inventory entry (or
    which neighbouring target) placed it there, or why nothing did."""

    kind: str
    name: str
    environment: str | None
    prod: bool
    how: str = ""


@dataclass(frozen=True, slots=True)
class OperationView:
    id: str
    effect: str
    reason: str
    targets: tuple[TargetView, ...]


@dataclass(slots=True)
class ActionView:
    """The parts approvals and delays share: the action, its facts and its decision."""

    id: str
    state: str
    kind: str
    input_text: str
    environment: str | None
    is_prod: bool
    agent: str | None
    session: str | None
    requester: str
    stated_reason: str | None
    effect: str
    operations: list[OperationView]
    targets: list[TargetView]
    unknowns: list[str]
    reasons: list[str]
    rules: list[str]
    headline: str
    blast: str
    created_label: str
    snapshot_first: bool = False
    suggestions: list[str] = field(default_factory=list)
    claimed: str | None = None
    claimed_prod: bool = False
    facts: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    cwd: str | None = None
    snapshot: SnapshotView | None = None
    env_basis: str = ""
    hidden_chars: list[str] = field(default_factory=list)
    one_line: str = ""
    age: str = ""

    @property
    def target_count(self) -> int:
        return len(self.targets)

    @property
    def confirm_phrase(self) -> str:
        """What approving in production confirms: the environment and every target. The form
        sends it back and the server recomputes it, so a confirmation given for one request
        (or before its targets were shown) cannot approve another."""
        from safehold.server.reveal import reveal_plain

        where = ", ".join(f"{t.kind} {reveal_plain(t.name)}" for t in self.targets)
        return f"{self.environment or 'unknown environment'}: {where or 'no resolved target'}"

    @property
    def effect_rank(self) -> int:
        return _EFFECT_ORDER.get(self.effect, 0)

    @property
    def prod_label(self) -> str:
        """The production badge, saying on what ground: a target placed there, where the
        action runs, or only the session's claim."""
        return "PRODUCTION" if self.env_basis != "claim" else "PRODUCTION (claimed by the session)"


@dataclass(frozen=True, slots=True)
class SnapshotView:
    """The snapshot line of a card, from what exists (audit) or else what is planned.

    `state`: taken (exists and verified), failed (tried, the action was not released),
    planned (will be taken before release), impossible (the action will not be released)."""

    state: str
    lines: tuple[str, ...]


def snapshot_view(plan: Any, events: list[Mapping[str, Any]]) -> SnapshotView:
    taken = [e for e in events if e.get("type") == "snapshot.taken"]
    if taken:
        return SnapshotView("taken", tuple(
            f"{e.get('snapshot')} · {size_label(e.get('size'))} · {e.get('scope')} of "
            f"{e.get('source')} · store {e.get('store')} ({e.get('store_location')})"
            + (" · retention-locked" if e.get("locked") else "")
            + "".join(f" · warning: {w}" for w in e.get("warnings") or ())
            for e in taken))
    failed = [e for e in events if e.get("type") in ("snapshot.failed", "snapshot.refused")]
    if failed:
        return SnapshotView("failed", tuple(str(e.get("reason", "")) for e in failed))
    if plan.ok:
        return SnapshotView("planned", tuple(i.line() for i in plan.captures))
    return SnapshotView("impossible", tuple(plan.problems))


def size_label(n: Any) -> str:
    size = float(n or 0)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


@dataclass(slots=True)
class ApprovalView(ActionView):
    expires_at: str = ""
    time_left: str = ""
    required: int = 1
    approvals: int = 0
    votes: list[dict[str, Any]] = field(default_factory=list)
    own: bool = False
    voted: bool = False
    used: bool = False


@dataclass(slots=True)
class DelayView(ActionView):
    run_at: str = ""
    time_left: str = ""
    cancelled_by: str | None = None


def approval_view(
    record: Any, protected: frozenset[str], viewer: str | None, inventory: Any = None
) -> ApprovalView:
    base = _action_fields(record, protected, inventory)
    votes = [
        {
            "approver": _get(v, "approver"),
            "verdict": _get(v, "verdict"),
            "comment": _get(v, "comment"),
            "at": clock(_get(v, "at")),
        }
        for v in (_get(record, "votes") or ())
    ]
    expires = _get(record, "expires_at")
    return ApprovalView(
        **base,
        expires_at=iso(expires),
        time_left=time_left(expires),
        required=int(_get(record, "required_approvals") or 1),
        votes=votes,
        approvals=sum(1 for v in votes if v["verdict"] == "approve"),
        own=viewer is not None and viewer == base["requester"],
        voted=viewer is not None and any(v["approver"] == viewer for v in votes),
        used=_get(record, "used_at") is not None,
    )


def delay_view(record: Any, protected: frozenset[str], inventory: Any = None) -> DelayView:
    base = _action_fields(record, protected, inventory)
    run_at = _get(record, "run_at")
    return DelayView(
        **base,
        run_at=iso(run_at),
        time_left=time_left(run_at),
        cancelled_by=_get(record, "cancelled_by"),
    )


def _action_fields(record: Any, protected: frozenset[str], inventory: Any) -> dict[str, Any]:
    action = as_mapping(_get(record, "action"))
    decision = as_mapping(_get(record, "decision"))
    facts = as_mapping(decision.get("facts"))
    options = as_mapping(action.get("options"))
    operations = [
        OperationView(
            id=str(op.get("id", "?")),
            effect=str(op.get("effect", "read")),
            reason=str(op.get("reason", "")),
            targets=placed_targets(op.get("targets") or (), protected, inventory, options),
        )
        for op in facts.get("operations") or ()
        if isinstance(op, Mapping)
    ]
    unique = {(t.kind, t.name, t.environment): t for op in operations for t in op.targets}
    targets = list(unique.values())
    claimed = action.get("claimed_environment")
    environment = (
        _get(record, "environment") or facts.get("environment")
        or claimed or action.get("environment")
    )
    is_prod = (environment in protected) or any(t.prod for t in targets)
    effect = str(facts.get("effect") or _worst(op.effect for op in operations))
    input_text = action_text(action.get("input", ""))
    cwd = action.get("cwd") if isinstance(action.get("cwd"), str) else None
    stated = _get(record, "stated_reason")
    return {
        "id": str(_get(record, "id")),
        "state": str(_get(record, "state") or "pending"),
        "kind": str(_get(record, "kind") or action.get("kind") or "?"),
        "input_text": input_text,
        "environment": environment,
        "is_prod": is_prod,
        "agent": action.get("agent"),
        "session": _get(record, "session") or action.get("session"),
        "requester": str(_get(record, "requester") or ""),
        "stated_reason": _get(record, "stated_reason"),
        "effect": effect,
        "operations": operations,
        "targets": targets,
        "unknowns": [str(u.get("reason", u)) for u in facts.get("unknowns") or () if u],
        "reasons": [str(r) for r in decision.get("reasons") or ()],
        "rules": [str(r) for r in decision.get("rules") or ()],
        "headline": _headline(operations, str(_get(record, "kind") or action.get("kind") or "")),
        "blast": blast_radius(targets),
        "created_label": clock(_get(record, "created_at")),
        "snapshot_first": bool(decision.get("snapshot_first")),
        "suggestions": [str(s) for s in decision.get("suggestions") or ()],
        "claimed": claimed,
        "claimed_prod": claimed in protected,
        "facts": facts,
        "options": options,
        "cwd": cwd,
        "env_basis": _env_basis(environment, targets, claimed),
        "hidden_chars": hidden_characters(
            input_text, stated, action.get("agent"), _get(record, "session") or
            action.get("session"), cwd, targets),
        "one_line": action_text(action.get("input", ""), one_line=True),
        "age": ago(_get(record, "created_at")),
    }


def _env_basis(environment: Any, targets: list[TargetView], claimed: Any) -> str:
    """Why the request counts as `environment`: `targets` (a target was placed there),
    `context` (where the action runs: its connection, URL or kube context), `claim` (only the
    session says so) or `none`."""
    if not environment:
        return "none"
    if any(t.environment == environment for t in targets):
        return "targets"
    if environment == claimed and not any(t.environment for t in targets):
        return "claim"
    return "context"


def hidden_characters(
    command: str, reason: Any, agent: Any, session: Any, cwd: Any, targets: Iterable[TargetView]
) -> list[str]:
    """Warning lines naming every invisible or look-alike character in agent-supplied text."""
    from safehold.server.reveal import summarize

    parts: list[tuple[str, str | None, bool]] = [
        ("the action", command, True),
        ("the agent's reason", reason if isinstance(reason, str) else None, False),
        ("the agent name", agent if isinstance(agent, str) else None, True),
        ("the session", session if isinstance(session, str) else None, True),
        ("the working directory", cwd, True),
    ]
    parts += [(f"target {t.kind}", t.name, True) for t in targets]
    return summarize(parts)


#: Target kinds that say where the statements of an operation run: a table with no
#: inventory entry of its own lives in the database the same operation connects to.
_CONTAINERS = frozenset({"database", "db", "dsn", "host", "cluster", "context", "namespace"})


def placed_targets(
    raw: Iterable[Any], protected: frozenset[str], inventory: Any, options: Mapping[str, Any]
) -> tuple[TargetView, ...]:
    """The targets of one operation, each with its environment and how it got it."""
    views = [_target(t, protected, inventory, options) for t in raw]
    homes = [t for t in views if t.kind in _CONTAINERS and t.environment]
    if len(homes) == 1:
        home = homes[0]
        views = [
            TargetView(t.kind, t.name, home.environment, home.prod,
                       f"inside {home.kind} {home.name}, which this operation runs against")
            if t.environment is None and t.kind not in _CONTAINERS else t
            for t in views
        ]
    return tuple(views)


def action_text(value: Any, *, one_line: bool = False) -> str:
    """The action as a person would type it: `DELETE https://…` for HTTP, `server.tool {…}`
    for MCP, the text itself for shell and SQL."""
    if isinstance(value, str):
        return " ".join(value.split()) if one_line else value
    data = as_mapping(value)
    sep, indent = (" ", None) if one_line else ("\n", 2)
    if "url" in data:
        text = f"{str(data.get('method', 'GET')).upper()} {data['url']}"
        body = data.get("body")
        if body:
            text += sep + (body if isinstance(body, str) else json.dumps(body, indent=indent))
        return text
    if "tool" in data:
        args = json.dumps(data.get("arguments") or {}, indent=indent)
        server = f"{data['server']}." if data.get("server") else ""
        return f"{server}{data['tool']}{sep}{args}"
    return json.dumps(value, indent=indent, default=str)


def blast_radius(targets: Iterable[TargetView]) -> str:
    """'2 volumes in production; 1 table in no inventory environment' — what could be lost,
    each group with the environment its targets resolved to, in one line."""
    targets = list(targets)
    if not targets:
        return "no resolved target"
    groups: dict[str | None, Counter[str]] = {}
    for t in targets:
        groups.setdefault(t.environment, Counter())[t.kind] += 1
    order = sorted(groups, key=lambda env: (env is None, not any(
        t.prod for t in targets if t.environment == env), env or ""))
    out = []
    for env in order:
        kinds = ", ".join(f"{n} {_plural(k, n)}" for k, n in groups[env].most_common())
        out.append(f"{kinds} in {env}" if env else f"{kinds} in no inventory environment")
    return "; ".join(out)


def _headline(operations: list[OperationView], kind: str) -> str:
    if not operations:
        return f"{kind} action nobody could fully understand" if kind else "unrecognised action"
    worst = max(operations, key=lambda op: _EFFECT_ORDER.get(op.effect, 0))
    more = len(operations) - 1
    return worst.reason or worst.id if not more else f"{worst.reason or worst.id} (+{more} more)"


_EFFECT_ORDER = {"read": 0, "write": 1, "destructive": 2, "irreversible": 3}


def _worst(effects: Iterable[str]) -> str:
    return max(effects, key=lambda e: _EFFECT_ORDER.get(e, 0), default="read")


def _target(
    t: Any, protected: frozenset[str], inventory: Any, options: Mapping[str, Any]
) -> TargetView:
    t = as_mapping(t)
    env = t.get("environment")
    kind, name = str(t.get("kind", "?")), str(t.get("name", "?"))
    return TargetView(kind, name, env, env in protected,
                      _placement(inventory, kind, name, t.get("provider"), env, options))


def _placement(
    inventory: Any, kind: str, name: str, provider: Any, env: str | None,
    options: Mapping[str, Any],
) -> str:
    """How the stored environment came about, in words, checked against the inventory."""
    if inventory is None:
        return "" if env is None else "as recorded with the request"
    from safehold.model import Target

    placed = inventory.place(Target(kind, name, provider=provider if isinstance(provider, str)
                                    else None), context={k: str(v) for k, v in options.items()})
    if env is None:
        return f"not in the inventory: {placed.how}"
    if placed.environment == env:
        return f"by the inventory's {placed.how}"
    if placed.environment is None:
        return "from where the action runs (its connection or context)"
    return f"recorded as {env}; the inventory now says {placed.environment} ({placed.how})"


def _plural(word: str, n: int) -> str:
    if n == 1:
        return word
    return word + ("es" if word.endswith(("s", "x", "sh", "ch")) else "s")


def as_mapping(value: Any) -> Mapping[str, Any]:
    """Stored JSON (text or already decoded) as a mapping; anything else as empty."""
    if isinstance(value, Mapping):
        return value
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, str | bytes) and value:
        try:
            decoded = json.loads(value)
        except ValueError:
            return {}
        return decoded if isinstance(decoded, Mapping) else {}
    return {}


def _get(record: Any, name: str) -> Any:
    if isinstance(record, Mapping):
        return record.get(name)
    return getattr(record, name, None)


def parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def iso(value: Any) -> str:
    t = parse_time(value)
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z") if t else ""


def clock(value: Any) -> str:
    t = parse_time(value)
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if t else ""


def ago(value: Any, now: datetime | None = None) -> str:
    """How long ago, coarsely: '40s', '12m', '3h', '2d'."""
    t = parse_time(value)
    if t is None:
        return ""
    seconds = max(0, int(((now or datetime.now(UTC)) - t).total_seconds()))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def time_left(value: Any, now: datetime | None = None) -> str:
    t = parse_time(value)
    if t is None:
        return ""
    seconds = int((t - (now or datetime.now(UTC))).total_seconds())
    if seconds <= 0:
        return "now"
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
