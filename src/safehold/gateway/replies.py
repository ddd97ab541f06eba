"""What the agent reads when its request is not forwarded, in the provider's own error shape.

A GraphQL client surfaces the `errors` array; a REST client surfaces an `error` object. Either
way the message says what safehold decided, why, and what the agent can do (wait for the
approval at this URL, retry after the delay, use another route), so a refusal never looks like
a network fault or a missing tool.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

CODES = {
    "deny": "SAFEHOLD_DENIED",
    "ask": "SAFEHOLD_APPROVAL_REQUIRED",
    "delay": "SAFEHOLD_DELAYED",
    "capability": "SAFEHOLD_CAPABILITY_REFUSED",
    "bad_request": "SAFEHOLD_BAD_REQUEST",
    "upstream": "SAFEHOLD_UPSTREAM_UNREACHABLE",
    "unknown_credential": "SAFEHOLD_UNKNOWN_CREDENTIAL",
    "unavailable": "SAFEHOLD_GATEWAY_OFF",
}


def reply(shape: str, status: int, kind: str, message: str,
          details: dict[str, Any] | None = None,
          headers: dict[str, str] | None = None) -> JSONResponse:
    extensions = {"code": CODES[kind], **(details or {})}
    if shape == "graphql":
        body: dict[str, Any] = {
            "data": None,
            "errors": [{"message": message, "extensions": extensions}],
        }
    else:
        body = {"error": {"message": message, **extensions}}
    return JSONResponse(body, status_code=status, headers=headers)


def decision_message(evaluation: Any) -> tuple[str, dict[str, Any]]:
    """One line for the agent and the structured decision beside it."""
    d = evaluation.decision
    verdict = d.verdict.value
    reasons = list(d.reasons)
    head = {
        "deny": "safehold refused this request",
        "ask": "safehold is holding this request for a human's approval",
        "delay": "safehold queued this request; it will be sent when the delay ends",
    }.get(verdict, f"safehold answered {verdict}")
    details: dict[str, Any] = {
        "decision": verdict,
        "reasons": reasons,
        "rules": list(d.rule_ids),
        "suggestions": list(d.suggestions),
    }
    info = evaluation.to_dict()
    if info.get("approval"):
        details["approval"] = info["approval"]
        url = info["approval"].get("url")
        if url:
            head += f" (approve at {url}; then send the identical request again)"
    if info.get("delay"):
        details["delay"] = info["delay"]
        head += f" (delay {info['delay']['id']} runs at {info['delay']['run_at']} unless cancelled)"
    if reasons:
        head += ": " + "; ".join(reasons[:3])
    return head, details
