"""Scheduled backups when several servers share one PostgreSQL: every server runs the same
maintenance tick, and still each due snapshot is taken once and each alert sent once."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from safehold.config import parse_config_file
from safehold.service import Safehold
from webhook_receiver import Receiver

pytestmark = pytest.mark.postgres


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_two_servers_ticking_together_take_one_snapshot_and_send_one_alert(
    tmp_path: Path, offsite: Path, receiver: Receiver, pg_server: Any
) -> None:
    prod = tmp_path / "prod"
    (prod / "empty").mkdir(parents=True)
    db = prod / "app.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE t (x)")
        c.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(2000)])
    config = tmp_path / "safehold.toml"
    config.write_text(f"""
database_url = "{pg_server.create_database()}"

[environments.production]
paths = ["{prod}"]

[[notifications.webhooks]]
url = "{receiver.url}"

[snapshots.stores.offsite]
kind = "directory"
path = "{offsite}"

[[snapshots.schedules]]
resource = "{db}"
every = "1h"

[[snapshots.schedules]]
resource = "{prod / 'empty'}"
rpo = "1h"
""")
    servers = [Safehold.open(parse_config_file(config), notify_in_background=False)
               for _ in range(2)]
    try:
        start = threading.Barrier(2)
        results: list[dict[str, int]] = []

        def tick(sh: Safehold) -> None:
            start.wait()
            results.append(sh.maintenance())

        threads = [threading.Thread(target=tick, args=(sh,)) for sh in servers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for sh in servers:  # the next round on each finds the work done
            results.append(sh.maintenance())
        taken = servers[0].audit.tail(20, type="snapshot.taken")
        assert len(taken) == 1, f"{len(taken)} scheduled snapshots of one due resource"
        alerts = servers[0].audit.tail(20, type="backup.rpo-exceeded")
        assert len(alerts) == 1
        assert len(receiver.bodies) == 1, "one alert, not one per server"
        assert sum(r["snapshots_taken"] for r in results) == 1
    finally:
        for sh in servers:
            sh.close()
