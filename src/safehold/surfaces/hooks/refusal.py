"""The one answer every agent honours as a block, for when safehold itself cannot decide.

Kept free of heavy imports: the watchdog and the daemon client need it before anything else is
loaded, and the protocol modules use the same table so there is one definition of "refuse".
"""

from __future__ import annotations

#: agents whose hook protocol treats exit status 2 as a block (Copilot ignores exit statuses)
EXIT_2_BLOCKS = frozenset({"claude-code", "cursor", "codex", "gemini"})


def failure_text(what: str) -> str:
    """When safehold itself failed: the refusal says so, so nobody mistakes it for policy."""
    from safehold.invocation import command  # only on this path: the client stays lean

    return (
        f"safehold could not judge this tool call ({what}), so it is refused: safehold fails "
        f"closed. Tell the user; `{command('doctor')}` shows what is wrong."
    )


def refuse(agent: str, reason: str) -> tuple[str, str, int]:
    """(stdout, stderr, exit status) of the hardest block `agent` honours."""
    if agent == "copilot":
        body = {"permissionDecision": "deny", "permissionDecisionReason": reason}
        return _dumps(body), "", 0
    if agent == "gemini":  # JSON decides whatever the exit status; exit 2 denies garbled text
        return _dumps({"decision": "deny", "reason": reason}), reason, 2
    if agent == "cursor":
        body = {"permission": "deny", "user_message": reason, "agent_message": reason}
        return _dumps(body), reason, 2
    return "", reason, 2


def _dumps(body: dict[str, str]) -> str:
    """A flat string-to-string object as JSON, without importing the json package (and re)."""
    try:
        from _json import encode_basestring_ascii as quote
    except ImportError:  # pragma: no cover - other interpreters
        import json

        return json.dumps(body)
    return "{" + ", ".join(f"{quote(k)}: {quote(v)}" for k, v in body.items()) + "}"
