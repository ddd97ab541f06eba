"""Safehold.evaluate through the real Guard: approvals unlock once, delays release once,
every outcome is audited, and notifications go out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from approval_values import Clock
from safehold.config import parse_config_file
from safehold.errors import SelfApprovalError
from safehold.model import Action
from safehold.service import Safehold
from webhook_receiver import Receiver

POLICY = """
@id("test-jobs-delay")
@decision("delay")
@delay("10m")
@reason("writes to the jobs service wait ten minutes")
permit (principal, action == Action::"http", resource)
when { context.effect == "write" };
"""


def write_config(root: Path, url: str, hook: str, *, approvers: int = 2) -> Path:
    (root / "policy.cedar").write_text(POLICY)
    path = root / "safehold.toml"
    path.write_text(f"""
database_url = "{url}"
policy = "policy.cedar"

[server]
base_url = "https://safehold.example.com"

[approvals]
ttl = "1h"
production_approvers = {approvers}

[[notifications.webhooks]]
url = "{hook}"
events = ["approval.requested", "approval.decided", "deny.production"]

[environments.production]
protected = true
urls = ["https://api.prod.example.com"]

[environments.staging]
urls = ["https://api.staging.example.com"]

[sessions]
directory = "sessions"
""")
    return path


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def app(tmp_path: Path, store_url: str, receiver: Receiver, clock: Clock) -> Iterator[Safehold]:
    cfg = parse_config_file(write_config(tmp_path, store_url, receiver.url))
    sh = Safehold.open(cfg, clock=clock, notify_in_background=False)
    yield sh
    sh.close()


def delete(
    n: int = 1, host: str = "api.staging.example.com", session: str = "s1", env: str = "staging"
) -> Action:
    return Action(
        "http",
        {"method": "DELETE", "url": f"https://{host}/v1/caches/{n}"},
        session=session,
        environment=env,
        agent="claude-code",
        cwd="/home/dev/project",
    )


def write(n: int = 1) -> Action:
    return Action(
        "http",
        {
            "method": "POST",
            "url": f"https://api.staging.example.com/v1/jobs/{n}",
            "body": {"run": True},
        },
        session="s1",
        environment="staging",
    )


def test_ask_files_one_request_and_a_granted_approval_unlocks_once(
    app: Safehold, receiver: Receiver
) -> None:
    first = app.evaluate(
        delete(), requester="token:agent", stated_reason="stale cache", tool_use_id="toolu_1"
    )
    assert first.decision.verdict.value == "ask"
    assert first.approval is not None and first.approval.state == "pending"
    assert first.approval.required_approvals == 1
    again = app.evaluate(delete(), requester="token:agent", tool_use_id="toolu_2")
    assert again.approval is not None and again.approval.id == first.approval.id
    assert len([b for b in receiver.bodies if "Approval requested" in b["text"]]) == 1

    app.vote(first.approval.id, "user:ann", True, "fine")
    allowed = app.evaluate(delete(), requester="token:agent", tool_use_id="toolu_3")
    assert allowed.decision.verdict.value == "allow"
    assert allowed.policy_decision.verdict.value == "ask"
    assert any(
        "approved by user:ann" in r and first.approval.id in r for r in allowed.decision.reasons
    )
    record = app.audit.tail(1, type="decision", tool_use_id="toolu_3")[0]
    assert record.decision == "allow" and record.data["policy_verdict"] == "ask"
    assert record.data["approval"] == first.approval.id
    assert "policy_verdict" not in app.audit.tail(1, tool_use_id="toolu_1")[0].data
    replay = app.evaluate(delete(), requester="token:agent", tool_use_id="toolu_4")
    assert replay.decision.verdict.value == "ask"
    assert replay.approval is not None and replay.approval.id != first.approval.id


def test_an_approval_does_not_unlock_a_changed_action(app: Safehold) -> None:
    ev = app.evaluate(delete(1), requester="token:agent")
    assert ev.approval is not None
    app.vote(ev.approval.id, "user:ann", True)
    for changed in (delete(2), delete(1, session="s2")):
        assert app.evaluate(changed, requester="token:agent").decision.verdict.value == "ask"
    other_requester = app.evaluate(delete(1), requester="token:other", request_approval=False)
    assert other_requester.decision.verdict.value == "ask" and other_requester.approval is None
    assert app.evaluate(delete(1), requester="token:agent").decision.verdict.value == "allow"


def test_the_requester_cannot_approve_its_own_request(app: Safehold) -> None:
    ev = app.evaluate(delete(), requester="token:agent")
    assert ev.approval is not None
    with pytest.raises(SelfApprovalError):
        app.vote(ev.approval.id, "token:agent", True)
    assert app.evaluate(delete(), requester="token:agent").decision.verdict.value == "ask"


def test_an_expired_approval_unlocks_nothing(app: Safehold, clock: Clock) -> None:
    ev = app.evaluate(delete(), requester="token:agent")
    assert ev.approval is not None
    app.vote(ev.approval.id, "user:ann", True)
    clock.advance(3601)
    after = app.evaluate(delete(), requester="token:agent")
    assert after.decision.verdict.value == "ask"
    assert after.approval is not None and after.approval.id != ev.approval.id


def test_production_needs_two_approvers(app: Safehold, receiver: Receiver) -> None:
    action = delete(host="api.prod.example.com", env="production")
    ev = app.evaluate(action, requester="token:agent")
    assert ev.decision.verdict.value == "ask", ev.decision.reasons
    assert ev.approval is not None and ev.approval.required_approvals == 2
    assert ev.approval.environment == "production"
    app.vote(ev.approval.id, "user:ann", True)
    assert app.evaluate(action, requester="token:agent").decision.verdict.value == "ask"
    decided = app.vote(ev.approval.id, "user:bob", True)
    assert decided.state == "approved"
    assert any("is *approved*" in b["text"] for b in receiver.bodies)
    # approved, but the policy wants a snapshot first and nothing can capture an HTTP
    # endpoint: the approval is spent and the action is still not released
    after = app.evaluate(action, requester="token:agent")
    assert after.decision.verdict.value == "deny"
    assert "no snapshot driver covers" in " ".join(after.decision.reasons)
    assert app.approvals.get(ev.approval.id).state == "used"


def test_delay_is_held_then_released_once(app: Safehold, clock: Clock) -> None:
    held = app.evaluate(write(), requester="token:agent")
    assert held.decision.verdict.value == "delay"
    assert held.delay is not None and held.delay.state == "pending"
    assert (held.delay.run_at - clock.now).total_seconds() == 600
    clock.advance(300)
    early = app.evaluate(write(), requester="token:agent")
    assert early.decision.verdict.value == "delay" and early.delay.id == held.delay.id  # type: ignore[union-attr]
    clock.advance(300)
    released = app.evaluate(write(), requester="token:agent")
    assert released.decision.verdict.value == "allow"
    assert released.delay is not None and released.delay.state == "released"
    again = app.evaluate(write(), requester="token:agent")
    assert again.decision.verdict.value == "delay" and again.delay.id != held.delay.id  # type: ignore[union-attr]


def test_a_cancelled_delay_is_never_released(app: Safehold, clock: Clock) -> None:
    held = app.evaluate(write(), requester="token:agent")
    assert held.delay is not None
    app.delays.cancel(held.delay.id, "user:ann")
    clock.advance(601)
    after = app.evaluate(write(), requester="token:agent")
    assert after.decision.verdict.value == "delay" and after.delay.id != held.delay.id  # type: ignore[union-attr]


def test_production_denials_notify(app: Safehold, receiver: Receiver) -> None:
    action = Action(
        "http",
        {"method": "DELETE", "url": "https://api.prod.example.com/v1/x/1"},
        session="s1",
        environment="staging",
    )
    ev = app.evaluate(action, requester="token:agent")
    assert ev.decision.verdict.value == "deny"
    assert any(b["text"].startswith("*Denied* in production") for b in receiver.bodies)


def test_every_evaluation_is_audited_with_its_context(app: Safehold) -> None:
    app.evaluate(
        delete(),
        requester="token:agent",
        tool_use_id="toolu_9",
        parent_session="parent-1",
        stated_reason="PGPASSWORD=hunter2 needed",
    )
    (record,) = app.audit.tail(10, type="decision")
    assert (record.actor, record.agent, record.session) == ("token:agent", "claude-code", "s1")
    assert (record.tool_use_id, record.parent_session) == ("toolu_9", "parent-1")
    assert record.decision == "ask" and record.environment == "staging"
    data: dict[str, Any] = record.data
    assert data["approval"] and data["digest"] and data["action"]["cwd"] == "/home/dev/project"
    assert "hunter2" not in record.payload
    assert app.audit.verify().ok


def test_to_dict_has_the_documented_shape(app: Safehold) -> None:
    d = app.evaluate(delete(), requester="token:agent").to_dict()
    assert {"decision", "reasons", "rules", "facts", "digest", "approval", "delay"} <= set(d)
    assert d["approval"]["url"] == f"https://safehold.example.com/approvals/{d['approval']['id']}"
    assert d["approval"]["state"] == "pending" and d["approval"]["expires_at"].endswith("Z")
    assert d["delay"] is None
    w = app.evaluate(write(), requester="token:agent").to_dict()
    assert w["decision"] == "delay" and w["delay"]["state"] == "pending" and w["approval"] is None


def test_configuration_changes_are_audited(
    tmp_path: Path, store_url: str, receiver: Receiver
) -> None:
    path = write_config(tmp_path, store_url, receiver.url)
    Safehold.open(parse_config_file(path)).close()
    Safehold.open(parse_config_file(path)).close()
    (tmp_path / "policy.cedar").write_text(POLICY.replace("10m", "20m"))
    with Safehold.open(parse_config_file(path)) as sh:
        loaded = sh.audit.tail(10, type="config.loaded")
        assert len(loaded) == 2
        assert loaded[0].data["policy_version"] != loaded[1].data["policy_version"]


def test_session_environment_from_config_applies(
    tmp_path: Path, store_url: str, receiver: Receiver
) -> None:
    path = write_config(tmp_path, store_url, receiver.url)
    path.write_text('environment = "staging"\n' + path.read_text())
    with Safehold.open(parse_config_file(path)) as sh:
        action = Action("http", {"method": "GET", "url": "https://api.prod.example.com/v1/x"})
        ev = sh.evaluate(action, requester="token:agent")
        assert ev.action.environment == "staging"
        assert ev.decision.verdict.value == "deny"  # reaches production from a staging session


def test_pending_work_survives_a_restart(
    tmp_path: Path, store_url: str, receiver: Receiver, clock: Clock
) -> None:
    cfg = parse_config_file(write_config(tmp_path, store_url, receiver.url))
    with Safehold.open(cfg, clock=clock, notify_in_background=False) as sh:
        asked = sh.evaluate(delete(), requester="token:agent")
        held = sh.evaluate(write(), requester="token:agent")
    with Safehold.open(cfg, clock=clock, notify_in_background=False) as sh:
        assert [a.id for a in sh.approvals.list("pending")] == [asked.approval.id]  # type: ignore[union-attr]
        assert [d.id for d in sh.delays.list("pending")] == [held.delay.id]  # type: ignore[union-attr]
        sh.vote(asked.approval.id, "user:ann", True)  # type: ignore[union-attr]
        clock.advance(600)
        assert sh.evaluate(delete(), requester="token:agent").decision.verdict.value == "allow"
        assert sh.evaluate(write(), requester="token:agent").decision.verdict.value == "allow"


NETWORK = "python -c \"import urllib.request; urllib.request.urlopen('https://pypi.org/simple/')\""


def test_a_session_stays_careful_until_a_human_grants_what_it_was_refused(
    app: Safehold,
) -> None:
    """The caution window opens on an ask nobody granted; approving exactly that action lifts
    it, while a refusal of something else keeps the session careful."""
    net = Action("shell", NETWORK, session="s1", environment="staging", cwd="/home/dev/project")
    asked = app.evaluate(delete(), requester="token:agent")
    assert asked.decision.verdict.value == "ask"
    held = app.evaluate(net, requester="token:agent")
    assert held.decision.verdict.value == "ask"
    assert "careful-after-refusal" in held.decision.rule_ids
    record = app.audit.tail(1, type="decision")[0]
    assert record.data["decision"]["facts"]["session"]["session"] == "s1"
    assert asked.approval is not None
    app.vote(asked.approval.id, "user:ann", True)
    assert app.evaluate(delete(), requester="token:agent").decision.verdict.value == "allow"
    assert app.evaluate(net, requester="token:agent").decision.verdict.value == "allow"
    # another session's refusal changes nothing here; a new refusal here closes it again
    app.evaluate(delete(2, session="s2"), requester="token:agent")
    assert app.evaluate(net, requester="token:agent").decision.verdict.value == "allow"
    app.evaluate(delete(3), requester="token:agent")
    assert app.evaluate(net, requester="token:agent").decision.verdict.value == "ask"
