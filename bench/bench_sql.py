"""SQL latency: analysis alone and the whole in-process decision, over typical statements.

Prints p50/p99 and decisions per second; asserts nothing. Target (DESIGN §10): a decision
(analysis + policy) p50 <= 100 µs, so the analyser should stay well under 50 µs.

    .venv/bin/python bench/bench_sql.py [--passes 200]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from safehold.analysis import analyze
from safehold.decide import Guard
from safehold.model import Action

TYPICAL = [
    ("postgres", "SELECT id, email FROM users WHERE id = 42"),
    ("postgres", "SELECT * FROM orders WHERE created_at > now() - interval '1 day' LIMIT 50"),
    ("postgres", "SELECT count(*) FROM events e JOIN users u ON u.id = e.user_id GROUP BY u.plan"),
    ("postgres", "INSERT INTO audit (actor, action) VALUES ('agent', 'login')"),
    ("postgres", "UPDATE users SET last_seen = now() WHERE id = $1"),
    ("postgres", "DELETE FROM sessions WHERE expires_at < now()"),
    ("postgres", "DELETE FROM bookings WHERE true"),
    ("postgres", "DROP TABLE billing.invoices"),
    ("postgres", "TRUNCATE users"),
    ("postgres", "ALTER TABLE t ADD COLUMN c int"),
    ("postgres", "WITH d AS (DELETE FROM users RETURNING *) SELECT 1"),
    ("postgres", "BEGIN; UPDATE accounts SET balance = balance - 10 WHERE id = 1; COMMIT"),
    ("postgres", "SELECT 'DROP TABLE users'"),
    ("postgres", "DROP DATABASE prod"),
    ("mysql", "SELECT * FROM users WHERE id = 1"),
    ("mysql", "DELETE FROM users WHERE 1"),
    ("sqlite", "INSERT INTO kv VALUES ('a', 1)"),
]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def measure(fn: Callable[[Action], object], actions: list[Action], passes: int) -> dict:
    for a in actions:  # warm parsers, catalogs and policy handles
        fn(a)
    samples: list[float] = []
    start = time.perf_counter()
    for _ in range(passes):
        for a in actions:
            t0 = time.perf_counter_ns()
            fn(a)
            samples.append((time.perf_counter_ns() - t0) / 1000)
    elapsed = time.perf_counter() - start
    return {
        "p50": pct(samples, 50),
        "p99": pct(samples, 99),
        "per_s": len(samples) / elapsed,
    }


def report(label: str, r: dict) -> None:
    print(f"  {label:<34} p50 {r['p50']:7.1f} µs   p99 {r['p99']:7.1f} µs   {r['per_s']:9.0f}/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passes", type=int, default=200)
    args = parser.parse_args()
    guard = Guard.load()
    actions = [Action("sql", sql, options={"dialect": d}) for d, sql in TYPICAL]
    pg = [a for a in actions if a.options["dialect"] == "postgres"]
    other = [a for a in actions if a.options["dialect"] != "postgres"]
    print(f"SQL: {len(actions)} typical statements x {args.passes} passes")
    report("analysis, postgres (libpg_query)", measure(analyze, pg, args.passes))
    report("analysis, mysql/sqlite (sqlglot)", measure(analyze, other, args.passes))
    report("decision, postgres", measure(guard.decide, pg, args.passes))
    report("decision, mysql/sqlite", measure(guard.decide, other, args.passes))
    print("  per statement (decision, postgres):")
    for a in pg:
        r = measure(guard.decide, [a], max(20, args.passes // 4))
        print(f"    p50 {r['p50']:7.1f} µs   {a.input_text()[:70]}")


if __name__ == "__main__":
    main()
