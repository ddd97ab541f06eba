"""Gateway overhead: latency added over calling the provider directly, throughput at 1, 8 and
64 concurrent clients, and spurious denials over many allowed requests — same run, same fake
provider (safehold.replay.providers), `safehold serve` as a real process on SQLite.

Prints figures; asserts nothing. Targets (DESIGN §10): <= 2 ms added at p50, <= 5 ms at p99,
>= 0.7x direct throughput, zero spurious denials over 10,000 requests.

    .venv/bin/python bench/bench_gateway.py [--latency 2000] [--seconds 5] [--allowed 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / d) for d in ("", "gateway", "server")]

from gateway_helpers import RAILWAY_TOKEN, write_gateway_config  # noqa: E402
from server_helpers import LiveServer, free_port  # noqa: E402

SAFEHOLD = str(Path(sys.executable).with_name("safehold"))
QUERIES = [
    "query { projects { id name volumes { id backups { id } } } }",
    'query V($id: String!) { volume(id: $id) { id name } }',
    'mutation { serviceCreate(input: {projectId: "prj-1", name: "w"}) { id } }',
    'query { a: project(id: "prj-1") { services { id } } b: projects { id } }',
]


def serve_fake(port: int) -> None:
    """Child process: the fake Railway on `port`, until killed."""
    import uvicorn

    from safehold.replay.providers import FakeRailway

    app = FakeRailway(RAILWAY_TOKEN, record=False).app
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def body(i: int) -> str:
    q = QUERIES[i % len(QUERIES)]
    payload: dict[str, object] = {"query": q}
    if "$id" in q:
        payload["variables"] = {"id": "vol-cache"}
    return json.dumps(payload)


def latency(url: str, headers: dict[str, str], n: int, refused: list[str]) -> list[float]:
    """Sequential request times; any answer but 200 is noted in `refused` (a spurious
    denial for the gateway: every request sent is one the policy allows)."""
    times = []
    with httpx.Client(headers=headers, timeout=30) as c:
        for i in range(n):
            t = time.perf_counter()
            r = c.post(url, content=body(i), headers={"Content-Type": "application/json"})
            times.append(time.perf_counter() - t)
            if r.status_code != 200:
                refused.append(f"{r.status_code} {r.text[:200]}")
    return times


async def allowed_many(url: str, headers: dict[str, str], n: int, clients: int,
                       refused: list[str]) -> None:
    """`n` allowed requests over `clients` connections; every non-200 noted."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(headers=headers, timeout=60, limits=limits) as c:
        async def worker(k: int) -> None:
            for i in range(k, n, clients):
                r = await c.post(url, content=body(i),
                                 headers={"Content-Type": "application/json"})
                if r.status_code != 200:
                    refused.append(f"{r.status_code} {r.text[:200]}")
        await asyncio.gather(*(worker(k) for k in range(clients)))


async def throughput(url: str, headers: dict[str, str], clients: int, seconds: float
                     ) -> tuple[float, int, int]:
    done = bad = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(headers=headers, timeout=60, limits=limits) as c:
        async def worker(k: int) -> None:
            nonlocal done, bad
            i = k
            while time.perf_counter() < stop:
                r = await c.post(url, content=body(i),
                                 headers={"Content-Type": "application/json"})
                done += 1
                bad += r.status_code != 200
                i += clients
        start = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(clients)))
        elapsed = time.perf_counter() - start
    return done / elapsed, done, bad


def pct(xs: list[float], p: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(len(xs) * p))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--allowed", type=int, default=10000)
    ap.add_argument("--dir", default=None,
                    help="Where the database goes (e.g. /dev/shm to leave out disk sync).")
    ap.add_argument("--serve-fake", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_fake:
        serve_fake(args.serve_fake)
        return

    tmp = Path(tempfile.mkdtemp(prefix="bench-gateway-", dir=args.dir))
    port = free_port()
    fake = subprocess.Popen([sys.executable, __file__, "--serve-fake", str(port)])
    upstream = f"http://127.0.0.1:{port}"
    server = None
    try:
        for _ in range(100):
            try:
                httpx.get(upstream + "/graphql/v2", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        config = write_gateway_config(tmp)
        add = subprocess.run([SAFEHOLD, "credentials", "add", "rw", "--provider", "railway",
                              "--env", "production", "--upstream", upstream, "--config",
                              str(config)], input=RAILWAY_TOKEN, text=True, capture_output=True)
        assert add.returncode == 0, add.stderr
        token = subprocess.run([SAFEHOLD, "tokens", "create", "bench", "--role", "agent",
                                "--credential", "rw", "--ttl", "2h", "--config", str(config)],
                               text=True, capture_output=True).stdout.strip()
        server = LiveServer(config, workdir=tmp).start()
        direct_url = upstream + "/graphql/v2"
        gw_url = server.base + "/gateway/rw/graphql/v2"
        direct_h = {"Authorization": f"Bearer {RAILWAY_TOKEN}"}
        gw_h = {"Authorization": f"Bearer {token}"}

        print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        refused: list[str] = []
        latency(direct_url, direct_h, 50, [])
        latency(gw_url, gw_h, 50, refused)
        d = latency(direct_url, direct_h, args.latency, [])
        g = latency(gw_url, gw_h, args.latency, refused)
        print(f"latency over {args.latency} sequential requests (ms):")
        print(f"  direct   p50 {pct(d, .5):7.2f}  p99 {pct(d, .99):7.2f}")
        print(f"  gateway  p50 {pct(g, .5):7.2f}  p99 {pct(g, .99):7.2f}")
        print(f"  added    p50 {pct(g, .5) - pct(d, .5):7.2f}  p99 {pct(g, .99) - pct(d, .99):7.2f}"
              f"   (mean added {1000 * (statistics.mean(g) - statistics.mean(d)):.2f})")

        print(f"throughput, {args.seconds:.0f} s per run (requests/s):")
        for clients in (1, 8, 64):
            dr, _, dbad = asyncio.run(throughput(direct_url, direct_h, clients, args.seconds))
            gr, _, gbad = asyncio.run(throughput(gw_url, gw_h, clients, args.seconds))
            print(f"  {clients:>2} clients  direct {dr:8.0f}  gateway {gr:8.0f}  "
                  f"ratio {gr / dr:5.2f}   non-200: direct {dbad}, gateway {gbad}")

            refused += [f"throughput run: {gbad} non-200"] if gbad else []

        n = args.allowed
        before = len(refused)
        t = time.perf_counter()
        asyncio.run(allowed_many(gw_url, gw_h, n, 8, refused))
        took = time.perf_counter() - t
        print(f"spurious denials: {len(refused) - before} of {n} allowed requests "
              f"(8 clients, {took:.0f} s); over the whole run {len(refused)} of "
              f"{n + args.latency + 50} counted, plus the throughput runs")
        for line in refused[:5]:
            print(f"  e.g. {line}")
        print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    finally:
        if server is not None:
            server.stop()
        fake.terminate()
        fake.wait(timeout=10)
        os.system(f"rm -rf {tmp}")


if __name__ == "__main__":
    main()
