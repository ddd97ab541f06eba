"""Durable decisions per second through `safehold serve`, against the in-process decision rate.

Starts real `safehold serve` processes (fresh HOME and config in a temp dir, free ports), creates
an agent token with `safehold tokens create`, and posts shell decisions to
`POST /api/v1/decisions` from concurrent async clients (httpx), each client one request at a
time. Every answer counted is one the server gave after writing its audit record. Prints
decisions/s, p50 and p99 per backend (SQLite, PostgreSQL with fsync on), instance count (two
instances = two processes on one PostgreSQL, clients spread round-robin) and client count, the
machine's load average beside each row, and `Guard.decide` in process over the same commands
for the ratio. Asserts nothing. Targets (issue 16): >= 2,000 decisions/s at 32 clients with
p99 <= 50 ms on SQLite; two instances on PostgreSQL >= 1.5x one.

    .venv/bin/python bench/bench_server.py [--backends sqlite,pg] [--instances 1,2]
        [--clients 1,8,32,128] [--seconds 5] [--workers N] [--dir /dev/shm]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "server")]

from server_helpers import LiveServer  # noqa: E402

import pg  # noqa: E402

SAFEHOLD = str(Path(sys.executable).with_name("safehold"))

#: Routine developer commands (allowed by the built-in policy), numbered so requests differ.
COMMANDS = (
    "ls -la src/pkg{i}",
    "git status",
    "git log --oneline -n {i}",
    "grep -rn TODO src/mod{i}.py",
    "cat docs/page{i}.md",
    "python -m pytest tests/test_{i}.py -q",
    "head -n {i} README.md",
    "git diff --stat HEAD~{i}",
    "find . -name '*{i}.py' -newer setup.cfg",
    "npm run build --workspace pkg{i}",
)


def command(i: int) -> str:
    return COMMANDS[i % len(COMMANDS)].format(i=i % 997)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_seconds(servers: list[LiveServer]) -> float:
    """User + system CPU the serve processes have used so far (Linux /proc)."""
    total = 0
    for server in servers:
        assert server.proc is not None
        fields = Path(f"/proc/{server.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def write_config(root: Path, database_url: str) -> Path:
    path = root / "safehold.toml"
    path.write_text(
        f"""
database_url = "{database_url}"

[server]
secret_key = "{root / 'secret.key'}"

[audit]
signing_key = "{root / 'keys' / 'audit-signing.key'}"
checkpoints = "{root / 'checkpoints' / 'audit-checkpoints.jsonl'}"
"""
    )
    return path


@dataclass
class Deployment:
    servers: list[LiveServer]
    token: str
    config: Path


@contextlib.contextmanager
def deployment(backend: str, instances: int, workdir: Path,
               pg_server: pg.PostgresServer | None) -> Iterator[Deployment]:
    root = Path(tempfile.mkdtemp(prefix=f"bench-server-{backend}-", dir=workdir))
    home = root / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_DATA_HOME": str(home / ".local" / "share")}
    if backend == "sqlite":
        url = f"sqlite:///{root / 'safehold.db'}"
    else:
        assert pg_server is not None
        url = pg_server.create_database()
    config = write_config(root, url)
    made = subprocess.run([SAFEHOLD, "tokens", "create", "bench", "--role", "agent",
                           "--config", str(config)], env=env, text=True, capture_output=True)
    if made.returncode != 0:
        raise SystemExit(f"tokens create failed: {made.stderr}")
    servers: list[LiveServer] = []
    try:
        for _ in range(instances):
            server = LiveServer(config, workdir=root, env=env)
            server.start(timeout=60)
            servers.append(server)
        yield Deployment(servers, made.stdout.strip(), config)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


async def run_clients(urls: list[str], token: str, clients: int, seconds: float, start_at: int
                      ) -> tuple[float, list[float], int, dict[str, int]]:
    """`clients` loops, each posting one decision at a time for `seconds`; client k talks to
    instance k mod len(urls). Returns rate, latencies (s), non-200 count, verdict counts."""
    latencies: list[float] = []
    bad = 0
    verdicts: dict[str, int] = {}
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    pools = [httpx.AsyncClient(base_url=u, headers=headers, timeout=60, limits=limits)
             for u in urls]
    stop = time.perf_counter() + seconds

    async def client(k: int) -> None:
        nonlocal bad
        http = pools[k % len(pools)]
        i = start_at + k
        while time.perf_counter() < stop:
            body = {"kind": "shell", "input": command(i), "cwd": "/srv/app", "agent": "bench",
                    "session": f"bench-{k}"}
            t0 = time.perf_counter()
            try:
                r = await http.post("/api/v1/decisions", json=body)
            except httpx.HTTPError:
                bad += 1
                i += clients
                continue
            latencies.append(time.perf_counter() - t0)
            if r.status_code != 200:
                bad += 1
            else:
                v = r.json()["decision"]
                verdicts[v] = verdicts.get(v, 0) + 1
            i += clients

    try:
        began = time.perf_counter()
        await asyncio.gather(*(client(k) for k in range(clients)))
        elapsed = time.perf_counter() - began
    finally:
        for p in pools:
            await p.aclose()
    return len(latencies) / elapsed, latencies, bad, verdicts


def in_process(n: int) -> float:
    """`Guard.decide` over the same commands, in this process: the ceiling the server is
    measured against."""
    from safehold.decide import Guard
    from safehold.model import Action

    guard = Guard.load()
    for i in range(200):
        guard.decide(Action("shell", command(i), cwd="/srv/app"))
    t0 = time.perf_counter()
    for i in range(n):
        guard.decide(Action("shell", command(i), cwd="/srv/app"))
    return n / (time.perf_counter() - t0)


def audit_ok(config: Path, env: dict[str, str]) -> str:
    out = subprocess.run([SAFEHOLD, "audit", "verify", "--config", str(config)], env=env,
                         text=True, capture_output=True)
    return "ok" if out.returncode == 0 else f"FAILED: {(out.stdout + out.stderr).strip()[:200]}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backends", default="sqlite,pg", help="sqlite, pg or both")
    ap.add_argument("--instances", default="1,2",
                    help="1, 2 or both (two instances only on PostgreSQL)")
    ap.add_argument("--clients", default="1,8,32,128")
    ap.add_argument("--seconds", type=float, default=5.0, help="per row")
    ap.add_argument("--warmup", type=float, default=1.0, help="seconds before each row")
    ap.add_argument("--dir", default=None, help="where databases go (default the temp dir)")
    ap.add_argument("--in-process", type=int, default=20000,
                    help="decisions for the in-process rate (0 skips it)")
    args = ap.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    counts = [int(x) for x in args.instances.split(",")]
    levels = [int(x) for x in args.clients.split(",")]
    workdir = Path(args.dir) if args.dir else None
    if "pg" in backends and not pg.available():
        print(f"PostgreSQL rows skipped: {pg.missing_reason()}", file=sys.stderr)
        backends.remove("pg")

    print(f"machine: {os.cpu_count()} CPUs, load average {load()} at start")
    base = None
    if args.in_process:
        base = in_process(args.in_process)
        print(f"in process: Guard.decide {base:,.0f} decisions/s (shell, same commands)")
    print(f"{'backend':8} {'inst':>4} {'clients':>7} {'dec/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
          f" {'non-200':>7} {'ratio':>7} {'srv cpu':>7} {'cli cpu':>7}  load (1/5/15 min)")
    pg_server = None
    try:
        if "pg" in backends:
            pg_server = pg.PostgresServer(fsync=True).start()
        start_at = 0
        for backend in backends:
            for n in counts:
                if n > 1 and backend == "sqlite":
                    continue
                with deployment(backend, n, workdir or Path(tempfile.gettempdir()),
                                pg_server) as dep:
                    urls = [s.base for s in dep.servers]
                    for clients in levels:
                        asyncio.run(run_clients(urls, dep.token, clients, args.warmup, start_at))
                        start_at += 100_000
                        cpu0, own0 = cpu_seconds(dep.servers), time.process_time()
                        rate, lat, bad, _ = asyncio.run(
                            run_clients(urls, dep.token, clients, args.seconds, start_at))
                        done = max(1, len(lat))
                        cpu = (cpu_seconds(dep.servers) - cpu0) / done * 1000
                        own = (time.process_time() - own0) / done * 1000
                        start_at += 100_000
                        ratio = f"1/{base / rate:,.0f}" if base else "-"
                        print(f"{backend:8} {n:>4} {clients:>7} {rate:>8,.0f} "
                              f"{pct(lat, .5) * 1000:>8.1f} {pct(lat, .99) * 1000:>8.1f} "
                              f"{bad:>7} {ratio:>7} {cpu:>7.2f} {own:>7.2f}  {load()}", flush=True)
                    env = {**os.environ, "HOME": str(dep.config.parent / "home")}
                    print(f"  audit verify after {backend} x{n}: {audit_ok(dep.config, env)}")
    finally:
        if pg_server is not None:
            pg_server.stop()


if __name__ == "__main__":
    main()
