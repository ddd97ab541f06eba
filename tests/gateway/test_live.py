"""The gateway as a user runs it: `safehold serve` as a process, credentials added with the
CLI, and the agent's attempts made by real programs (curl, a Python script with requests or
httpx) — the way an agent walks around a hook. The provider token must reach the fake provider
only for allowed requests, and must appear nowhere safehold wrote."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gateway_helpers import PROJECTS, RAILWAY_TOKEN, VOLUME_DELETE, write_gateway_config
from server_helpers import LiveServer

from safehold.replay.providers import FakeRailway

SAFEHOLD = str(Path(sys.executable).with_name("safehold"))


def cli(config: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SAFEHOLD, *args, "--config", str(config)], input=stdin,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def live(tmp_path: Path, railway: FakeRailway) -> Iterator[tuple[LiveServer, Path, list[str]]]:
    """A running server with two credentials added through the CLI; the third item collects
    every output the run produced, for the leak check."""
    config = write_gateway_config(tmp_path)
    outputs: list[str] = []
    for name, env in (("rw-prod", "production"), ("rw-staging", "staging")):
        r = cli(config, "credentials", "add", name, "--provider", "railway", "--env", env,
                "--upstream", railway.url, stdin=RAILWAY_TOKEN + "\n")
        assert r.returncode == 0, r.stderr
        outputs += [r.stdout, r.stderr]
    server = LiveServer(config).start()
    try:
        yield server, config, outputs
    finally:
        server.stop()


def capability(config: Path, cred: str, outputs: list[str], actions: str = "destructive") -> str:
    r = cli(config, "tokens", "create", "claude", "--role", "agent", "--credential", cred,
            "--actions", actions)
    assert r.returncode == 0, r.stderr
    outputs += [r.stdout, r.stderr]
    token = r.stdout.strip()
    assert token.startswith("shc_") and "\n" not in token, "the token alone on stdout"
    return token


def curl(url: str, token: str, query: str) -> tuple[int, str]:
    r = subprocess.run(
        ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "-X", "POST", url,
         "-H", f"Authorization: Bearer {token}", "-H", "Content-Type: application/json",
         "--data", json.dumps({"query": query})],
        capture_output=True, text=True, timeout=60, check=False)
    body, _, code = r.stdout.rpartition("\n")
    return int(code), body


SCRIPT = """
import json, os, sys
lib = sys.argv[1]
url = os.environ["SAFEHOLD_GATEWAY_RW_PROD"] + "/graphql/v2"
headers = {"Authorization": "Bearer " + os.environ["RAILWAY_API_TOKEN"]}
body = {"query": 'mutation { volumeDelete(volumeId: "vol-prod-db") }'}
if lib == "requests":
    import requests
    r = requests.post(url, json=body, headers=headers, timeout=30)
else:
    import httpx
    r = httpx.post(url, json=body, headers=headers, timeout=30)
print(r.status_code)
print(r.text)
"""


def agent_env(config: Path, base: str, outputs: list[str]) -> dict[str, str]:
    """`safehold env --agent`, parsed the way a shell would export it."""
    r = cli(config, "env", "--agent", "claude", "--env", "production", "--actions",
            "destructive")
    assert r.returncode == 0, r.stderr
    outputs += [r.stdout, r.stderr]
    env = {}
    for line in r.stdout.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value.strip("'").replace("http://127.0.0.1:8474", base)
    return env


def test_agent_programs_read_through_the_gateway_and_cannot_delete_the_volume(
    live: tuple[LiveServer, Path, list[str]], railway: FakeRailway, tmp_path: Path,
) -> None:
    server, config, outputs = live
    token = capability(config, "rw-prod", outputs)
    url = f"{server.base}/gateway/rw-prod/graphql/v2"

    code, body = curl(url, token, PROJECTS)
    assert code == 200 and "vol-prod-db" in body
    outputs.append(body)
    code, body = curl(url, token, VOLUME_DELETE)
    assert code == 403 and "SAFEHOLD_DENIED" in body
    outputs.append(body)

    env = agent_env(config, server.base, outputs)
    assert RAILWAY_TOKEN not in json.dumps(env)
    script = tmp_path / "fix.py"
    script.write_text(SCRIPT)
    for lib in ("requests", "httpx"):
        r = subprocess.run([sys.executable, str(script), lib], capture_output=True, text=True,
                           env={"PATH": "/usr/bin:/bin", **env}, timeout=60, check=False)
        assert r.returncode == 0, r.stderr
        status, _, text = r.stdout.partition("\n")
        assert status == "403" and "SAFEHOLD_DENIED" in text, r.stdout
        outputs += [r.stdout, r.stderr]

    assert railway.mutations("volumeDelete") == []
    assert "vol-prod-db" in railway.state.volumes
    allowed = [x for x in railway.received if x.headers.get("authorization")]
    assert len(allowed) == 1 and "projects" in allowed[0].body

    # the provider token appears nowhere safehold wrote or said
    cli(config, "users", "add", "ops", "--role", "admin", "--password-stdin",
        stdin="correct horse battery staple\n")
    admin = cli(config, "tokens", "create", "ops", "--role", "admin", "--user", "ops"
                ).stdout.strip()
    api = httpx.get(f"{server.base}/api/v1/audit?limit=200",
                    headers={"Authorization": f"Bearer {admin}"}).text
    listing = cli(config, "credentials", "list")
    audit = cli(config, "audit", "tail", "-n", "200")
    outputs += [api, listing.stdout, listing.stderr, audit.stdout, audit.stderr]
    assert "rw-prod" in listing.stdout and "railway" in listing.stdout
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != script]
    assert any(p.name == "safehold.db" for p in written)
    for p in written:
        assert RAILWAY_TOKEN.encode() not in p.read_bytes(), f"secret in {p}"
    for text in outputs:
        assert RAILWAY_TOKEN not in text


def test_a_delayed_delete_survives_a_server_kill_and_runs_when_due(
    live: tuple[LiveServer, Path, list[str]], railway: FakeRailway,
) -> None:
    server, config, outputs = live
    token = capability(config, "rw-staging", outputs)
    code, body = curl(f"{server.base}/gateway/rw-staging/graphql/v2", token, VOLUME_DELETE)
    assert code == 202, body
    delay_id = json.loads(body)["errors"][0]["extensions"]["delay"]["id"]
    server.kill()
    assert railway.mutations("volumeDelete") == []

    restarted = LiveServer(config, port=server.port).start()
    try:
        cli(config, "users", "add", "pat", "--role", "approver", "--password-stdin",
            stdin="correct horse battery staple\n")
        approver = cli(config, "tokens", "create", "pager", "--role", "approver", "--user",
                       "pat").stdout.strip()
        h = {"Authorization": f"Bearer {approver}"}
        r = httpx.post(f"{restarted.base}/api/v1/delays/{delay_id}/run-now", headers=h)
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 30
        while not railway.mutations("volumeDelete") and time.monotonic() < deadline:
            time.sleep(0.2)
        [sent] = railway.mutations("volumeDelete")
        assert sent.headers["authorization"] == f"Bearer {RAILWAY_TOKEN}"
        assert "vol-prod-db" not in railway.state.volumes
        state = httpx.get(f"{restarted.base}/api/v1/delays", headers=h).json()["delays"][0]
        assert state["id"] == delay_id and state["state"] == "executed"
        time.sleep(1.5)
        assert len(railway.mutations("volumeDelete")) == 1, "sent more than once"
    finally:
        restarted.stop()
