"""Whole-process hook latency: safehold's Claude Code hook against cc-safety-net's, same run.

Each sample is one process start, one Claude Code PreToolUse JSON on stdin, one answer — what
the agent waits for before every tool call. The tools are interleaved command by command, so
machine noise falls on all of them alike. safehold is measured with its resident daemon (the
default: warmed up before timing) and fully in-process (`SAFEHOLD_HOOKD=0`).

    python bench/bench_hooks.py --peer /path/to/node_modules/.bin/cc-safety-net
    python bench/bench_hooks.py --install-peer      # npm install cc-safety-net into a temp dir

Both tools get a throwaway HOME, so neither reads or writes your real configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = (
    "ls -la",
    "git status",
    "git diff --stat",
    "git log --oneline -20",
    "git add -A && git commit -m 'fix: handle empty input'",
    "git push origin feature/login",
    "npm test",
    "pytest -q tests/",
    "cat README.md",
    "grep -rn TODO src/",
    "make build",
    "python -m pip install requests",
    "docker ps",
    "kubectl get pods -n staging",
    "rm -rf node_modules dist",
    "find . -name '*.pyc' -delete",
    "curl -s https://api.github.com/repos/python/cpython",
    "psql -c 'SELECT count(*) FROM users'",
    "git push --force origin main",
    "rm -rf ~",
)


def payload(command: str, cwd: str) -> bytes:
    return json.dumps({
        "session_id": "bench",
        "transcript_path": "/tmp/bench.jsonl",
        "cwd": cwd,
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": command, "description": "benchmark"},
        "tool_use_id": "toolu_bench",
    }).encode()


def once(argv: list[str], data: bytes, env: dict[str, str], cwd: str) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(argv, input=data, capture_output=True, env=env, cwd=cwd, timeout=60)
    elapsed = time.perf_counter() - start
    try:
        decision = json.loads(proc.stdout)["hookSpecificOutput"]["permissionDecision"]
    except (ValueError, KeyError, TypeError):
        decision = "deny" if proc.returncode == 2 else ("none" if proc.returncode == 0 else "err")
    return elapsed, decision


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def install_peer(directory: Path) -> str:
    subprocess.run(["npm", "install", "--silent", "--prefix", str(directory), "cc-safety-net"],
                   check=True, capture_output=True)
    return str(directory / "node_modules" / ".bin" / "cc-safety-net")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer", help="cc-safety-net executable")
    parser.add_argument("--install-peer", action="store_true", help="npm install it first")
    parser.add_argument("--rounds", type=int, default=5, help="passes over the 20 commands")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="safehold-bench-"))
    home, project = work / "home", work / "project"
    home.mkdir()
    project.mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "TMPDIR": str(work),
        "SAFEHOLD_HOOKD_IDLE": "300",
    }
    safehold = str(Path(sys.executable).with_name("safehold"))
    peer = args.peer or (install_peer(work / "peer") if args.install_peer else None)
    tools: dict[str, tuple[list[str], dict[str, str]]] = {
        "safehold (daemon)": ([safehold, "hook", "claude-code"], env),
        "safehold (in-process)": ([safehold, "hook", "claude-code"],
                                  {**env, "SAFEHOLD_HOOKD": "0"}),
    }
    if peer:
        tools["cc-safety-net"] = ([peer, "hook", "--coding-cli"], env)
    else:
        print("cc-safety-net not measured: pass --peer PATH or --install-peer", file=sys.stderr)

    warm = payload("true", str(project))
    for _ in range(3):  # start safehold's daemon and let it load before anything is timed
        once(tools["safehold (daemon)"][0], warm, env, str(project))
        time.sleep(2)

    samples: dict[str, list[float]] = {name: [] for name in tools}
    decisions: dict[str, dict[str, str]] = {name: {} for name in tools}
    for _ in range(args.rounds):
        for command in COMMANDS:
            data = payload(command, str(project))
            for name, (argv, tool_env) in tools.items():
                elapsed, decision = once(argv, data, tool_env, str(project))
                samples[name].append(elapsed)
                decisions[name][command] = decision

    results = {}
    print(f"{'hook':24} {'p50 ms':>8} {'p90 ms':>8} {'mean ms':>8}   ({len(COMMANDS)} commands"
          f" x {args.rounds} rounds)")
    for name, values in samples.items():
        p50, p90 = percentile(values, 0.5) * 1000, percentile(values, 0.9) * 1000
        mean = statistics.fmean(values) * 1000
        results[name] = {
            "p50_ms": round(p50, 1), "p90_ms": round(p90, 1), "mean_ms": round(mean, 1)
        }
        print(f"{name:24} {p50:8.1f} {p90:8.1f} {mean:8.1f}")
    if "cc-safety-net" in results:
        ratio = results["safehold (daemon)"]["p50_ms"] / results["cc-safety-net"]["p50_ms"]
        print(f"\nsafehold (daemon) p50 / cc-safety-net p50 = {ratio:.2f}")
        results["ratio_p50_daemon_vs_peer"] = round(ratio, 3)
    print("\ndecisions:")
    for command in COMMANDS:
        row = "  ".join(f"{decisions[n].get(command, '-'):5}" for n in tools)
        print(f"  {row}  {command}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"results": results, "decisions": decisions}, indent=2) + "\n")

    from safehold.surfaces.hooks import client, daemon

    path = client.socket_path(env)
    if path:
        daemon.stop(path)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
