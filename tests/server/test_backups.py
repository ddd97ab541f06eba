"""The Backups page: per production resource, the newest independent copy, its age, the last
drill, and co-location warnings — from real snapshots in real stores."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from server_helpers import PASSWORD, sign_in, write_config

from safehold.config import parse_config_file
from safehold.protection.drill import run_drill
from safehold.protection.drivers import driver_named
from safehold.protection.interface import Capture
from safehold.protection.local_store import LocalStore
from safehold.protection.posture import colocation_rules, colocation_warning
from safehold.protection.snapshot import take
from safehold.server.accounts import Accounts
from safehold.server.app import create_app
from safehold.service import Safehold


def test_colocation_examples_match() -> None:
    for provider, prefixes, _ in colocation_rules():
        assert prefixes, provider
    assert "on the volume they back up" in (colocation_warning("railway:volume:8c1f") or "")
    assert colocation_warning("aws:volume:vol-1") is None


def test_backups_page_shows_copies_age_drill_and_warnings(tmp_path: Path) -> None:
    prod = tmp_path / "prod"
    (prod / "uploads").mkdir(parents=True)
    (prod / "uploads" / "a.txt").write_text("x")
    db = prod / "app.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE t (x)")
        c.execute("INSERT INTO t VALUES (1)")
    offsite = Path(tempfile.mkdtemp(prefix="safehold-offsite-", dir="/dev/shm"))
    if offsite.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second filesystem")
    try:
        config_path = write_config(tmp_path, f"""
[environments.live]
databases = ["sqlite:///{db}"]
paths = ["{prod / 'uploads'}"]
resource_ids = ["railway:volume:8c1f"]

[snapshots]
store = "offsite"

[snapshots.stores.offsite]
kind = "directory"
path = "{offsite}"

[snapshots.stores.near]
kind = "directory"
path = "{tmp_path / 'near'}"
allow_same_device = true
""")
        config = parse_config_file(config_path)
        store = LocalStore("offsite", offsite)
        snap = take(Capture("sqlite", str(db), "file"), driver_named("sqlite"), store,
                    retention_seconds=3600)
        near = take(Capture("directory", str(prod / "uploads"), "directory"),
                    driver_named("directory"),
                    LocalStore("near", tmp_path / "near", allow_same_device=True),
                    retention_seconds=3600)
        with Safehold.open(config, notify_in_background=False) as sh:
            result = run_drill(store, snap)
            assert result.ok, result.error
            sh.audit.append("drill.completed", result.to_dict())
            Accounts(sh.store).add_user("vic", PASSWORD, "viewer")
            app = create_app(sh, config.server, tick_seconds=0)
            with TestClient(app) as client:
                sign_in(client, "vic")
                page = client.get("/backups")
        assert page.status_code == 200
        html = page.text
        db_row = html.split(f'data-resource="sqlite:///{db}"')[1].split("</tr>")[0]
        assert snap.id in db_row and "store offsite" in db_row
        assert "passed · RTO" in db_row and "never drilled" not in db_row
        up_row = html.split(f'data-resource="{prod / "uploads"}"')[1].split("</tr>")[0]
        assert "<strong class=\"bad\">none</strong>" in up_row  # the only copy is co-located
        assert "same filesystem as the data" in up_row and near.id not in up_row
        vol_row = html.split('data-resource="railway:volume:8c1f"')[1].split("</tr>")[0]
        assert "stored on the volume they back up" in vol_row
        assert "no snapshot driver covers this resource" in vol_row
    finally:
        shutil.rmtree(offsite, ignore_errors=True)
