"""Fixtures for the surface tests: an isolated home, a fresh git project, and helpers that run
the real `safehold` executable as an agent would and read the real audit log back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SAFEHOLD = str(Path(sys.executable).with_name("safehold"))
HERE = Path(__file__).parent


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """An environment with its own home, data and config dirs, and no SAFEHOLD_* settings."""
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "tmp").mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SAFEHOLD_", "CLAUDE_"))}
    base.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CONFIG_HOME=str(home / ".config"),
        TMPDIR=str(tmp_path / "tmp"),
        SAFEHOLD_HOOKD="0",  # in-process unless a test is about the daemon
    )
    return base


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("print('hi')\n")
    return root


def run_hook(
    agent: str,
    payload: Any,
    env: dict[str, str],
    *,
    raw: bytes | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> Run:
    data = raw if raw is not None else json.dumps(payload).encode()
    start = time.monotonic()
    proc = subprocess.run(
        [SAFEHOLD, "hook", agent], input=data, capture_output=True, env=env, cwd=cwd,
        timeout=timeout,
    )
    return Run(
        proc.returncode, proc.stdout.decode(), proc.stderr.decode(), time.monotonic() - start
    )


def audit_entries(env: dict[str, str], count: int, timeout: float = 20) -> list[Any]:
    """The newest audit records, waiting for the hook's detached writer to catch up."""
    from safehold.audit import AuditLog
    from safehold.config import load_config
    from safehold.store.db import open_store

    url = load_config(environ=env, cwd=env["HOME"]).database_url
    deadline = time.monotonic() + timeout
    entries: list[Any] = []
    while time.monotonic() < deadline:
        db = Path(url.removeprefix("sqlite:///"))
        if db.exists():
            store = open_store(url)
            try:
                entries = AuditLog(store).tail(200)
            finally:
                store.close()
            if len(entries) >= count:
                return entries
        time.sleep(0.2)
    raise AssertionError(f"expected {count} audit records, found {len(entries)}")


def claude(command: str | None = None, *, tool: str = "Bash", tool_input: Any = None,
           cwd: Path, session: str = "sess-1", **extra: Any) -> dict[str, Any]:
    """Claude Code's PreToolUse input."""
    return {
        "session_id": session,
        "transcript_path": f"/tmp/{session}.jsonl",
        "cwd": str(cwd),
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": tool_input if tool_input is not None else {
            "command": command, "description": "run it"
        },
        "tool_use_id": "toolu_01",
        **extra,
    }


Payload = Callable[..., dict[str, Any]]
