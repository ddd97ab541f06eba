"""What the server tests share: a config on SQLite in a temp dir, inputs the policy asks or
delays for, and signing in through the real form.

The test policy adds one rule so a delay is easy to provoke: HTTP writes to the jobs service
wait an hour. Destructive HTTP calls (DELETE) ask a human under the built-in policy.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

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


def write_config(root: Path) -> Path:
    (root / "policy.cedar").write_text(POLICY)
    path = root / "safehold.toml"
    path.write_text(
        f"""
database_url = "sqlite:///{root / 'safehold.db'}"
policy = "policy.cedar"

[server]
secret_key = "{root / 'secret.key'}"
base_url = "http://127.0.0.1:8474"

[environments.production]
urls = ["https://api.prod.example.com"]

[environments.staging]
urls = ["https://api.staging.example.com"]
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
