"""The approval round trip with a safehold server, for surfaces that cannot ask a human themselves.

When the local decision is ask, the surface sends the exact action to `POST /api/v1/decisions`
with the agent's stated reason; the server decides again (an approval already granted for this
exact action turns into allow, once) and otherwise opens an approval request. The surface then
polls `GET /api/v1/approvals/{id}` for a bounded time. Anything unexpected — unreachable server,
bad token, malformed reply — raises `ServerError`, which every caller turns into a refusal.

Plain urllib, not httpx: this runs inside the hook process, where import time is latency.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from safehold.model import Action
from safehold.surfaces.messages import Hold


class ServerError(Exception):
    """The server could not give a usable answer."""


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Where the server is and how long a surface may wait for a human."""

    url: str
    token: str | None = None
    wait_seconds: float = 5.0
    poll_seconds: float = 0.5
    request_timeout: float = 5.0
    #: speak HTTP over this Unix socket instead of the URL's host and port
    socket: str | None = None
    #: the only user id whose process may answer on `socket` (checked with SO_PEERCRED)
    peer_uid: int | None = None


@dataclass(frozen=True, slots=True)
class Ruling:
    """The server's answer for one action, and the approval it holds if any."""

    verdict: str
    reasons: tuple[str, ...] = ()
    hold: Hold | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallInfo:
    """What the agent told us about the call, forwarded so approvers see it."""

    stated_reason: str | None = None
    tool_use_id: str | None = None
    parent_session: str | None = None


def request_decision(
    server: ServerSettings, action: Action, info: CallInfo, *, request_approval: bool = True
) -> Ruling:
    body = {
        "kind": action.kind,
        "input": action.input,
        "cwd": action.cwd,
        "workspace": (action.options or {}).get("workspace"),
        "session": action.session,
        "environment": action.environment,
        "agent": action.agent,
        "reason": info.stated_reason,
        "tool_use_id": info.tool_use_id,
        "parent_session": info.parent_session,
        "request_approval": request_approval,
    }
    if (action.options or {}).get("home"):  # the system deployment: whose `~` this is
        body["home"] = action.options["home"]
    reply = _call(server, "POST", "/api/v1/decisions", body)
    verdict = reply.get("decision")
    if verdict not in ("allow", "deny", "ask", "delay"):
        raise ServerError(f"the server answered without a decision: {str(reply)[:200]}")
    reasons = reply.get("reasons") or []
    hold = None
    approval = reply.get("approval")
    if isinstance(approval, dict) and approval.get("id") is not None:
        hold = Hold(
            id=str(approval["id"]),
            state=str(approval.get("state") or "pending"),
            url=approval.get("url"),
            expires_at=approval.get("expires_at"),
        )
    return Ruling(verdict, tuple(str(r) for r in reasons), hold, reply)


def approval_state(server: ServerSettings, approval_id: str) -> str:
    reply = _call(server, "GET", f"/api/v1/approvals/{approval_id}", None)
    state = reply.get("state")
    if not isinstance(state, str):
        raise ServerError(f"approval {approval_id} has no state in the server's reply")
    return state


def settle(server: ServerSettings, action: Action, info: CallInfo, *, deadline: float) -> Ruling:
    """Ask the server, wait until `deadline` (monotonic) for a human, and return the outcome:
    allow (approved and consumed), deny, or ask with the still-pending hold."""
    ruling = request_decision(server, action, info)
    if ruling.verdict in ("allow", "deny") or ruling.hold is None:
        return ruling
    hold = ruling.hold
    while time.monotonic() + server.poll_seconds < deadline:
        time.sleep(server.poll_seconds)
        state = approval_state(server, hold.id)
        if state == "approved":
            final = request_decision(server, action, info, request_approval=False)
            if final.verdict == "allow":
                return final
            return Ruling("deny", final.reasons or ("the approval did not unlock this action",))
        if state in ("denied", "expired", "used"):
            return Ruling("deny", (f"approval request {hold.id} was {state}",), hold)
    return ruling


def _call(server: ServerSettings, method: str, path: str, body: Any) -> dict[str, Any]:
    if server.socket is not None:
        return _call_socket(server, method, path, body)
    data = None if body is None else json.dumps(body, default=str).encode()
    req = urllib.request.Request(server.url.rstrip("/") + path, data=data, method=method)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if server.token:
        req.add_header("Authorization", f"Bearer {server.token}")
    try:
        with urllib.request.urlopen(req, timeout=server.request_timeout) as resp:
            payload = resp.read(1 << 20)
    except urllib.error.HTTPError as exc:
        detail = exc.read(500).decode("utf-8", "replace")
        raise ServerError(f"{method} {path}: HTTP {exc.code} {detail}".strip()) from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ServerError(f"safehold server {server.url} unreachable: {reason}") from None
    try:
        reply = json.loads(payload)
    except ValueError:
        raise ServerError(f"{method} {path}: the server's reply is not JSON") from None
    if not isinstance(reply, dict):
        raise ServerError(f"{method} {path}: the server's reply is not an object")
    return reply


def peer_uid(sock: Any) -> int:
    """The user id of the process at the other end of a connected Unix socket (Linux
    SO_PEERCRED): the kernel's word, which no process can forge."""
    import socket
    import struct

    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


def _call_socket(server: ServerSettings, method: str, path: str, body: Any) -> dict[str, Any]:
    """One request over the server's Unix socket, refused unless the process answering runs
    as the server's own user: a listener the agent's user put on that path answers nothing."""
    import http.client
    import socket

    assert server.socket is not None
    data = None if body is None else json.dumps(body, default=str).encode()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(server.request_timeout)
    try:
        try:
            sock.connect(server.socket)
        except OSError as exc:
            raise ServerError(
                f"safehold server at {server.socket} unreachable: {exc.strerror or exc}"
            ) from None
        if server.peer_uid is not None:
            uid = peer_uid(sock)
            if uid != server.peer_uid:
                raise ServerError(
                    f"the process answering on {server.socket} runs as uid {uid}, not as "
                    f"safehold's server user (uid {server.peer_uid}); its answers are refused"
                )
        conn = http.client.HTTPConnection("safehold", timeout=server.request_timeout)
        conn.sock = sock
        headers = {"Accept": "application/json", "Host": "safehold"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if server.token:
            headers["Authorization"] = f"Bearer {server.token}"
        try:
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            payload = resp.read(1 << 20)
        except (OSError, http.client.HTTPException) as exc:
            raise ServerError(f"{method} {path} over {server.socket}: {exc}") from None
    finally:
        sock.close()
    if resp.status >= 400:
        detail = payload[:500].decode("utf-8", "replace")
        raise ServerError(f"{method} {path}: HTTP {resp.status} {detail}".strip())
    try:
        reply = json.loads(payload)
    except ValueError:
        raise ServerError(f"{method} {path}: the server's reply is not JSON") from None
    if not isinstance(reply, dict):
        raise ServerError(f"{method} {path}: the server's reply is not an object")
    return reply
