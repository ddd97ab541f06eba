"""`safehold serve` starts the proxies safehold.toml declares; `safehold env` points at them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from capability_fixtures import prepare
from pgproxy_fixtures import UPSTREAM_PASSWORD
from typer.testing import CliRunner

import pg


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_starts_the_declared_proxy_and_env_prints_its_url(
    tmp_path: Path, scram_pg: pg.PostgresServer,
) -> None:
    from safehold.cli import build_app

    ready = prepare(tmp_path, scram_pg)
    proxy_port = _free_port()
    config = ready.write_config(tmp_path / "safehold.toml", proxy_port, _free_port())
    exe = str(Path(sys.executable).with_name("safehold"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    log = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen([exe, "serve", "--config", str(config)], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=log, env=env)
    try:
        deadline = time.monotonic() + 60
        while "proxying" not in (tmp_path / "serve.log").read_text():
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.1)
        result = CliRunner().invoke(build_app(), [
            "env", "--config", str(config), "--agent", "claude", "--credential", "shop-db"])
        assert result.exit_code == 0, result.output
        assert UPSTREAM_PASSWORD not in result.stdout
        line = next(x for x in result.stdout.splitlines() if x.startswith("export DATABASE_URL="))
        url = line.split("=", 1)[1].strip("'")
        assert f"@127.0.0.1:{proxy_port}/{ready.database}" in url
        with psycopg.connect(url, autocommit=True, require_auth="scram-sha-256") as conn:
            assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (20,)
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="safehold"):
                conn.execute("TRUNCATE accounts")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
        ready.safehold.close()
    with psycopg.connect(host="127.0.0.1", port=scram_pg.port, user=pg.SUPERUSER,
                         dbname=ready.database, password=UPSTREAM_PASSWORD) as conn:
        assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (20,)


def test_serve_refuses_to_start_when_a_declared_proxy_cannot(
    tmp_path: Path, scram_pg: pg.PostgresServer,
) -> None:
    ready = prepare(tmp_path, scram_pg)
    config = tmp_path / "safehold.toml"
    ready.write_config(config, _free_port(), _free_port())
    config.write_text(config.read_text().replace('credential = "shop-db"',
                                                 'credential = "no-such-db"'))
    exe = str(Path(sys.executable).with_name("safehold"))
    run = subprocess.run([exe, "serve", "--config", str(config)], stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=60)
    ready.safehold.close()
    assert run.returncode == 2 and "no-such-db" in run.stderr, run.stderr
