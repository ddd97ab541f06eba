"""Approvals: bound to one action, separated duties, quorum, single use, expiry."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from approval_values import Clock, action, decision
from safehold.approvals import ApprovalService, action_digest, decision_digest
from safehold.audit import AuditLog
from safehold.config import ApprovalSettings
from safehold.errors import ApprovalClosed, ApprovalError, ApprovalNotFound, SelfApprovalError
from safehold.model import Action
from safehold.store import Store, open_store


@pytest.fixture
def service(store: Store, clock: Clock) -> ApprovalService:
    return ApprovalService(
        store,
        AuditLog(store, clock=clock),
        ApprovalSettings(ttl_seconds=3600, production_approvers=2),
        protected={"production"},
        clock=clock,
    )


def types(service: ApprovalService) -> list[str]:
    return [e.type for e in service.audit.tail(1000)]


def test_request_is_pending_and_audited(service: ApprovalService, clock: Clock) -> None:
    a = service.request(action(), decision(), "token:agent", "cleaning build output")
    assert a.state == "pending"
    assert a.required_approvals == 1
    assert a.created_at == clock.now
    assert (a.expires_at - a.created_at).total_seconds() == 3600
    assert a.digest == decision_digest(action(), decision())
    assert a.action["input"] == "rm -rf /srv/data" and a.agent == "claude-code"
    assert a.stated_reason == "cleaning build output"
    assert types(service) == ["approval.requested"]
    assert service.audit.verify().ok


def test_same_action_reuses_the_pending_request(service: ApprovalService) -> None:
    first = service.request(action(), decision(), "token:agent")
    again = service.request(action(), decision(), "token:agent")
    assert again.id == first.id
    other = service.request(
        action("rm -rf /srv/other"), decision(target="/srv/other"), "token:agent"
    )
    assert other.id != first.id
    assert len(service.list("pending")) == 2


def test_production_needs_two_distinct_approvers(service: ApprovalService) -> None:
    a = service.request(
        action(environment="production"), decision(environment="production"), "token:agent"
    )
    assert a.required_approvals == 2
    a = service.vote(a.id, "user:ann", True)
    assert a.state == "pending" and a.approvers == ("user:ann",)
    with pytest.raises(ApprovalError, match="already voted"):
        service.vote(a.id, "USER:Ann", True)
    a = service.vote(a.id, "user:bob", True, "checked the backup")
    assert a.state == "approved" and set(a.approvers) == {"user:ann", "user:bob"}
    assert a.votes[1].comment == "checked the backup"
    assert "approval.approved" in types(service)


def test_requester_can_never_vote(service: ApprovalService) -> None:
    a = service.request(action(), decision(), "user:ann")
    for who in ("user:ann", " USER:ANN "):
        with pytest.raises(SelfApprovalError):
            service.vote(a.id, who, True)
    with pytest.raises(SelfApprovalError):
        service.vote(a.id, "user:ann", False)
    assert service.get(a.id).state == "pending"
    assert types(service).count("approval.vote_refused") == 3


def test_one_denial_denies(service: ApprovalService) -> None:
    a = service.request(
        action(environment="production"), decision(environment="production"), "token:agent"
    )
    service.vote(a.id, "user:ann", True)
    a = service.vote(a.id, "user:bob", False, "not during the freeze")
    assert a.state == "denied" and a.decided_at is not None
    with pytest.raises(ApprovalClosed):
        service.vote(a.id, "user:cat", True)
    assert service.consume(a.digest) is None


def test_unknown_request_and_blank_identities(service: ApprovalService) -> None:
    with pytest.raises(ApprovalNotFound):
        service.vote("ap_nope", "user:ann", True)
    with pytest.raises(ApprovalNotFound):
        service.get("ap_nope")
    with pytest.raises(ApprovalError):
        service.request(action(), decision(), "  ")
    a = service.request(action(), decision(), "token:agent")
    with pytest.raises(ApprovalError):
        service.vote(a.id, "", True)
    with pytest.raises(ApprovalError):
        service.list("bogus")


def _approved(service: ApprovalService, requester: str = "token:agent"):  # type: ignore[no-untyped-def]
    a = service.request(action(), decision(), requester)
    return service.vote(a.id, "user:ann", True)


def test_consume_unlocks_exactly_once(service: ApprovalService) -> None:
    a = _approved(service)
    used = service.consume(a.digest, requester="token:agent", session="s1")
    assert used is not None and used.id == a.id and used.state == "used"
    assert used.used_at is not None
    assert service.consume(a.digest, requester="token:agent", session="s1") is None
    assert service.get(a.id).state == "used"
    assert types(service)[-1] == "approval.used"


def test_consume_refuses_a_changed_action(service: ApprovalService) -> None:
    a = _approved(service)
    changed = [
        action("rm -rf /srv/data/*"),
        action(cwd="/elsewhere"),
        action(session="s2"),
        action(environment="production"),
    ]
    for act in changed:
        assert service.consume(decision_digest(act, decision()), requester="token:agent") is None
    other_policy = decision(policy_version="p2")
    assert service.consume(decision_digest(action(), other_policy)) is None
    other_target = decision(target="/srv/data2")
    assert service.consume(decision_digest(action(), other_target)) is None
    assert service.get(a.id).state == "approved"


def test_consume_refuses_another_requester_or_session(service: ApprovalService) -> None:
    a = _approved(service)
    assert service.consume(a.digest, requester="token:other-agent") is None
    assert service.consume(a.digest, session="s9") is None
    assert service.consume(a.digest, requester="token:agent", session="s1") is not None


def test_pending_or_expired_requests_unlock_nothing(service: ApprovalService, clock: Clock) -> None:
    pending = service.request(action(), decision(), "token:agent")
    assert service.consume(pending.digest) is None
    approved = service.vote(pending.id, "user:ann", True)
    clock.advance(3601)
    assert service.consume(approved.digest) is None
    expired = service.expire_due()
    assert [e.id for e in expired] == [approved.id] and expired[0].state == "expired"
    assert "approval.expired" in types(service)


def test_vote_after_expiry_is_refused_and_expires_the_request(
    service: ApprovalService, clock: Clock
) -> None:
    a = service.request(action(), decision(), "token:agent")
    clock.advance(3600)
    with pytest.raises(ApprovalClosed, match="expired"):
        service.vote(a.id, "user:ann", True)
    assert service.get(a.id).state == "expired"
    fresh = service.request(action(), decision(), "token:agent")
    assert fresh.id != a.id and fresh.state == "pending"


def test_concurrent_consumers_get_one_use(service: ApprovalService) -> None:
    a = _approved(service)
    results: list[object] = []
    barrier = threading.Barrier(4)

    def take() -> None:
        barrier.wait()
        results.append(service.consume(a.digest))

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r is not None for r in results) == 1


def test_pending_requests_survive_a_restart(store_url: str, clock: Clock) -> None:
    first = open_store(store_url)
    svc = ApprovalService(first, AuditLog(first), clock=clock)
    a = svc.request(action(), decision(), "token:agent")
    first.close()
    second = open_store(store_url)
    try:
        svc2 = ApprovalService(second, AuditLog(second), clock=clock)
        assert [x.id for x in svc2.list("pending")] == [a.id]
        assert svc2.vote(a.id, "user:ann", True).state == "approved"
        assert svc2.consume(a.digest) is not None
    finally:
        second.close()


def test_every_change_is_audited_and_the_chain_holds(service: ApprovalService) -> None:
    a = _approved(service)
    service.consume(a.digest)
    assert types(service) == [
        "approval.requested",
        "approval.vote",
        "approval.approved",
        "approval.used",
    ]
    assert service.audit.verify().ok


def test_secrets_in_a_request_are_redacted(service: ApprovalService) -> None:
    act = action("PGPASSWORD=hunter2 psql -c 'drop table t'")
    a = service.request(act, decision(), "token:agent", "password=hunter2 was in the env")
    assert "hunter2" not in str(a.action) and "hunter2" not in (a.stated_reason or "")
    assert a.digest == decision_digest(act, decision())


def test_digest_normalises_only_what_cannot_change_the_action() -> None:
    d = decision()
    base = action_digest(action(), d.facts, "staging", "p1")
    assert action_digest(action("rm -rf /srv/data\n"), d.facts, "staging", "p1") == base
    assert action_digest(action("rm -rf  /srv/data"), d.facts, "staging", "p1") != base
    assert action_digest(action(), d.facts, "production", "p1") != base
    http = Action("http", {"method": "delete", "url": "https://x/y", "headers": {"X-A": "1"}})
    same = Action("http", {"url": "https://x/y", "method": "DELETE", "headers": {"x-a": "1"}})
    assert action_digest(http, d.facts, None, "p1") == action_digest(same, d.facts, None, "p1")
    assert action_digest(replace(http, options={"dialect": "pg"}), d.facts, None, "p1") != (
        action_digest(http, d.facts, None, "p1")
    )
