"""The walkthrough in docs/server.md, as a new user would run it: no configuration file, the
embedded SQLite default, the CLI to create a user and a token, the API to ask, the dashboard's
form to approve, and `safehold audit verify` before and after a row is edited."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from server_helpers import LiveServer, bearer, csrf_of

SAFEHOLD = str(Path(sys.executable).with_name("safehold"))
PUSH = {
    "kind": "shell",
    "input": "git push --force origin main",
    "agent": "claude-code",
    "session": "demo-1",
    "reason": "rebased the feature branch",
}


def run(
    env: dict[str, str], cwd: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SAFEHOLD, *args], input=stdin, capture_output=True, text=True, env=env, cwd=cwd,
        timeout=60,
    )


def test_fresh_install_walkthrough(tmp_path: Path) -> None:
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
    }
    env.pop("SAFEHOLD_CONFIG", None)
    env.pop("SAFEHOLD_POLICY", None)

    server = LiveServer(None, workdir=work, env=env).start()
    try:
        log = server.log.read_text()
        assert "no admin user exists yet" in log
        assert "safehold users add admin --role admin" in log

        added = run(env, work, "users", "add", "admin", "--role", "admin", "--password-stdin",
                    stdin="a long admin password\n")
        assert added.returncode == 0, added.stderr
        created = run(env, work, "tokens", "create", "claude-laptop", "--role", "agent")
        assert created.returncode == 0, created.stderr
        token = created.stdout.strip()
        assert token.startswith("shk_") and "\n" not in token

        def ask() -> dict[str, Any]:
            r = httpx.post(server.base + "/api/v1/decisions", json=PUSH, headers=bearer(token))
            assert r.status_code == 200, r.text
            return r.json()

        first = ask()
        assert first["decision"] == "ask"
        approval = first["approval"]["id"]
        assert first["approval"]["url"] == f"{server.base}/approvals/{approval}"

        browser = httpx.Client(base_url=server.base, follow_redirects=True)
        csrf = csrf_of(browser.get("/login").text)
        page = browser.post("/login", data={"username": "admin",
                                            "password": "a long admin password",
                                            "csrf_token": csrf})
        assert f'id="approval-{approval}"' in page.text
        assert "git push --force origin main" in page.text
        assert "rebased the feature branch" in page.text
        browser.post(f"/approvals/{approval}/decide",
                     data={"verdict": "approve", "comment": "my branch",
                           "csrf_token": csrf_of(page.text)})

        assert ask()["decision"] == "allow"
        again = ask()
        assert again["decision"] == "ask"
        assert again["approval"]["id"] != approval

        audit = browser.get("/audit").text
        for event in ("approval.requested", "approval.vote", "approval.approved",
                      "approval.used", "user.sign_in"):
            assert event in audit
        assert "Chain verified" in audit
    finally:
        server.stop()

    verified = run(env, work, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr

    database = home / ".local" / "share" / "safehold" / "safehold.db"
    assert database.is_file()
    with sqlite3.connect(database) as db:
        db.execute("UPDATE audit_records SET decision = 'allow' WHERE seq = 3")
    tampered = run(env, work, "audit", "verify")
    assert tampered.returncode == 1
    assert "record 3" in tampered.stdout + tampered.stderr
