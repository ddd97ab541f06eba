"""Judging one MCP `tools/call` the proxy sees, and the reply that refuses it.

The proxy forwards everything untouched except a tool call safehold does not allow. That call
never reaches the server; the client gets a normal tool result with `isError: true` whose text
says it was refused by policy, why, and what to do — agents show tool results to the model, so
the refusal is read and acted on, and it can never be mistaken for "tool not found".
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from safehold.model import Action, Decision, Verdict
from safehold.surfaces import messages
from safehold.surfaces.approval import CallInfo, ServerError, ServerSettings, settle
from safehold.surfaces.record import Record, spool

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProxySettings:
    """How the proxy judges and records."""

    database_url: str | None = None
    server: ServerSettings | None = None
    environment: str | None = None
    agent: str = "mcp"
    cwd: str | None = None
    record: bool = True


@dataclass(frozen=True, slots=True)
class Ruling:
    allowed: bool
    message: str = ""


class Judge:
    """Decides tool calls for one upstream server with one Guard, and records each decision."""

    def __init__(self, guard: Any, settings: ProxySettings, server_name: str | None = None):
        self.guard = guard
        self.settings = settings
        self.server_name = server_name
        self._sink: Any = None
        self._lock = threading.Lock()

    def action(self, tool: str, arguments: Any, session: str | None) -> Action:
        return Action(
            "mcp",
            {"server": self.server_name or "unknown", "tool": tool, "arguments": arguments},
            cwd=self.settings.cwd,
            session=session,
            environment=self.settings.environment,
            agent=self.settings.agent,
        )

    def judge(self, params: Any, session: str | None, request_id: Any) -> Ruling:
        """Blocking: may wait for a human through the server. Never raises."""
        try:
            return self._judge(params, session, request_id)
        except Exception as exc:  # a failure to judge is a refusal, never a pass
            log.exception("judging a tool call failed")
            return Ruling(False, messages.failure(f"{type(exc).__name__}: {exc}"))

    def _judge(self, params: Any, session: str | None, request_id: Any) -> Ruling:
        if not isinstance(params, dict) or not isinstance(params.get("name"), str):
            return Ruling(False, messages.failure("tools/call without a tool name"))
        arguments = params.get("arguments") or {}
        action = self.action(params["name"], arguments, session)
        decision = self.guard.decide(action)
        ruling, approval_id = self._enforce(action, decision, request_id)
        self._record(
            Record(
                surface="mcp-proxy",
                outcome="allow" if ruling.allowed else "deny",
                agent=self.settings.agent,
                tool=params["name"],
                action=action,
                decision=decision,
                session=session,
                tool_use_id=None if request_id is None else str(request_id),
                cwd=self.settings.cwd,
                approval_id=approval_id,
            )
        )
        return ruling

    def _enforce(
        self, action: Action, decision: Decision, request_id: Any
    ) -> tuple[Ruling, str | None]:
        if decision.verdict is Verdict.ALLOW:
            return Ruling(True), None
        if decision.verdict is Verdict.DENY:
            return Ruling(False, messages.refused(action, decision)), None
        server = self.settings.server
        if server is None:
            return Ruling(False, messages.needs_approval(action, decision)), None
        info = CallInfo(tool_use_id=None if request_id is None else str(request_id))
        try:
            ruling = settle(server, action, info, deadline=time.monotonic() + server.wait_seconds)
        except ServerError as exc:
            return Ruling(False, messages.failure(f"it needs approval and {exc}")), None
        hold_id = ruling.hold.id if ruling.hold else None
        if ruling.verdict == "allow":
            return Ruling(True), hold_id
        if ruling.verdict == "deny":
            refusal = Decision(
                Verdict.DENY, ruling.reasons or decision.reasons, decision.rule_ids,
                decision.facts, suggestions=decision.suggestions,
            )
            return Ruling(False, messages.refused(action, refusal)), hold_id
        if ruling.verdict == "delay":
            return Ruling(False, messages.delayed(action, ruling.reasons or decision.reasons)), None
        return Ruling(False, messages.needs_approval(action, decision, ruling.hold)), hold_id

    def _record(self, rec: Record) -> None:
        if not self.settings.record:
            return
        with self._lock:
            try:
                if self._sink is None:
                    self._sink = _Sink(self.settings.database_url)
                self._sink.append(rec)
            except Exception as exc:
                spool(rec, None, error=f"{type(exc).__name__}: {exc}")


class _Sink:
    """One open store for the proxy's lifetime."""

    def __init__(self, database_url: str | None):
        if not database_url:
            raise RuntimeError("no database configured")
        from safehold.audit import AuditLog
        from safehold.store.db import open_store

        self.audit = AuditLog(open_store(database_url))

    def append(self, rec: Record) -> None:
        from safehold.surfaces.record import append

        append(self.audit, rec)


#: where a 2026-07-28+ request carries its protocol version
PROTOCOL_VERSION_META = "io.modelcontextprotocol/protocolVersion"


def refusal_result(request: dict[str, Any], message: str) -> dict[str, Any]:
    """The JSON-RPC response a refused call gets instead of the server's: a tool result with
    `isError`, in the shape the request's protocol revision expects (2026-07-28 and later
    require `resultType`; older clients reject keys they do not know)."""
    result: dict[str, Any] = {"content": [{"type": "text", "text": message}], "isError": True}
    params = request.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    if isinstance(meta, dict) and str(meta.get(PROTOCOL_VERSION_META) or "") >= "2026-07-28":
        result["resultType"] = "complete"
    return {"jsonrpc": "2.0", "id": request.get("id"), "result": result}


def server_name_from(result: Any) -> str | None:
    """The server's own name: `serverInfo` of an initialize or server/discover result, or the
    `serverInfo` every 2026-07-28+ result carries in its `_meta`."""
    if not isinstance(result, dict):
        return None
    meta = result.get("_meta")
    for info in (
        result.get("serverInfo"),
        meta.get("io.modelcontextprotocol/serverInfo") if isinstance(meta, dict) else None,
    ):
        if isinstance(info, dict) and isinstance(info.get("name"), str) and info["name"]:
            return info["name"]
    return None
