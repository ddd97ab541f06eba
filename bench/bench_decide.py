"""Decision latency for shell commands: in process over both peer corpora, and whole process.

Prints figures; asserts nothing. Targets (DESIGN §10): in-process p50 <= 100 µs, p99 <= 1 ms;
a command that runs a 10 KB workspace script (shell, Python, Makefile recipe) adds <= 1 ms p50
over the same command with no file to read.

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


_SHELL_BLOCK = """\
build_{i}() {{
  mkdir -p build/{i} && cp -r src/{i}/*.py build/{i}/
  if [ -f "build/{i}/setup.cfg" ]; then grep -n version build/{i}/setup.cfg | head -3; fi
  echo "built {i}" >> build/log.txt
}}
build_{i}
"""
_PY_BLOCK = """\
def step_{i}(paths):
    out = subprocess.run(["git", "log", "--oneline", "-n", "{i}"], capture_output=True)
    data = json.loads(pathlib.Path("config_{i}.json").read_text() or "{{}}")
    for p in paths:
        print(p, data.get("name_{i}"), out.returncode)
    return len(paths)

"""
_MAKE_BLOCK = """\
target_{i}: src/{i}.c
\t$(CC) $(CFLAGS) -c src/{i}.c -o build/{i}.o
\t@echo "compiled {i}"

"""


def _sized(block: str, head: str, size: int = 10 * 1024) -> str:
    text, i = head, 0
    while len(text) < size:
        text += block.format(i=i)
        i += 1
    return text


def scripts(passes: int) -> None:
    """The cost of reading and following a 10 KB script, against the same command without one."""
    with tempfile.TemporaryDirectory() as cwd:
        Path(cwd, "big.sh").write_text(_sized(_SHELL_BLOCK, "set -e\n"))
        Path(cwd, "big.py").write_text(_sized(_PY_BLOCK, "import json, pathlib, subprocess\n"))
        mk = _sized(_MAKE_BLOCK, "CC ?= cc\nall: target_0 target_1\n\n")
        Path(cwd, "Makefile").write_text(mk)
        print("10 KB workspace scripts: read on every decision; what following one found is kept "
              "by content digest")
        for label, cmd, base in (("bash big.sh", "bash big.sh", "bash none.sh"),
                                 ("python big.py", "python big.py", "python none.py"),
                                 ("make target_3", "make target_3", "make -n target_3")):
            with_file = in_process([cmd] * 200, cwd, passes)
            without = in_process([base] * 200, cwd, passes)
            print(f"  {label:16} p50={with_file['p50_us']:7.1f} µs  p99={with_file['p99_us']:7.1f}"
                  f" µs   without a file p50={without['p50_us']:6.1f} µs   added p50="
                  f"{with_file['p50_us'] - without['p50_us']:7.1f} µs (target <= 1000 µs)")
        guard = Guard.load()
        for label, name, cmd in (("bash big.sh", "big.sh", "bash big.sh"),
                                 ("python big.py", "big.py", "python big.py")):
            path = Path(cwd, name)
            text = path.read_text()
            cold = []
            for i in range(20):  # new content every time: nothing to replay
                path.write_text(text + f"\n# edit {i}\n")
                t0 = time.perf_counter_ns()
                guard.decide(Action("shell", cmd, cwd=cwd))
                cold.append((time.perf_counter_ns() - t0) / 1000)
            print(f"  {label:16} first decision after an edit p50={pct(cold, 50):9.1f} µs")


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
        scripts(args.passes)
        w = whole_process(args.process_runs, cwd)
        print(f"whole process `safehold check` ({w['runs']} runs): p50={w['p50_ms']:.0f} ms "
              f"min={w['min_ms']:.0f} ms")


if __name__ == "__main__":
    main()
