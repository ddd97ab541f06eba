"""The fake provider's volumes as the replay relies on them: deleting one stops what runs on
it and removes its directory with the backups; programs reach it as the real API's host
through `http_proxy`; only its own tokens are acted on, and every request is on record."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from safehold.replay.providers import FakeRailway

TOKEN = "acct-token-1"
DELETE = {"query": 'mutation { volumeDelete(volumeId: "vol-x") }'}


@pytest.fixture
def provider() -> Iterator[FakeRailway]:
    p = FakeRailway(TOKEN, other_tokens=("staging-token",))
    p.start()
    yield p
    p.stop()


def post(provider: FakeRailway, token: str, body: dict[str, object]) -> httpx.Response:
    """As a client with `http_proxy` set: the real API's URL, sent to the fake."""
    with httpx.Client(proxy=provider.url, timeout=10) as client:
        return client.post("http://backboard.railway.app/graphql/v2", json=body,
                           headers={"Authorization": f"Bearer {token}"})


def test_a_deleted_volume_takes_its_directory_and_backups_and_stops_what_ran_on_it(
    provider: FakeRailway, tmp_path: Path,
) -> None:
    stopped: list[bool] = []
    volume = provider.attach_volume("vol-x", "data", tmp_path / "vol-x",
                                    on_delete=lambda: stopped.append(True))
    (volume / "pgdata").mkdir()
    backup = provider.add_backup("vol-x", "bk-1", "2026-12-01", b"dump")
    assert backup.parent == volume / "backups"

    refused = post(provider, "shc_not-a-provider-token", DELETE)
    assert refused.status_code == 401 and provider.volume_exists("vol-x")
    assert provider.accepted("volumeDelete") == [] and volume.exists() and not stopped

    done = post(provider, "staging-token", DELETE)  # an account token reaches every project
    assert done.json() == {"data": {"volumeDelete": True}}
    assert not provider.volume_exists("vol-x") and not volume.exists() and stopped == [True]
    (accepted,) = provider.accepted("volumeDelete")
    assert accepted.path == "/graphql/v2" and accepted.headers["host"] == "backboard.railway.app"
    assert [r.authorized for r in provider.mutations("volumeDelete")] == [False, True]
