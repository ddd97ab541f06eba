"""A real Safehold with the gateway, fake providers on loopback, credentials and capabilities."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from gateway_helpers import RAILWAY_TOKEN, REST_TOKEN, World, write_gateway_config

from safehold.capabilities.registry import Capabilities
from safehold.config import parse_config_file
from safehold.credentials.keys import key_dir_for
from safehold.credentials.store import CredentialStore
from safehold.replay.providers import FakeRailway, FakeRest
from safehold.server.app import create_app
from safehold.service import Safehold


@pytest.fixture
def railway() -> Iterator[FakeRailway]:
    server = FakeRailway(RAILWAY_TOKEN)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def rest() -> Iterator[FakeRest]:
    server = FakeRest(REST_TOKEN)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def world(tmp_path: Path, railway: FakeRailway, rest: FakeRest) -> World:
    path = write_gateway_config(tmp_path)
    config = parse_config_file(path)
    with Safehold.open(config, notify_in_background=False) as sh:
        creds = CredentialStore.open(sh.store, sh.audit, key_dir_for(config), actor="test")
        creds.add("rw-prod", "railway", "production", RAILWAY_TOKEN, railway.url)
        creds.add("rw-staging", "railway", "staging", RAILWAY_TOKEN, railway.url)
        creds.add("gh", "github", "production", REST_TOKEN, rest.url)
    return World(tmp_path, path, config, railway, rest)


@pytest.fixture
def sh(world: World) -> Iterator[Safehold]:
    with Safehold.open(world.config, notify_in_background=False) as s:
        yield s


@pytest.fixture
def caps(sh: Safehold, world: World) -> Capabilities:
    return Capabilities.open(sh.store, sh.audit, key_dir_for(world.config), actor="test")


@pytest.fixture
def client(sh: Safehold, world: World) -> Iterator[TestClient]:
    app = create_app(sh, world.config.server, tick_seconds=0)
    with TestClient(app, base_url="http://127.0.0.1:8474") as c:
        yield c
