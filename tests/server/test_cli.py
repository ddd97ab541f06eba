"""`safehold users`, `safehold tokens` and the first run of `safehold serve` on a terminal."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from server_helpers import csrf_of, free_port, write_config
from typer.testing import CliRunner

from safehold.cli import build_app

runner = CliRunner()


@pytest.fixture
def cfg(tmp_path: Path) -> str:
    return str(write_config(tmp_path))


def cli(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(build_app(), list(args), input=stdin)
    return result.exit_code, result.output


def test_users_add_list_disable(cfg: str) -> None:
    code, out = cli("users", "add", "alice", "--role", "approver", "--password-stdin",
                    "--config", cfg, stdin="long enough password\n")
    assert code == 0, out
    assert "added approver 'alice'" in out
    code, out = cli("users", "add", "alice", "--role", "approver", "--password-stdin",
                    "--config", cfg, stdin="long enough password\n")
    assert code == 1 and "already exists" in out
    code, out = cli("users", "add", "bob", "--role", "approver", "--password-stdin",
                    "--config", cfg, stdin="short\n")
    assert code == 1 and "at least 10 characters" in out
    code, out = cli("users", "add", "carol", "--role", "overlord", "--password-stdin",
                    "--config", cfg, stdin="long enough password\n")
    assert code == 1 and "unknown role" in out
    code, out = cli("users", "add", "../etc", "--role", "viewer", "--password-stdin",
                    "--config", cfg, stdin="long enough password\n")
    assert code == 1 and "must start with a letter or digit" in out
    assert cli("users", "disable", "alice", "--config", cfg)[0] == 0
    code, out = cli("users", "list", "--config", cfg)
    assert re.search(r"alice\s+approver\s+disabled", out), out


def test_tokens_are_printed_once_and_revocable(cfg: str) -> None:
    code, out = cli("tokens", "create", "laptop", "--role", "agent", "--config", cfg)
    assert code == 0, out
    secret = re.search(r"shk_[A-Za-z0-9_-]+", out)
    assert secret
    code, listed = cli("tokens", "list", "--config", cfg)
    assert "laptop" in listed and secret.group(0) not in listed
    assert cli("tokens", "create", "x", "--role", "root", "--config", cfg)[0] == 1
    code, out = cli("tokens", "revoke", "laptop", "--config", cfg)
    assert code == 0 and "revoked 'laptop'" in out
    assert "laptop" not in cli("tokens", "list", "--config", cfg)[1]
    assert "revoked" in cli("tokens", "list", "--all", "--config", cfg)[1]
    assert cli("tokens", "revoke", "laptop", "--config", cfg)[0] == 1


def test_first_run_on_a_terminal_creates_an_admin_and_shows_the_password_once(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path)
    port = free_port()
    master, slave = os.openpty()
    exe = str(Path(sys.executable).with_name("safehold"))
    proc = subprocess.Popen(
        [exe, "serve", "--config", str(config), "--port", str(port)],
        stdin=slave, stdout=slave, stderr=slave, close_fds=True,
    )
    os.close(slave)
    try:
        out = _read_until(master, "Create one now?")
        os.write(master, b"y\n")
        out += _read_until(master, "Username")
        os.write(master, b"oncall\n")
        out += _read_until(master, "serving http://")
        password = re.search(r"store it now\): (\S+)", out)
        assert password, out
        base = f"http://127.0.0.1:{port}"
        client = httpx.Client(base_url=base, follow_redirects=True)
        for _ in range(100):
            try:
                csrf = csrf_of(client.get("/login").text)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        page = client.post("/login", data={"username": "oncall", "password": password.group(1),
                                           "csrf_token": csrf})
        assert "oncall · admin" in page.text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        os.close(master)


def _read_until(fd: int, marker: str, timeout: float = 30.0) -> str:
    text, deadline = "", time.monotonic() + timeout
    while marker not in text:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{marker!r} never appeared in: {text!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            text += chunk.decode(errors="replace")
    return text
