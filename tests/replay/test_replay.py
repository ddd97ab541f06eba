"""`safehold replay pocketos` as a user runs it: the incident without and with safehold, each
layer alone, the audit timeline — and the check that fails when a layer is taken away."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import needs
from safehold.config import parse_config_file
from safehold.server.app import create_app
from safehold.service import Safehold

sys.path.insert(0, str(Path(__file__).parents[1] / "server"))
from server_helpers import PASSWORD, sign_in

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _postgres_server_programs() -> None:
    needs.postgres_bindir()  # a clear skip (or failure, where nothing may be skipped)

SAFEHOLD = str(Path(sys.executable).with_name("safehold"))


def replay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SAFEHOLD, "replay", "pocketos", *args], capture_output=True,
                          text=True, timeout=600, check=False)


def section(out: str, title: str) -> str:
    start = out.index(f"== {title}")
    end = out.find("\n== ", start + 1)
    return out[start:end if end != -1 else None]


def test_the_incident_loses_rows_without_safehold_and_none_with_it(tmp_path: Path) -> None:
    r = replay("--keep", str(tmp_path / "kept"))
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    out = r.stdout

    without = section(out, "run 1: without safehold")
    assert "volume vol-prod-db: DELETED" in without
    lost = int(re.search(r"(\d+) rows lost", without).group(1))  # type: ignore[union-attr]
    assert lost > 1000, "every booking since the three-month-old copy is gone"
    assert "92 days old (RPO)" in without

    full = section(out, "run 2: with safehold")
    assert "0 rows lost" in full
    assert "acted on by the provider without an approval: 0" in full
    assert "approved by a human through the API: ap_" in full
    assert "snapshot taken before the volume went: snap_" in full
    # every attempt the agent made on its own was refused or held before anything ran
    own = full.split("[approved")[0]
    assert "volumeDelete succeeded" not in own and "ran (nothing" not in own
    assert own.count("hook refused") + own.count("held for a human") >= 10

    matrix = section(out, "the layer matrix")
    rows = {line.split("  ")[1].strip(): line for line in matrix.splitlines()[2:]
            if line.startswith("  ") and not line.startswith("   ")}
    assert "does not stop it" in rows["environment inventory only"]
    assert "reduces it" in rows["data protection only"]
    assert "prevents the loss" in rows["gateway only"]

    timeline = section(out, "timeline of run 2")
    for record in ("approval.approved", "snapshot.taken", "gateway.forwarded",
                   "snapshot.restored", "DENY [cross-environment]"):
        assert record in timeline, record
    assert "hash chain intact" in timeline
    # the newest snapshot is the one restored, and it was taken before the request went out
    snaps = re.findall(r"snapshot\.taken\s+snapshot (snap_\w+)", timeline)
    assert snaps and snaps[-1] in timeline.split("snapshot.restored")[1]
    assert timeline.rindex("snapshot.taken") < timeline.index("gateway.forwarded")

    # the same story on the dashboard's Audit page, from the kept state
    config = tmp_path / "kept" / "safehold" / "safehold.toml"
    assert f"safehold serve --config {config}" in out
    add = subprocess.run([SAFEHOLD, "users", "add", "reader", "--role", "viewer",
                          "--password-stdin", "--config", str(config)],
                         input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
    assert add.returncode == 0, add.stderr
    with Safehold.open(parse_config_file(config), notify_in_background=False) as sh:
        app = create_app(sh, parse_config_file(config).server, tick_seconds=0)
        with TestClient(app, base_url="http://127.0.0.1:8474") as client:
            sign_in(client, "reader", PASSWORD)
            page = client.get("/audit", params={"limit": 1000}).text
    for record in ("snapshot.taken", "gateway.forwarded", "approval.approved",
                   "snapshot.restored"):
        assert record in page, record
    assert snaps[-1] in page


def test_the_check_fails_when_the_layers_that_stop_the_agent_are_taken_away() -> None:
    r = replay("--no-matrix", "--without", "hook", "--without", "gateway")
    assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-3000:]
    assert "FAILED: the safehold run lost" in r.stdout
    assert "volumeDelete reached the provider unapproved" in r.stdout


def test_an_unknown_scenario_or_layer_is_a_usage_error() -> None:
    bad = subprocess.run([SAFEHOLD, "replay", "nope"], capture_output=True, text=True,
                         timeout=60, check=False)
    assert bad.returncode == 2 and "unknown scenario" in bad.stderr
    layer = replay("--without", "firewall")
    assert layer.returncode == 2 and "unknown layer" in layer.stderr
