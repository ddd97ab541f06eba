"""pgbench directly, through pgbouncer, and through `safehold pg-proxy`, in the same run.

Runs `pgbench -S` (select-only) and the default TPC-B-like script at several client counts
in simple and prepared modes, and prints transactions per second, average latency and the
ratios safehold/direct and safehold/pgbouncer. Asserts nothing. Targets (DESIGN §10):
prepared >= 0.8x pgbouncer, simple >= 0.6x pgbouncer, added p50 latency <= 0.3 ms.

    .venv/bin/python bench/bench_pg_proxy.py [--seconds 5] [--clients 1,8,32]

pgbouncer is used when /usr/sbin/pgbouncer exists (Debian package `pgbouncer`).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import pg

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def pgbench(port: int, user: str, password: str, args: list[str]) -> tuple[float, float]:
    """(tps, average latency ms) of one pgbench run."""
    env = {**os.environ, "PGPASSWORD": password}
    out = subprocess.run(
        ["pgbench", "-n", "-h", "127.0.0.1", "-p", str(port), "-U", user, *args, "bench"],
        capture_output=True, text=True, env=env,
    )
    tps = re.search(r"tps = ([\d.]+)", out.stdout)
    lat = re.search(r"latency average = ([\d.]+) ms", out.stdout)
    if out.returncode != 0 or not tps or not lat:
        raise RuntimeError(f"pgbench {args} failed: {out.stdout[-500:]}{out.stderr[-1000:]}")
    return float(tps.group(1)), float(lat.group(1))


def start_pgbouncer(root: Path, server: pg.PostgresServer) -> tuple[subprocess.Popen, int]:
    port = free_port()
    d = root / "pgbouncer"
    d.mkdir()
    (d / "users.txt").write_text(f'"{pg.SUPERUSER}" ""\n')
    (d / "pgbouncer.ini").write_text(
        f"[databases]\nbench = host=127.0.0.1 port={server.port} dbname=bench\n"
        f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nauth_type = trust\n"
        f"auth_file = {d / 'users.txt'}\npool_mode = session\nmax_client_conn = 200\n"
        f"default_pool_size = 40\nunix_socket_dir =\nlogfile = {d / 'log'}\n"
    )
    if server.prefix:
        user = server.prefix[1].split("=", 1)[1]
        shutil.chown(d, user)
        for f in d.iterdir():
            shutil.chown(f, user)
    proc = subprocess.Popen([*server.prefix, PGBOUNCER, str(d / "pgbouncer.ini")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc, port


def start_safehold(root: Path, server: pg.PostgresServer) -> tuple[subprocess.Popen, int, str]:
    from safehold.server.accounts import Accounts
    from safehold.store import open_store

    env = {**os.environ, "XDG_DATA_HOME": str(root), "XDG_CONFIG_HOME": str(root)}
    db = root / "safehold"
    db.mkdir()
    store = open_store(f"sqlite:///{db / 'safehold.db'}")
    token = Accounts(store).create_token("bench", "agent").secret
    store.close()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "safehold", "pg-proxy", "--upstream",
         f"postgresql://{pg.SUPERUSER}@127.0.0.1:{server.port}/bench", "--env", "production",
         "--listen", f"127.0.0.1:{port}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    wait_port(port)
    return proc, port, token


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--clients", default="1,8,32")
    args = ap.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    root = Path(tempfile.mkdtemp(prefix="safehold-bench-pg-"))
    root.chmod(0o755)  # pgbouncer runs as the cluster's unprivileged user
    procs: list[subprocess.Popen] = []
    with pg.PostgresServer() as server:
        subprocess.run(
            [*server.prefix, str(pg.PG_BIN / "createdb"), "-h", "127.0.0.1", "-p",
             str(server.port), "-U", pg.SUPERUSER, "bench"], check=True)
        subprocess.run(["pgbench", "-i", "-q", "-s", "4", "-h", "127.0.0.1", "-p",
                        str(server.port), "-U", pg.SUPERUSER, "bench"], check=True,
                       capture_output=True)
        try:
            targets: dict[str, tuple[int, str, str]] = {
                "direct": (server.port, pg.SUPERUSER, ""),
            }
            if Path(PGBOUNCER).exists():
                proc, port = start_pgbouncer(root, server)
                procs.append(proc)
                targets["pgbouncer"] = (port, pg.SUPERUSER, "")
            proc, port, token = start_safehold(root, server)
            procs.append(proc)
            targets["safehold"] = (port, "agent", token)
            print(f"{'script':8} {'mode':9} {'c':>3} " + " ".join(
                f"{name + ' tps':>14} {'lat ms':>7}" for name in targets
            ) + "  safehold/direct  safehold/pgbouncer")
            for script, flags in (("select", ["-S"]), ("tpcb", [])):
                for mode in ("simple", "prepared"):
                    for c in clients:
                        run = [*flags, "-M", mode, "-c", str(c), "-j", str(min(c, 2)), "-T",
                               str(args.seconds)]
                        got = {name: pgbench(p, u, pw, run) for name, (p, u, pw) in
                               targets.items()}
                        row = f"{script:8} {mode:9} {c:>3} " + " ".join(
                            f"{tps:>14.0f} {lat:>7.3f}" for tps, lat in got.values())
                        sh = got["safehold"][0]
                        row += f"  {sh / got['direct'][0]:>15.2f}"
                        if "pgbouncer" in got:
                            row += f"  {sh / got['pgbouncer'][0]:>18.2f}"
                        print(row, flush=True)
            print("added latency at c=1 is the 'lat ms' difference, safehold minus direct")
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(10)
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
