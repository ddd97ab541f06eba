"""What the server tests share: a config on SQLite in a temp dir, inputs the policy asks or
delays for, and signing in through the real form.

The test policy adds one rule so a delay is easy to provoke: HTTP writes to the jobs service
wait an hour. Destructive HTTP calls (DELETE) ask a human under the built-in policy.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

PASSWORD = "correct horse battery staple"

POLICY = """
@id("test-jobs-delay")
@decision("delay")
@delay("1h")
@reason("writes to the jobs service wait an hour")
permit (principal, action == Action::"http", resource)
when { context.effect == "write" };
"""


def write_config(root: Path, extra: str = "", database_url: str | None = None) -> Path:
    (root / "policy.cedar").write_text(POLICY)
    path = root / "safehold.toml"
    path.write_text(
        f"""
database_url = "{database_url or f'sqlite:///{root / "safehold.db"}'}"
policy = "policy.cedar"

[server]
secret_key = "{root / 'secret.key'}"
base_url = "http://127.0.0.1:8474"

[audit]
signing_key = "{root / 'keys' / 'audit-signing.key'}"
checkpoints = "{root / 'checkpoints' / 'audit-checkpoints.jsonl'}"

[environments.production]
urls = ["https://api.prod.example.com"]

[environments.staging]
urls = ["https://api.staging.example.com"]
{extra}
"""
    )
    return path


def ask_input(n: int = 1, host: str = "api.staging.example.com") -> dict[str, Any]:
    """A destructive HTTP call: the built-in policy asks a human for it."""
    return {"method": "DELETE", "url": f"https://{host}/v1/caches/{n}"}


def delay_input(n: int = 1) -> dict[str, Any]:
    return {"method": "POST", "url": f"https://api.staging.example.com/v1/jobs/{n}/restart"}


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "page carries no CSRF token"
    return m.group(1)


def production_approval(html: str, csrf: str, comment: str = "checked with the team"
                        ) -> dict[str, str]:
    """The form fields approving a production request takes: a comment and the confirmation
    the card shows (the environment and every target), read back from the page."""
    import html as html_lib

    m = re.search(r'name="confirm" value="([^"]*)"', html)
    assert m, "the page shows no production confirmation"
    return {"verdict": "approve", "comment": comment, "confirm": html_lib.unescape(m.group(1)),
            "csrf_token": csrf}


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the real form; returns the session's CSRF token."""
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_of(client.get("/").text)


CHROMIUM = "/usr/bin/chromium"
#: Screenshots saved for a person to review during this run; the summary names the folder.
SAVED_SCREENSHOTS: list[Path] = []


def review_screenshot_dir() -> Path:
    """Where a run keeps the dashboard screenshots meant for review: `$SAFEHOLD_SCREENSHOTS`,
    else `test-artifacts/screenshots/` in the checkout (git-ignored)."""
    default = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
    target = Path(os.environ.get("SAFEHOLD_SCREENSHOTS") or default)
    target.mkdir(parents=True, exist_ok=True)
    return target
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """`safehold serve` as a real subprocess on 127.0.0.1, the way a user starts it."""

    def __init__(
        self,
        config_path: Path | None,
        port: int | None = None,
        *,
        workdir: Path | None = None,
        env: dict[str, str] | None = None,
    ):
        self.config_path = config_path
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir or (config_path.parent if config_path else Path.cwd())
        self.env = env
        self.log = self.workdir / f"serve-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> LiveServer:
        exe = Path(sys.executable).with_name("safehold")
        cmd = [str(exe), "serve", "--port", str(self.port)]
        if self.config_path is not None:
            cmd += ["--config", str(self.config_path)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.workdir, env=self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"safehold serve exited: {self.log.read_text()}")
            try:
                if httpx.get(self.base + "/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"safehold serve did not come up: {self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing; what a power cut looks like."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def decide(self, token: str, input: Any, **extra: Any) -> dict[str, Any]:
        body = {"kind": "http", "input": input, "agent": "claude-code", "session": "s-live",
                **extra}
        r = httpx.post(self.base + "/api/v1/decisions", json=body, headers=bearer(token),
                       timeout=30)
        r.raise_for_status()
        return r.json()
