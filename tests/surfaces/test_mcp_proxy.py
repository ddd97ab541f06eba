"""The MCP proxy between the official SDK's client and a real MCP server (notes_server.py),
over stdio and over streamable HTTP: reads pass, a destructive call is refused with a policy
message, never reaches the server, and both decisions are in the audit log."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from .conftest import HERE, SAFEHOLD, audit_entries

SERVER = str(HERE / "notes_server.py")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listening on {port}")


async def _exercise(client: Client) -> tuple[object, object, object]:
    tools = await client.list_tools()
    read = await client.call_tool("read_note", {"name": "welcome"})
    wipe = await client.call_tool("delete_all_notes", {})
    return tools, read, wipe


def _check(tools, read, wipe, store: Path, env: dict) -> None:
    assert {t.name for t in tools.tools} == {"read_note", "list_notes", "delete_all_notes"}
    assert not read.is_error
    assert read.content[0].text == "hello"
    assert wipe.is_error
    text = wipe.content[0].text
    assert "safehold" in text and "delete_all_notes" in text
    assert "approval" in text
    assert "not found" not in text.lower()
    calls = json.loads(store.read_text())["calls"]
    assert calls == ["read_note:welcome"]
    entries = audit_entries(env, 2)
    proxied = [e for e in entries if e.data.get("surface") == "mcp-proxy"]
    by_tool = {e.data["tool"]: e for e in proxied}
    assert by_tool["read_note"].decision == "allow"
    assert by_tool["delete_all_notes"].decision == "ask"
    assert by_tool["delete_all_notes"].data["outcome"] == "deny"
    assert by_tool["delete_all_notes"].data["action"]["input"]["server"] == "notes"


def test_stdio_proxy_passes_reads_and_refuses_a_destructive_call(env: dict, tmp_path: Path):
    store = tmp_path / "notes.json"
    params = StdioServerParameters(
        command=SAFEHOLD,
        args=["mcp-proxy", "--", sys.executable, SERVER, str(store)],
        env=env,
        cwd=str(tmp_path),
    )

    async def main() -> tuple[object, object, object]:
        async with Client(params) as client:
            return await _exercise(client)

    tools, read, wipe = anyio.run(main)
    _check(tools, read, wipe, store, env)


@pytest.fixture
def http_upstream(env: dict, tmp_path: Path):
    store = tmp_path / "notes-http.json"
    port = _port()
    proc = subprocess.Popen([sys.executable, SERVER, str(store), "--http", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}/mcp", store
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_http_proxy_passes_reads_and_refuses_a_destructive_call(
    env: dict, tmp_path: Path, http_upstream
):
    upstream, store = http_upstream
    port = _port()
    proxy = subprocess.Popen(
        [SAFEHOLD, "mcp-proxy", "--upstream", upstream, "--listen", f"127.0.0.1:{port}"],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        _wait_for_port(port, proxy)

        async def main() -> tuple[object, object, object]:
            async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                return await _exercise(client)

        tools, read, wipe = anyio.run(main)
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
    _check(tools, read, wipe, store, env)


def test_a_server_name_given_on_the_command_line_is_what_policy_sees(env: dict, tmp_path: Path):
    store = tmp_path / "named.json"
    params = StdioServerParameters(
        command=SAFEHOLD,
        args=["mcp-proxy", "--server-name", "prod-notes", "--", sys.executable, SERVER,
              str(store)],
        env=env,
    )

    async def main() -> object:
        async with Client(params) as client:
            return await client.call_tool("delete_all_notes", {})

    wipe = anyio.run(main)
    assert wipe.is_error
    assert "prod-notes.delete_all_notes" in wipe.content[0].text


def test_a_broken_policy_stops_the_proxy_before_it_starts_the_server(env: dict, tmp_path: Path):
    policy = tmp_path / "bad.cedar"
    policy.write_text("permit (")
    proc = subprocess.run(
        [SAFEHOLD, "mcp-proxy", "--", sys.executable, SERVER, str(tmp_path / "n.json")],
        env={**env, "SAFEHOLD_POLICY": str(policy)}, capture_output=True, text=True, timeout=60,
        input="",
    )
    assert proc.returncode == 2
    assert "bad.cedar" in proc.stderr
    assert not (tmp_path / "n.json").exists()
