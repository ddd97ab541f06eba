"""The sign-in throttle over the store, on each backend: counted before the password is
checked, un-counted on success, aged out after the window, and the table kept small."""

from __future__ import annotations

from sqlalchemy import func, select

from approval_values import Clock
from safehold.server.auth import SignInThrottle
from safehold.store import Store
from safehold.store.models import SignInFailure


def _rows(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(SignInFailure)) or 0)


def test_failures_throttle_then_age_out(store: Store, clock: Clock) -> None:
    throttle = SignInThrottle(store, limit=5, window=300, clock=clock)
    for _ in range(5):
        assert throttle.claim("Alice", "10.0.0.1").wait == 0
        clock.advance(10)
    refused = throttle.claim(" alice ", "10.0.0.2")
    assert refused.wait == 300 - 50 + 1, "until the oldest of the five is 300 s old"
    assert refused.ids == (), "a refused attempt is not counted"
    assert throttle.claim("bob", "10.0.0.1").wait == 0, "another name from the same address"
    clock.advance(300)
    assert throttle.claim("alice", "10.0.0.1").wait == 0


def test_a_right_password_uncounts_the_attempt_and_clears_the_name(
    store: Store, clock: Clock
) -> None:
    throttle = SignInThrottle(store, limit=5, window=300, clock=clock)
    for _ in range(4):
        throttle.claim("alice", "10.0.0.1")
    throttle.succeeded(throttle.claim("alice", "10.0.0.1"), "alice")
    for _ in range(5):
        assert throttle.claim("alice", "10.0.0.1").wait == 0
    assert throttle.claim("alice", "10.0.0.1").wait > 0


def test_the_address_limit_holds_across_names_and_old_rows_are_removed(
    store: Store, clock: Clock
) -> None:
    throttle = SignInThrottle(store, limit=5, window=300, clock=clock)
    for n in range(20):
        assert throttle.claim(f"user{n}", "203.0.113.9").wait == 0
    assert throttle.claim("user99", "203.0.113.9").wait > 0, "rotating names from one address"
    assert _rows(store) == 40
    clock.advance(301)
    throttle.claim("someone", "198.51.100.1")
    assert _rows(store) == 2, "names tried once do not stay in the table"
