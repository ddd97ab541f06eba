"""Delays: durable, released once after the grace period, cancellable, executed once."""

from __future__ import annotations

import threading

import pytest

from approval_values import Clock, action, decision
from safehold.approvals import decision_digest
from safehold.audit import AuditLog
from safehold.config import DelaySettings
from safehold.delays import Delay, DelayService
from safehold.errors import DelayError, DelayNotFound
from safehold.model import Verdict
from safehold.store import Store, open_store

DELAYED = decision(Verdict.DELAY, delay_seconds=600)


@pytest.fixture
def service(store: Store, clock: Clock) -> DelayService:
    settings = DelaySettings(default_seconds=900, release_window_seconds=3600)
    return DelayService(store, AuditLog(store, clock=clock), settings, clock=clock)


def types(service: DelayService) -> list[str]:
    return [e.type for e in service.audit.tail(1000)]


def test_hold_uses_the_decisions_delay_or_the_default(service: DelayService, clock: Clock) -> None:
    d = service.hold(action(), DELAYED, "token:agent")
    assert d.state == "pending" and (d.run_at - clock.now).total_seconds() == 600
    other = service.hold(action("rm -rf /x"), decision(Verdict.DELAY, target="/x"), "token:agent")
    assert (other.run_at - clock.now).total_seconds() == 900
    assert types(service) == ["delay.created", "delay.created"]


def test_holding_the_same_action_again_reuses_the_delay(
    service: DelayService, clock: Clock
) -> None:
    d = service.hold(action(), DELAYED, "token:agent")
    clock.advance(60)
    again = service.hold(action(), DELAYED, "token:agent")
    assert again.id == d.id and again.run_at == d.run_at


def test_release_happens_once_and_only_after_the_grace_period(
    service: DelayService, clock: Clock
) -> None:
    d = service.hold(action(), DELAYED, "token:agent")
    assert service.release(d.digest) is None
    clock.advance(599)
    assert service.release(d.digest) is None
    clock.advance(1)
    released = service.release(d.digest)
    assert released is not None and released.id == d.id and released.state == "released"
    assert service.release(d.digest) is None
    assert "delay.released" in types(service)


def test_a_changed_action_is_not_released(service: DelayService, clock: Clock) -> None:
    service.hold(action(), DELAYED, "token:agent")
    clock.advance(601)
    assert service.release(decision_digest(action("rm -rf /srv/data2"), DELAYED)) is None
    assert service.release(decision_digest(action(session="s2"), DELAYED)) is None


def test_cancelled_delays_are_never_released(service: DelayService, clock: Clock) -> None:
    d = service.hold(action(), DELAYED, "token:agent")
    cancelled = service.cancel(d.id, "user:ann")
    assert cancelled.state == "cancelled" and cancelled.cancelled_by == "user:ann"
    clock.advance(10_000)
    assert service.release(d.digest) is None
    with pytest.raises(DelayError, match="cancelled"):
        service.cancel(d.id, "user:ann")
    with pytest.raises(DelayError):
        service.run_now(d.id, "user:ann")
    assert "delay.cancelled" in types(service)


def test_run_now_ends_the_grace_period(service: DelayService, clock: Clock) -> None:
    d = service.hold(action(), DELAYED, "token:agent")
    assert service.due() == []
    now = service.run_now(d.id, "user:ann")
    assert now.run_at == clock.now
    assert [x.id for x in service.due()] == [d.id]
    assert service.release(d.digest) is not None
    assert "delay.run_now" in types(service)


def test_a_delay_nobody_came_back_for_lapses(service: DelayService, clock: Clock) -> None:
    d = service.hold(action(), DELAYED, "token:agent")
    clock.advance(600 + 3600)
    assert service.release(d.digest) is None
    assert service.get(d.id).state == "expired"
    again = service.hold(action(), DELAYED, "token:agent")
    assert again.id != d.id


def test_expire_lapsed_closes_old_pending_delays(service: DelayService, clock: Clock) -> None:
    d = service.hold(action(), DELAYED, "token:agent")
    clock.advance(600 + 3600)
    assert [x.id for x in service.expire_lapsed()] == [d.id]
    assert service.list("pending") == []


def test_run_due_executes_each_due_action_once(service: DelayService, clock: Clock) -> None:
    d = service.hold(action(), DELAYED, "token:agent")
    ran: list[Delay] = []
    assert service.run_due(ran.append) == []
    clock.advance(600)
    done = service.run_due(lambda x: ran.append(x) or "ok")
    assert [x.id for x in ran] == [d.id] and done[0].state == "executed"
    assert done[0].result == "ok"
    assert service.run_due(ran.append) == []
    assert service.release(d.digest) is None
    assert [t for t in types(service) if t.startswith("delay.")][-2:] == [
        "delay.running",
        "delay.executed",
    ]


def test_a_failing_executor_marks_the_delay_failed(service: DelayService, clock: Clock) -> None:
    service.hold(action(), DELAYED, "token:agent")
    clock.advance(600)

    def boom(_: Delay) -> None:
        raise RuntimeError("provider said no")

    done = service.run_due(boom)
    assert done[0].state == "failed" and "provider said no" in (done[0].result or "")


def test_concurrent_release_lets_one_through(service: DelayService, clock: Clock) -> None:
    d = service.hold(action(), DELAYED, "token:agent")
    clock.advance(600)
    results: list[object] = []
    barrier = threading.Barrier(4)

    def take() -> None:
        barrier.wait()
        results.append(service.release(d.digest))

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r is not None for r in results) == 1


def test_delays_survive_a_restart(store_url: str, clock: Clock) -> None:
    first = open_store(store_url)
    d = DelayService(first, AuditLog(first), clock=clock).hold(action(), DELAYED, "token:agent")
    first.close()
    clock.advance(600)
    second = open_store(store_url)
    try:
        svc = DelayService(second, AuditLog(second), clock=clock)
        assert [x.id for x in svc.due()] == [d.id]
        assert svc.release(d.digest) is not None
        assert AuditLog(second).verify().ok
    finally:
        second.close()


def test_errors_are_clear(service: DelayService) -> None:
    with pytest.raises(DelayNotFound):
        service.cancel("dl_nope", "user:ann")
    with pytest.raises(DelayNotFound):
        service.get("dl_nope")
    with pytest.raises(DelayError):
        service.hold(action(), DELAYED, "")
    with pytest.raises(DelayError):
        service.list("bogus")


@pytest.mark.postgres
def test_two_servers_running_due_delays_at_once_run_each_once(
    pg_server: object, clock: Clock
) -> None:
    """Every server's gateway loop runs due delays; on a shared PostgreSQL each queued action
    is claimed by one of them and executed once."""
    url = pg_server.create_database()  # type: ignore[attr-defined]
    stores = [open_store(url), open_store(url)]
    settings = DelaySettings(default_seconds=900, release_window_seconds=3600)
    services = [DelayService(s, AuditLog(s, clock=clock), settings, clock=clock) for s in stores]
    try:
        held = {services[n % 2].hold(action(f"curl -X POST https://x/{n}"), DELAYED,
                                     "token:agent").id for n in range(10)}
        clock.advance(600)
        ran: list[str] = []
        lock = threading.Lock()

        def execute(d: Delay) -> str:
            with lock:
                ran.append(d.id)
            return "sent"

        barrier = threading.Barrier(4)

        def loop(service: DelayService) -> None:
            barrier.wait()
            service.run_due(execute)

        threads = [threading.Thread(target=loop, args=(services[n % 2],)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(ran) == sorted(held), "each due delay runs exactly once"
        assert all(services[0].get(i).state == "executed" for i in held)
    finally:
        for s in stores:
            s.close()
