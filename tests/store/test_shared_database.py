"""Several processes sharing one PostgreSQL: what serialises them is the database, not memory.

Each `Store` here has its own engine and connections, as a separate server would.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from safehold.audit.checkpoint import Checkpointer, CheckpointFile, check_checkpoints
from safehold.audit.log import AuditLog
from safehold.audit.signing import load_or_create_signer
from safehold.config import AuditSettings
from safehold.store.db import open_store

pytestmark = pytest.mark.postgres


def test_appends_from_two_stores_make_one_chain_even_outside_the_write_lock(
    pg_server: Any,
) -> None:
    """The append transaction itself takes the chain's lock before reading the head: two
    servers appending at once, through any kind of transaction, never fork the chain."""
    url = pg_server.create_database()
    stores = [open_store(url), open_store(url)]
    logs = [AuditLog(s) for s in stores]
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def writer(n: int) -> None:
        log = logs[n % 2]
        start.wait()
        try:
            for i in range(40):
                with log.store.session() as s:
                    log.append("test.append", {"writer": n, "i": i}, within=s)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not errors, errors[:3]
        result = logs[0].verify()
        assert result.ok, result.problem
        assert result.records == 240
    finally:
        for s in stores:
            s.close()


_HOLDER = """
import sys, time
from safehold.store.db import open_store
store = open_store(sys.argv[1])
with store.exclusive("maintenance") as mine:
    print("held" if mine else "refused", flush=True)
    time.sleep(600)
"""


def test_a_background_job_runs_on_one_server_at_a_time_and_a_killed_holder_frees_it(
    pg_server: Any,
) -> None:
    url = pg_server.create_database()
    store = open_store(url)
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, url], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with store.exclusive("maintenance") as mine:
            assert mine is False, "a second server must not run the job while one does"
        with store.exclusive("another-job") as mine:
            assert mine is True, "other jobs are not held up"
        holder.kill()
        holder.wait(timeout=10)
        deadline = time.monotonic() + 60
        while True:
            with store.exclusive("maintenance") as mine:
                if mine:
                    break
            assert time.monotonic() < deadline, "a killed holder's lock was never released"
            time.sleep(0.1)
        with store.exclusive("maintenance") as again:
            assert again is True, "the lock is released when the block ends"
    finally:
        holder.kill()
        holder.wait(timeout=10)
        store.close()


def _sign_together(cp: Checkpointer, start: threading.Barrier) -> None:
    start.wait()
    cp.checkpoint()


def test_two_servers_signing_into_one_checkpoint_file_never_fork_it(
    tmp_path: Path, pg_server: Any
) -> None:
    """Servers on one machine share the checkpoint file and key: signing at the same moment
    (both start up, both shut down) must still leave one chain of checkpoints."""
    url = pg_server.create_database()
    settings = AuditSettings(signing_key_path=str(tmp_path / "keys" / "audit.key"),
                             checkpoints_path=str(tmp_path / "cp" / "checkpoints.jsonl"))
    stores = [open_store(url), open_store(url)]
    logs = [AuditLog(s) for s in stores]
    signer = load_or_create_signer(settings.signing_key_path)
    signers = [Checkpointer(log, signer, CheckpointFile(settings.checkpoints_path))
               for log in logs]
    try:
        for round in range(25):
            logs[round % 2].append("test.append", {"round": round})
            start = threading.Barrier(2)
            threads = [threading.Thread(target=_sign_together, args=(cp, start))
                       for cp in signers]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        chain = logs[0].verify()
        report = check_checkpoints(logs[0], chain, settings)
        assert report.ok, report.problem
        assert report.checkpoints == 25, "each head is signed once"
    finally:
        for s in stores:
            s.close()
