"""Snapshot and restore against the tools they wrap, in one run on one machine.

- table snapshot (driver + store + read-back verification) vs plain `pg_dump -Fc` of it;
- row snapshot of a `DELETE … WHERE` touching N rows vs a raw `COPY (SELECT …) TO STDOUT` of them;
- restore (checksums verified first) vs plain `pg_restore` into a fresh database;
- directory snapshot (deduplicated: a first one, then one after 1% of the files changed) vs
  `tar -cf` of the same tree.

Figures only (median of --repeat runs), no asserts. Each pair of measurements alternates ours
and theirs run by run, so a load change on a shared machine hits both alike; every line ends
with the 1-minute load average. The store is on /dev/shm, a filesystem other than the
cluster's, as the same-device check requires; pg_dump writes to /dev/shm too.

    .venv/bin/python bench/bench_snapshot.py [--rows 1000000] [--delete-rows 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import psycopg

import pg
from safehold.protection.drivers import driver_named
from safehold.protection.interface import Capture
from safehold.protection.local_store import LocalStore
from safehold.protection.postgres import pg_tool
from safehold.protection.snapshot import restore, take


def once(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def timed(fn: Callable[[], object], repeat: int) -> float:
    return statistics.median(once(fn) for _ in range(repeat))


def paired(ours: Callable[[], object], theirs: Callable[[], object], repeat: int
           ) -> tuple[float, float]:
    """Medians of ours and theirs, run alternately."""
    a, b = [], []
    for _ in range(repeat):
        a.append(once(ours))
        b.append(once(theirs))
    return statistics.median(a), statistics.median(b)


def line(name: str, ours: float, theirs: float, base: str) -> None:
    print(f"{name:<44} {ours * 1000:9.1f} ms   {base:<22} {theirs * 1000:9.1f} ms   "
          f"ratio {ours / theirs:5.2f}x   load {os.getloadavg()[0]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--delete-rows", type=int, default=100_000)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="safehold-bench-", dir="/dev/shm"))
    store = LocalStore("bench", work / "store")
    server = pg.PostgresServer().start()
    try:
        url = server.create_database().replace("+psycopg", "")
        with psycopg.connect(url, autocommit=True) as c:
            c.execute("CREATE TABLE orders (id bigint PRIMARY KEY, customer int, total numeric"
                      "(12,2), note text, placed timestamptz DEFAULT now())")
            c.execute("INSERT INTO orders (id, customer, total, note) SELECT g, g %% 5000, "
                      "g * 0.37, md5(g::text) FROM generate_series(1, %s) g", (args.rows,))
            c.execute("VACUUM ANALYZE orders")
        print(f"PostgreSQL {pg.PG_BIN}, {args.rows} rows; median of {args.repeat}, "
              f"load {os.getloadavg()[0]:.2f}")
        drv = driver_named("postgresql")

        table = Capture("postgresql", url, "tables", ("orders",))
        dump = work / "plain.pgdump"
        ours, theirs = paired(lambda: take(table, drv, store, retention_seconds=3600),
                              lambda: subprocess.run(
                                  [pg_tool("pg_dump"), "-Fc", "--table=orders",
                                   f"--dbname={url}", "-f", str(dump)], check=True),
                              args.repeat)
        line(f"table snapshot ({args.rows} rows)", ours, theirs, "pg_dump -Fc")

        where = f"id <= {args.delete_rows}"
        rows = Capture("postgresql", url, "rows", ("orders",), where)
        def raw_copy() -> None:
            with psycopg.connect(url) as c, (work / "raw.copy").open("wb") as out, \
                    c.cursor().copy(f"COPY (SELECT * FROM orders WHERE {where}) TO STDOUT "
                                    "(FORMAT binary)") as copy:  # type: ignore[arg-type]
                for data in copy:
                    out.write(data)

        ours, theirs = paired(lambda: take(rows, drv, store, retention_seconds=3600), raw_copy,
                              args.repeat)
        line(f"row snapshot (DELETE … WHERE, {args.delete_rows} rows)", ours, theirs,
             "raw COPY of the rows")

        snap = take(table, drv, store, retention_seconds=3600)
        base = url.rsplit("/", 1)[0]
        n = iter(range(1000))
        def plain_restore() -> None:
            name = f"r_plain_{next(n)}"
            with psycopg.connect(f"{base}/postgres", autocommit=True) as c:
                c.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
            subprocess.run([pg_tool("pg_restore"), "--no-owner", "--no-privileges",
                            "--exit-on-error", "--single-transaction",
                            f"--dbname={base}/{name}", str(dump)], check=True)

        ours, theirs = paired(lambda: restore(store, snap.id, f"{base}/r_ours_{next(n)}"),
                              plain_restore, args.repeat)
        line("restore of the table snapshot", ours, theirs, "createdb + pg_restore")

    finally:
        server.stop()
    try:
        directories(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def directories(args: argparse.Namespace, work: Path) -> None:
    """First snapshot of a tree (every chunk new, a fresh store each run), then a second one
    after changing 1% of the files (only their chunks new), each against `tar -cf`."""
    tree = Path(tempfile.mkdtemp(prefix="safehold-bench-tree-"))
    try:
        for i in range(args.files):
            d = tree / f"d{i % 40}"
            d.mkdir(exist_ok=True)
            (d / f"f{i}.bin").write_bytes(os.urandom(4096 + (i % 7) * 8192))
        cap = Capture("directory", str(tree), "directory")
        runs = iter(range(1000))
        first, theirs = paired(lambda: take(cap, driver_named("directory"),
                                            LocalStore("bench", work / f"dir-{next(runs)}"),
                                            retention_seconds=3600),
                               lambda: subprocess.run(["tar", "-cf", str(work / "plain.tar"),
                                                       "-C", str(tree), "."], check=True),
                               args.repeat)
        size = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())
        line(f"directory snapshot, first ({args.files} files, {size >> 20} MiB)", first,
             theirs, "tar -cf")
        store = LocalStore("bench", work / "dir-dedup")
        take(cap, driver_named("directory"), store, retention_seconds=3600)
        changed = iter(range(10_000))

        def again() -> None:
            for _ in range(max(1, args.files // 100)):
                i = next(changed) % args.files
                (tree / f"d{i % 40}" / f"f{i}.bin").write_bytes(os.urandom(4096))
            m = take(cap, driver_named("directory"), store, retention_seconds=3600)
            stored.append(m.details["new_bytes"])

        stored: list[int] = []
        second = timed(again, args.repeat)
        line(f"directory snapshot, second after 1% changed (stored {stored[-1] >> 10} KiB of "
             f"{size >> 20} MiB)", second, theirs, "tar -cf")
    finally:
        shutil.rmtree(tree, ignore_errors=True)


if __name__ == "__main__":
    main()
