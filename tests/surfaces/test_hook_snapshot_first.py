"""A hook without a server: the agent's own prompt releases the action, so a snapshot-first
decision takes its snapshot before that prompt, or the agent is refused."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest

from .conftest import claude, run_hook


def _prod(project: Path, env: dict[str, str], store: Path | None) -> Path:
    db = project / "prod.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE t (x)")
        c.execute("INSERT INTO t VALUES (1)")
    stores = f'\n[snapshots.stores.offsite]\nkind = "directory"\npath = "{store}"\n' if store \
        else ""
    (project / "safehold.toml").write_text(
        f'database_url = "sqlite:///{Path(env["HOME"]) / "safehold.db"}"\n\n'
        f'[environments.production]\npaths = ["{db}"]\n{stores}')
    return db


def test_the_prompt_comes_only_after_the_snapshot(project: Path, env: dict[str, str]) -> None:
    offsite = Path(tempfile.mkdtemp(prefix="safehold-offsite-", dir="/dev/shm"))
    if os.stat(offsite).st_dev == os.stat(project).st_dev:
        pytest.skip("no second filesystem")
    try:
        db = _prod(project, env, offsite)
        run = run_hook("claude-code", claude(f"sqlite3 {db} 'DROP TABLE t'", cwd=project),
                       env, cwd=project)
        out = json.loads(run.stdout)["hookSpecificOutput"]
        assert out["permissionDecision"] == "ask", out
        assert "snapshot first: snap_" in out["permissionDecisionReason"]
        (snap,) = [p for p in offsite.iterdir() if (p / "manifest.json").exists()]
        assert snap.name in out["permissionDecisionReason"]
    finally:
        shutil.rmtree(offsite, ignore_errors=True)


def test_without_a_store_the_agent_is_refused(project: Path, env: dict[str, str]) -> None:
    db = _prod(project, env, None)
    run = run_hook("claude-code", claude(f"sqlite3 {db} 'DROP TABLE t'", cwd=project),
                   env, cwd=project)
    out = json.loads(run.stdout)["hookSpecificOutput"]
    assert out["permissionDecision"] == "deny"
    assert "no snapshot store is configured" in out["permissionDecisionReason"]
