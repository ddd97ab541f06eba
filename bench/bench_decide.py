"""Decision latency for shell commands: in process over both peer corpora, and whole process.

Prints figures; asserts nothing. Targets (DESIGN §10): in-process p50 <= 100 µs, p99 <= 1 ms.

    .venv/bin/python bench/bench_decide.py [--passes 3] [--process-runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import corpora
from safehold.decide import Guard
from safehold.model import Action


def load_commands() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    root = corpora.find()
    if root is None:
        print(f"in-process figures skipped: {corpora.missing_reason()}", file=sys.stderr)
        return out
    for name in corpora.FILES:
        path = root / name
        out[name] = [json.loads(line)["cmd"] for line in path.read_text().splitlines() if line]
    return out


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def in_process(commands: list[str], cwd: str, passes: int) -> dict[str, float]:
    guard = Guard.load()
    for cmd in commands[:200]:  # warm the parser, catalog and policy handles
        guard.decide(Action("shell", cmd, cwd=cwd))
    samples: list[float] = []
    start = time.perf_counter()
    for _ in range(passes):
        for cmd in commands:
            t0 = time.perf_counter_ns()
            guard.decide(Action("shell", cmd, cwd=cwd))
            samples.append((time.perf_counter_ns() - t0) / 1000)
    elapsed = time.perf_counter() - start
    return {
        "n": len(samples),
        "p50_us": pct(samples, 50),
        "p90_us": pct(samples, 90),
        "p99_us": pct(samples, 99),
        "max_us": max(samples),
        "decisions_per_s": len(samples) / elapsed,
    }


def whole_process(runs: int, cwd: str) -> dict[str, float]:
    exe = [sys.executable, "-m", "safehold", "check", "--format", "json"]
    env = {**os.environ, "XDG_CONFIG_HOME": cwd, "XDG_DATA_HOME": cwd}
    times = []
    for i in range(runs):
        cmd = "git push --force origin main" if i % 2 else "ls -la"
        t0 = time.perf_counter()
        subprocess.run([*exe, cmd], cwd=cwd, env=env, capture_output=True, check=False)
        times.append((time.perf_counter() - t0) * 1000)
    return {"runs": runs, "p50_ms": statistics.median(times), "min_ms": min(times)}


def report(name: str, r: dict[str, float]) -> None:
    print(f"  {name:28} n={r['n']:6}  p50={r['p50_us']:7.1f} µs  p90={r['p90_us']:7.1f} µs"
          f"  p99={r['p99_us']:7.1f} µs  max={r['max_us']:8.1f} µs"
          f"  {r['decisions_per_s']:8.0f} decisions/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--process-runs", type=int, default=15)
    args = ap.parse_args()
    commands = load_commands()
    with tempfile.TemporaryDirectory() as cwd:
        if commands:
            print(f"in-process decision latency (Guard.decide, shell), {args.passes} passes")
            every: list[str] = []
            for name, cmds in commands.items():
                every.extend(cmds)
                report(name, in_process(cmds, cwd, args.passes))
            report("both corpora", in_process(every, cwd, args.passes))
            print("  targets: p50 <= 100 µs, p99 <= 1000 µs")
        w = whole_process(args.process_runs, cwd)
        print(f"whole process `safehold check` ({w['runs']} runs): p50={w['p50_ms']:.0f} ms "
              f"min={w['min_ms']:.0f} ms")


if __name__ == "__main__":
    main()
