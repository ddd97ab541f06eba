"""Webhooks are posted to a real local HTTP server; failures are audited and never raise."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from approval_values import action, decision
from safehold.approvals import ApprovalService
from safehold.audit import AuditLog
from safehold.config import NotificationSettings, WebhookSettings
from safehold.model import Verdict
from safehold.notify import Notifier
from safehold.store import Store, open_store
from webhook_receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def store(tmp_path: Any) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'n.db'}")
    yield s
    s.close()


def notifier(
    store: Store,
    url: str,
    *,
    events: tuple[str, ...] = ("approval.requested", "deny.production"),
    timeout: float = 2.0,
    background: bool = False,
) -> Notifier:
    settings = NotificationSettings(webhooks=(WebhookSettings(url, events, timeout),))
    return Notifier(
        settings,
        base_url="https://safehold.example.com/",
        audit=AuditLog(store),
        background=background,
    )


def test_approval_request_posts_slack_json_with_a_link(store: Store, receiver: Receiver) -> None:
    approvals = ApprovalService(store, AuditLog(store))
    a = approvals.request(
        action("PGPASSWORD=hunter2 rm -rf /srv/data"), decision(), "token:agent", "clean up"
    )
    futures = notifier(store, receiver.url).approval_requested(a)
    assert [f.result() for f in futures] == [True]
    (body,) = receiver.bodies
    link = f"https://safehold.example.com/approvals/{a.id}"
    assert link in body["text"] and "token:agent" in body["text"]
    assert body["blocks"][1]["elements"][0]["url"] == link
    assert "hunter2" not in json.dumps(body)
    assert receiver.paths == ["/hooks/T0/SECRETPATH"]


def test_only_production_denials_are_sent(store: Store, receiver: Receiver) -> None:
    n = notifier(store, receiver.url)
    denied = decision(Verdict.DENY, environment="production")
    assert n.denied(action(), decision(Verdict.DENY), protected=False) == []
    assert [f.result() for f in n.denied(action(), denied, protected=True)] == [True]
    assert "Denied" in receiver.bodies[0]["text"] and "production" in receiver.bodies[0]["text"]


def test_unsubscribed_events_are_not_sent(store: Store, receiver: Receiver) -> None:
    n = notifier(store, receiver.url, events=("deny.production",))
    a = ApprovalService(store, AuditLog(store)).request(action(), decision(), "token:agent")
    assert n.approval_requested(a) == []
    assert receiver.bodies == []


def test_a_failing_webhook_is_audited_without_its_secret(store: Store, receiver: Receiver) -> None:
    receiver.status = 500
    n = notifier(store, receiver.url)
    assert [f.result() for f in n.denied(action(), decision(Verdict.DENY), protected=True)] == [
        False
    ]
    (record,) = AuditLog(store).tail(5, type="notify.failed")
    assert record.data["event"] == "deny.production"
    assert "SECRETPATH" not in record.payload
    assert "500" in record.data["error"]


def test_an_unreachable_webhook_does_not_raise(store: Store) -> None:
    n = notifier(store, "http://127.0.0.1:9/nothing", timeout=0.5)
    assert [f.result() for f in n.denied(action(), decision(Verdict.DENY), protected=True)] == [
        False
    ]
    assert AuditLog(store).tail(5, type="notify.failed")


def test_background_delivery_does_not_block_the_caller(store: Store, receiver: Receiver) -> None:
    """The webhook holds its answer until the caller is back: a blocking delivery would still
    be waiting (or have given up) when `denied` returns, a background one is under way."""
    receiver.answering.clear()
    n = notifier(store, receiver.url, background=True, timeout=60)
    try:
        futures = n.denied(action(), decision(Verdict.DENY), protected=True)
        assert not futures[0].done()
    finally:
        receiver.answering.set()
    assert futures[0].result(timeout=60) is True
    n.close()


def test_a_webhook_that_never_answers_is_given_up_on(store: Store, receiver: Receiver) -> None:
    receiver.answering.clear()
    n = notifier(store, receiver.url, timeout=0.3)
    try:
        assert n.denied(action(), decision(Verdict.DENY), protected=True)[0].result(
            timeout=60) is False
    finally:
        receiver.answering.set()
    assert AuditLog(store).tail(5, type="notify.failed")
