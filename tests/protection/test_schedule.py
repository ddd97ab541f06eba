"""Scheduled backups and drills as the server runs them (Safehold.maintenance), with
webhook alerts to a real local receiver when the RPO is exceeded or a drill fails."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from approval_values import Clock
from safehold.config import parse_config_file
from safehold.protection.schedule import Scheduler
from safehold.protection.settings import ScheduleSettings, SnapshotSettings
from safehold.service import Safehold
from webhook_receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _setup(tmp_path: Path, offsite: Path, hook: str) -> tuple[Path, Path, Path]:
    prod = tmp_path / "prod"
    (prod / "empty").mkdir(parents=True)
    db = prod / "app.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE t (x)")
        c.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(7)])
    config = tmp_path / "safehold.toml"
    config.write_text(f"""
database_url = "sqlite:///{tmp_path / 'safehold.db'}"

[environments.production]
paths = ["{prod}"]

[[notifications.webhooks]]
url = "{hook}"

[snapshots.stores.offsite]
kind = "directory"
path = "{offsite}"

[[snapshots.schedules]]
resource = "{db}"
every = "1h"
drill_every = "1d"
rpo = "2h"
query = "SELECT * FROM t"

[[snapshots.schedules]]
resource = "{prod / 'empty'}"
rpo = "1h"
""")
    return config, db, prod


def test_scheduled_snapshot_drill_and_rpo_alert(
    tmp_path: Path, offsite: Path, receiver: Receiver, clock: Clock
) -> None:
    config, db, _ = _setup(tmp_path, offsite, receiver.url)
    with Safehold.open(parse_config_file(config), clock=clock,
                       notify_in_background=False) as sh:
        first = sh.scheduler.tick(force=True)
        assert first == {"snapshots_taken": 1, "drills_run": 1, "alerts": 1}
        (taken,) = [e.data for e in sh.audit.tail(10, type="snapshot.taken")]
        assert taken["scheduled"] and taken["source"] == str(db)
        (drill,) = [e.data for e in sh.audit.tail(10, type="drill.completed")]
        assert drill["ok"] and drill["counts"] == {"t": 7}
        texts = [b["text"] for b in receiver.bodies]
        assert len(texts) == 1 and "RPO exceeded" in texts[0] and "empty" in texts[0]

        clock.advance(30 * 60)
        assert sh.scheduler.tick(force=True) == {"snapshots_taken": 0, "drills_run": 0,
                                                 "alerts": 0}
        clock.advance(31 * 60)
        again = sh.scheduler.tick(force=True)
        assert again["snapshots_taken"] == 1 and again["alerts"] == 1  # the empty dir, again

        # a damaged newest copy: the next drill fails, is audited, and alerts
        newest = max((p for p in offsite.iterdir() if (p / "database.sqlite").exists()),
                     key=lambda p: p.name)
        part = newest / "database.sqlite"
        part.chmod(0o644)
        part.write_bytes(b"garbage")
        drills_only = Scheduler(
            SnapshotSettings(stores=sh.config.snapshots.stores,
                             schedules=(ScheduleSettings(str(db), drill_every_seconds=3600),)),
            sh.inventory, sh.audit, sh.notifier, clock=clock)
        clock.advance(2 * 3600)
        result = drills_only.tick(force=True)
        assert result == {"snapshots_taken": 0, "drills_run": 1, "alerts": 1}
        (failed,) = [e.data for e in sh.audit.tail(10, type="drill.failed")]
        assert "does not match its manifest" in failed["error"]
        assert "Restore drill failed" in receiver.bodies[-1]["text"]
