"""What asking bash for its reading of a command would add to a decision.

The inputs are the peer corpora's commands that hold a newline or a backslash (the shapes the
parser can misread). For each it measures the decision alone, a fresh `bash --pretty-print`
per input, and one resident bash reading inputs separated by a sentinel. Prints figures;
asserts nothing (docs/shell-analysis.md records the decision taken from them).

    .venv/bin/python bench/bench_oracle.py [--passes 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from safehold.analysis.shell import oracle
from safehold.analysis.shell.parser import parse
from safehold.decide import Guard
from safehold.model import Action

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"


def load_inputs() -> list[str]:
    out: list[str] = []
    for name in ("dcg-cases.jsonl", "cc-safety-net-cases.jsonl"):
        path = CORPORA / name
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            row = json.loads(line) if line.strip() else {}
            cmd = row.get("cmd") or row.get("command")
            if isinstance(cmd, str) and ("\n" in cmd or "\\" in cmd):
                out.append(cmd)
    return out


def _figures(label: str, times: list[float]) -> None:
    s = sorted(times)
    p = lambda q: s[min(len(s) - 1, int(q * len(s)))] * 1e6  # noqa: E731
    print(f"  {label:34} n={len(s):5}  p50={p(0.5):8.1f} µs  p99={p(0.99):9.1f} µs  "
          f"mean={statistics.fmean(s) * 1e6:8.1f} µs")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--spawn-sample", type=int, default=200,
                    help="inputs measured with one bash per input (it is slow)")
    args = ap.parse_args()
    if oracle.bash_path() is None:
        print("no bash with --pretty-print (bash 5.2 or later): nothing to measure")
        return 0
    inputs = load_inputs()
    if not inputs:
        print(f"no corpus inputs with a newline or backslash under {CORPORA}")
        return 0
    guard = Guard.load()
    for text in inputs:
        guard.decide(Action("shell", text, cwd="/home/dev/project"))
    print(f"{len(inputs)} corpus inputs hold a newline or a backslash")
    decide_t: list[float] = []
    for _ in range(args.passes):
        for text in inputs:
            t0 = time.perf_counter()
            guard.decide(Action("shell", text, cwd="/home/dev/project"))
            decide_t.append(time.perf_counter() - t0)
    _figures("decision alone", decide_t)
    spawn_t: list[float] = []
    for text in inputs[:args.spawn_sample]:
        t0 = time.perf_counter()
        oracle.canonical(text)
        spawn_t.append(time.perf_counter() - t0)
    _figures("one bash per input", spawn_t)
    # Inputs the parser already fails on are unknown without asking bash; the oracle would only
    # be asked about the rest, which never leave a construct open for the sentinel to fall in.
    clean = [t for t in inputs if not parse(t).root_node.has_error]
    print(f"  ({len(clean)} of them parse without error and would be asked)")
    resident = oracle.ResidentOracle(timeout=0.5)
    resident_t: list[float] = []
    unreadable = 0
    try:
        for _ in range(args.passes):
            for text in clean:
                t0 = time.perf_counter()
                reading = resident.read(text)
                resident_t.append(time.perf_counter() - t0)
                unreadable += not reading.ok
    finally:
        resident.close()
    _figures("resident bash (sentinel)", resident_t)
    print(f"  resident restarts: {resident.restarts} (inputs bash could not read: "
          f"{unreadable // max(args.passes, 1)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
