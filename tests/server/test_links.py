"""Approval links lead somewhere a person can open: `base_url` when configured; behind a
wildcard bind (`--host 0.0.0.0`), the address the caller used when it names this machine, else
the machine's name; never 0.0.0.0, and never a name the caller made up."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from server_helpers import ask_input, bearer, write_config

from safehold.config import ServerSettings, default_base_url, listening_on, parse_config_file
from safehold.server.app import create_app
from safehold.service import Safehold


def wildcard_config(tmp_path: Path, base_url: str | None):
    path = write_config(tmp_path)
    text = path.read_text().replace('base_url = "http://127.0.0.1:8474"\n',
                                    f'base_url = "{base_url}"\n' if base_url else "")
    path.write_text(text.replace("[server]\n", '[server]\nhost = "0.0.0.0"\nport = 8474\n'))
    return parse_config_file(path)


@pytest.fixture
def wildcard(tmp_path: Path, accounts_for) -> Iterator[tuple[TestClient, str]]:
    yield from accounts_for(wildcard_config(tmp_path, None))


@pytest.fixture
def accounts_for():
    def start(config):
        from safehold.server.accounts import Accounts

        with Safehold.open(config, notify_in_background=False) as sh:
            token = Accounts(sh.store).create_token("agent-token", "agent").secret
            with TestClient(create_app(sh, config.server, tick_seconds=0)) as c:
                yield c, token
    return start


def approval_link(client: TestClient, token: str, host: str) -> str:
    r = client.post("/api/v1/decisions", headers={**bearer(token), "Host": host},
                    json={"kind": "http", "input": ask_input()})
    assert r.status_code == 200, r.text
    url = r.json()["approval"]["url"]
    rid = r.json()["approval"]["id"]
    polled = client.get(f"/api/v1/approvals/{rid}", headers={**bearer(token), "Host": host})
    assert polled.json()["url"] == url
    return str(url)


def test_a_wildcard_bind_never_links_to_0_0_0_0(tmp_path: Path) -> None:
    config = wildcard_config(tmp_path, None)
    assert "0.0.0.0" not in config.server.base_url
    assert config.server.base_url == f"http://{socket.getfqdn()}:8474"
    assert default_base_url("::", 9000) == f"http://{socket.getfqdn()}:9000"
    assert default_base_url("::1", 9000) == "http://[::1]:9000"


def test_the_address_the_caller_used_when_it_names_this_machine(wildcard) -> None:
    client, token = wildcard
    assert approval_link(client, token, "127.0.0.1:8474").startswith("http://127.0.0.1:8474/")
    assert approval_link(client, token, "localhost:8474").startswith("http://localhost:8474/")


@pytest.mark.parametrize("host", ["evil.example:8474", "127.0.0.1:9999", "0.0.0.0:8474",
                                  "203.0.113.9:8474", "127.0.0.1", "[::]:8474"])
def test_a_host_header_that_is_not_this_server_is_not_believed(wildcard, host: str) -> None:
    client, token = wildcard
    url = approval_link(client, token, host)
    assert url.startswith(f"http://{socket.getfqdn()}:8474/approvals/"), url


def test_a_configured_base_url_always_wins(tmp_path: Path, accounts_for) -> None:
    config = wildcard_config(tmp_path, "https://safehold.example.internal")
    for client, token in accounts_for(config):
        url = approval_link(client, token, "127.0.0.1:8474")
        assert url.startswith("https://safehold.example.internal/approvals/"), url


def test_serve_host_flag_moves_only_a_derived_base_url(tmp_path: Path) -> None:
    moved = listening_on(wildcard_config(tmp_path, None).server, "0.0.0.0", 9100)
    assert moved.base_url == f"http://{socket.getfqdn()}:9100"
    local = listening_on(ServerSettings(), "0.0.0.0", 8474)  # no config file at all
    assert "0.0.0.0" not in local.base_url and local.port == 8474
    public = wildcard_config(tmp_path, "https://safehold.example.internal").server
    assert listening_on(public, "0.0.0.0", 9100).base_url == "https://safehold.example.internal"
