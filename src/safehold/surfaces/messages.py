"""The words a refusal or a hold is made of, for the agent and for the human.

An agent that is only told "blocked" retries with a different spelling of the same command. So
the agent hears what was refused, why, and what it can do instead; the human hears what the
agent wants to do and how to approve it. Every surface (hooks, MCP proxy) uses these texts.
"""

from __future__ import annotations

from dataclasses import dataclass

from safehold.model import Action, Decision

_MAX_SHOWN = 300


@dataclass(frozen=True, slots=True)
class Hold:
    """An approval request the server opened for one exact action."""

    id: str
    state: str = "pending"
    url: str | None = None
    expires_at: str | None = None


def describe(action: Action) -> str:
    """The action in one line: `shell command `rm -rf ~``, `MCP call db.drop_table {...}`."""
    if action.kind == "mcp" and isinstance(action.input, dict):
        body = f"MCP call {action.input.get('server') or '?'}.{action.input.get('tool') or '?'}"
        args = _short(Action("x", action.input.get("arguments") or {}).input_text())
        return f"{body} {args}"
    if action.kind == "file" and isinstance(action.input, dict):
        changes = action.input.get("changes") or []
        paths = ", ".join(str(c.get("path")) for c in changes if isinstance(c, dict))
        return f"file change to {_short(paths)}"
    label = {"shell": "shell command", "sql": "SQL statement", "http": "HTTP request"}.get(
        action.kind, f"{action.kind} action"
    )
    return f"{label} `{_short(action.input_text())}`"


def refused(action: Action, decision: Decision) -> str:
    """To the agent: refused, why, and what to do instead."""
    lines = [f"safehold refused this {describe(action)}."]
    lines += [f"Why: {r}" for r in decision.reasons[:4]]
    if decision.suggestions:
        lines += [f"Instead: {s}" for s in decision.suggestions[:3]]
    lines.append(
        "Do not retry it in another form. If the task needs it, stop and tell the user what you "
        "wanted to do and why; they can run it themselves or change safehold's policy."
    )
    return "\n".join(lines)


def needs_approval(action: Action, decision: Decision, hold: Hold | None = None) -> str:
    """To the agent: held for a human; how it gets approved and what to do after."""
    lines = [f"safehold is holding this {describe(action)} for a human's approval."]
    lines += [f"Why: {r}" for r in decision.reasons[:4]]
    if hold is not None:
        where = f" at {hold.url}" if hold.url else ""
        expiry = f" (expires {hold.expires_at})" if hold.expires_at else ""
        lines.append(
            f"Approval request {hold.id}{expiry}: ask the user to approve it{where} or, where "
            f"the safehold server's database is, with `{approve_command(hold.id)}` (it asks "
            "for their dashboard name and password). Once it is approved, run exactly the same "
            "call again: it will pass once. Any change to it needs a new approval."
        )
    else:
        lines.append(
            "No safehold server is configured to ask a human, so it cannot run from here. Tell "
            "the user what you wanted to do and why; they can run it themselves."
        )
    if decision.suggestions:
        lines += [f"Or instead: {s}" for s in decision.suggestions[:3]]
    return "\n".join(lines)


def approve_command(approval_id: str) -> str:
    """The command a person pastes to approve a request (it prompts for who they are)."""
    from safehold.invocation import command

    return command("approvals", "approve", approval_id)


def delayed(action: Action, reasons: tuple[str, ...]) -> str:
    """To the agent: the server scheduled the action behind a grace period."""
    lines = [f"safehold delays this {describe(action)}: it may run only after a grace period."]
    lines += [f"Why: {r}" for r in reasons[:4]]
    lines.append(
        "Tell the user it is scheduled; the identical call passes after the time above unless "
        "someone cancels it."
    )
    return "\n".join(lines)


def for_human(action: Action, decision: Decision, stated_reason: str | None = None) -> str:
    """To the person confirming: what the agent wants, why safehold stopped, what it said."""
    lines = [f"safehold: the agent wants to run a {describe(action)}."]
    lines += [f"Why this needs you: {r}" for r in decision.reasons[:3]]
    if stated_reason:
        lines.append(f"The agent says: {_short(stated_reason)}")
    return "\n".join(lines)


def failure(what: str) -> str:
    """When safehold itself failed: the refusal says so, so nobody mistakes it for policy."""
    from safehold.surfaces.hooks.refusal import failure_text

    return failure_text(what)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"
