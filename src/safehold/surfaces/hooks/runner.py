"""The shared path of every hook: agent JSON in, one decision, the agent's answer out.

Read the payload (bounded), let the protocol module turn it into a `ToolCall`, ask the one
decision path, settle an ask (a safehold server, else the agent's own confirmation, else
refusal), and let the protocol module phrase the answer. Anything that goes wrong on the way is
the caller's to turn into a refusal: this module raises rather than guessing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from safehold.model import Decision, Verdict
from safehold.surfaces import messages
from safehold.surfaces.hooks.protocol import (
    NO_OPINION,
    Answer,
    HookInputError,
    Outcome,
    Protocol,
    ToolCall,
)
from safehold.surfaces.hooks.settings import HookSettings
from safehold.surfaces.record import Record


class InputTooLarge(HookInputError):
    pass


@dataclass(frozen=True, slots=True)
class Result:
    answer: Answer
    record: Record | None = None
    database_url: str | None = None


def read_input(stream: Any, max_bytes: int) -> bytes:
    """The agent's bytes from a binary stream, refusing more than `max_bytes`."""
    raw = stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise InputTooLarge(f"the hook input is larger than {max_bytes} bytes")
    return raw


def parse_payload(raw: bytes) -> Mapping[str, Any]:
    """The agent's JSON object."""
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise HookInputError(f"the hook input is not valid JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise HookInputError(f"the hook input is a JSON {type(payload).__name__}, not an object")
    return payload


def respond(
    protocol: Protocol,
    raw: bytes,
    environ: Mapping[str, str],
    deadline: float,
    guard_for: Callable[[HookSettings], Any] | None = None,
) -> Result:
    """The whole answer to one hook call, failures included: anything that goes wrong is a
    refusal in the agent's protocol with a failure record, never an exception."""
    from safehold.surfaces.hooks import settings as hook_settings

    agent = protocol.name
    try:
        payload = parse_payload(raw)
        return judge(
            protocol, payload, lambda cwd: hook_settings.load(environ, cwd), deadline, guard_for
        )
    except Exception as exc:
        what = str(exc) if isinstance(exc, HookInputError) else f"{type(exc).__name__}: {exc}"
        return Result(
            protocol.refuse(messages.failure(what)),
            Record("hook", "deny", agent=agent, failure=what),
        )


def judge(
    protocol: Protocol,
    payload: Mapping[str, Any],
    load_settings: Any,
    deadline: float,
    guard_for: Callable[[HookSettings], Any] | None = None,
) -> Result:
    """Decide one call. `load_settings(cwd)` returns HookSettings; `deadline` is the monotonic
    time by which the answer must be out (the watchdog's)."""
    call = protocol.parse(payload)
    if call.action is None:
        return Result(protocol.answer(NO_OPINION))
    settings: HookSettings = load_settings(call.cwd)
    if settings.environment and call.action.environment is None:
        call = replace(call, action=replace(call.action, environment=settings.environment))
    assert call.action is not None
    probe = is_probe(protocol.environ, call.session)
    if probe and settings.server is not None:
        # doctor checks that the hook starts and blocks; its probe files no approval request
        settings = replace(settings, server=None)
    guard = (guard_for or build_guard)(settings)
    from safehold.analysis.registry import get_analyzer

    get_analyzer(call.action.kind)  # loaded before the analysis clock starts, not against it
    decision = guard.decide(call.action)
    outcome, approval_id = enforce(protocol, call, decision, settings, deadline)
    record = Record(
        surface="hook",
        outcome=outcome.verdict,
        agent=call.agent,
        tool=call.tool,
        action=call.action,
        decision=decision,
        session=call.session,
        tool_use_id=call.tool_use_id,
        cwd=call.cwd,
        parent_session=call.parent_session,
        stated_reason=call.stated_reason,
        approval_id=approval_id,
        probe=probe,
    )
    return Result(protocol.answer(_told(protocol, outcome, approval_id)), record,
                  settings.database_url)


#: The session id and variable `safehold doctor` runs an installed hook with.
PROBE_SESSION = "safehold-probe"
PROBE_VARIABLE = "SAFEHOLD_PROBE"


def is_probe(environ: Mapping[str, str], session: str | None) -> bool:
    """A call from `safehold doctor`: answered exactly like any other, but recorded as a probe
    (not agent activity) and never filed as an approval request. Both marks are needed; a
    probe's record stays in the audit chain with its decision, so marking hides nothing."""
    return environ.get(PROBE_VARIABLE) == "doctor" and session == PROBE_SESSION


def _told(protocol: Protocol, outcome: Outcome, approval_id: str | None) -> Outcome:
    """What the agent hears: a policy allow is no opinion where allow would skip the agent's
    own prompt, unless the user opted in (a human's approval through the server stays allow)."""
    if (
        outcome.verdict == "allow"
        and approval_id is None
        and protocol.allow_skips_prompt
        and protocol.environ.get("SAFEHOLD_AUTO_APPROVE", "") not in ("1", "true", "yes")
    ):
        return NO_OPINION
    return outcome


def build_guard(settings: HookSettings) -> Any:
    """The Guard the configuration describes, plus SAFEHOLD_POLICY. Raises PolicyError."""
    from safehold.decide import Guard

    if settings.config is None:
        return Guard.load(list(settings.policy_paths))
    extra = [p for p in settings.policy_paths if p != settings.config.policy_path]
    return Guard.from_config(settings.config, extra_policies=extra)


def enforce(
    protocol: Protocol,
    call: ToolCall,
    decision: Decision,
    settings: HookSettings,
    deadline: float,
) -> tuple[Outcome, str | None]:
    """What the agent is told for this decision, and the approval request involved if any."""
    action = call.action
    assert action is not None
    if decision.verdict is Verdict.ALLOW:
        return Outcome("allow", "safehold: allowed (" + ", ".join(decision.rule_ids) + ")"), None
    if decision.verdict is Verdict.DENY:
        text = messages.refused(action, decision)
        return Outcome("deny", text, text), None
    if settings.server is not None:
        return _settle_with_server(call, decision, settings.server, deadline)
    if protocol.can_ask if call.can_ask is None else call.can_ask:
        human = messages.for_human(action, decision, call.stated_reason)
        if decision.snapshot_first:
            taken = _snapshot_before_asking(call, decision, settings)
            if not taken.released:
                text = messages.refused(action, decision) + "\n" + taken.reason
                return Outcome("deny", text, text), None
            human += f"\nsafehold took a snapshot first: {taken.summary()}"
        return Outcome("ask", messages.needs_approval(action, decision), human), None
    text = messages.needs_approval(action, decision)
    return Outcome("deny", text, text), None


def judge_remote(protocol: Protocol, raw: bytes, server: Any, deadline: float) -> Result:
    """The whole answer to one call decided by the server alone (the system deployment):
    nothing on the agent's side is consulted, and anything that goes wrong is a refusal. The
    server writes the audit record."""
    try:
        call = protocol.parse(parse_payload(raw))
        if call.action is None:
            return Result(protocol.answer(NO_OPINION))
        import os
        import pwd

        home = pwd.getpwuid(os.getuid()).pw_dir  # the account's, not a variable it could set
        action = replace(call.action, options={**call.action.options, "home": home})
        outcome, hold = _settle_with_server(replace(call, action=action), None, server, deadline)
        return Result(protocol.answer(_told(protocol, outcome, hold)))
    except Exception as exc:
        what = str(exc) if isinstance(exc, HookInputError) else f"{type(exc).__name__}: {exc}"
        return Result(protocol.refuse(messages.failure(what)))


def _server_decision(ruling: Any, verdict: Verdict, kind: str) -> Decision:
    """The server's own decision as the messages need it, from its reply."""
    from safehold.model import Facts

    raw = ruling.raw
    return Decision(
        verdict=verdict,
        reasons=ruling.reasons,
        rule_ids=tuple(str(r) for r in raw.get("rules") or ()),
        facts=Facts(kind=kind),
        suggestions=tuple(str(s) for s in raw.get("suggestions") or ()),
    )


def _snapshot_before_asking(call: ToolCall, decision: Decision, settings: HookSettings) -> Any:
    """Without a server the agent's own prompt releases the action, so a snapshot-first
    decision takes its snapshots before that prompt is shown, or is refused."""
    from safehold.config import default_config
    from safehold.inventory import Inventory
    from safehold.protection.first import SnapshotFirst

    config = settings.config or default_config()
    action = call.action
    assert action is not None
    first = SnapshotFirst(config.snapshots, Inventory(config.environments))
    return first.before_release(decision.facts.to_dict(), action.options, action.cwd,
                                session=call.session)


def _settle_with_server(
    call: ToolCall, decision: Decision | None, server: Any, deadline: float
) -> tuple[Outcome, str | None]:
    """Settle with the server; `decision` is the local one (None: the server's word alone)."""
    from safehold.surfaces.approval import CallInfo, ServerError, settle

    action = call.action
    assert action is not None and server is not None
    info = CallInfo(call.stated_reason, call.tool_use_id, call.parent_session)
    wait_until = min(time.monotonic() + server.wait_seconds, deadline - 1.0)
    try:
        ruling = settle(server, action, info, deadline=wait_until)
    except ServerError as exc:
        why = "it needs a human's approval and " if decision is not None else ""
        text = messages.failure(f"{why}{exc}")
        return Outcome("deny", text, text), None
    hold_id = ruling.hold.id if ruling.hold else None
    if decision is None:
        verdict = {"deny": Verdict.DENY, "allow": Verdict.ALLOW}.get(ruling.verdict, Verdict.ASK)
        decision = _server_decision(ruling, verdict, action.kind)
    if ruling.verdict == "allow" and hold_id is None:
        return Outcome("allow", "safehold: allowed (" + ", ".join(decision.rule_ids) + ")"), None
    if ruling.verdict == "allow":
        return Outcome("allow", f"safehold: approved by a human (request {hold_id})"), hold_id
    if ruling.verdict == "deny":
        refusal = Decision(
            verdict=Verdict.DENY,
            reasons=ruling.reasons or decision.reasons,
            rule_ids=decision.rule_ids,
            facts=decision.facts,
            suggestions=decision.suggestions,
        )
        text = messages.refused(action, refusal)
        return Outcome("deny", text, text), hold_id
    if ruling.verdict == "delay":
        text = messages.delayed(action, ruling.reasons or decision.reasons)
        return Outcome("deny", text, text), None
    text = messages.needs_approval(action, decision, ruling.hold)
    return Outcome("deny", text, text), hold_id
