"""Audit appends per second, durable, on SQLite and on a real PostgreSQL.

Each append is its own committed transaction (hash chain read, redaction, insert), as a
decision record is in production: SQLite in WAL mode with synchronous=FULL, PostgreSQL with
fsync on. PostgreSQL is started from the machine's binaries (see tests/pg.py).

    .venv/bin/python bench/bench_audit.py [--records 2000] [--threads 4]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import pg
from safehold.audit import AuditLog
from safehold.store import open_store

PAYLOAD = {
    "action": {
        "kind": "shell",
        "input": "rm -rf build/ && git push --force origin main",
        "cwd": "/home/dev/project",
    },
    "decision": {"decision": "ask", "reasons": ["destructive-needs-approval"], "rules": ["x"]},
}


def run(url: str, records: int, threads: int) -> tuple[float, bool]:
    store = open_store(url)
    log = AuditLog(store)
    per_thread = records // threads

    def writer() -> None:
        name = threading.current_thread().name
        for i in range(per_thread):
            payload = {
                **PAYLOAD,
                "action": {**PAYLOAD["action"], "input": f"rm -rf build-{name}-{i}/"},
            }
            log.append("decision", payload, session="bench", decision="ask")

    workers = [threading.Thread(target=writer) for _ in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    ok = log.verify().ok
    store.close()
    return per_thread * threads / elapsed, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    for threads in args.threads:
        with tempfile.TemporaryDirectory() as tmp:
            rate, ok = run(f"sqlite:///{tmp}/bench.db", args.records, threads)
        print(
            f"sqlite (WAL, synchronous=FULL), {threads} writer(s): {rate:7.0f} appends/s"
            f"  chain ok={ok}"
        )
    if not pg.available():
        print(f"postgresql: skipped ({pg.missing_reason()})")
        return
    with pg.PostgresServer(fsync=True) as server:
        for threads in args.threads:
            rate, ok = run(server.create_database(), args.records, threads)
            print(
                f"postgresql (fsync on),          {threads} writer(s): {rate:7.0f} appends/s"
                f"  chain ok={ok}"
            )


if __name__ == "__main__":
    main()
