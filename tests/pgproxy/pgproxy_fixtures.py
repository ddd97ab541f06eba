"""A PostgreSQL that wants a SCRAM password, and a running proxy in front of it."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

import pg
from safehold.analysis.interface import Limits
from safehold.config import default_config
from safehold.decide import Guard
from safehold.pgproxy.auth import store_token_verifier
from safehold.pgproxy.listener import PgProxy, ProxySettings
from safehold.pgproxy.upstream import UpstreamTarget
from safehold.server.accounts import Accounts
from safehold.service import Safehold

UPSTREAM_PASSWORD = "real-database-secret-9f2c"


@pytest.fixture(scope="session")
def scram_pg() -> Iterator[pg.PostgresServer]:
    """A cluster whose TCP logins need the superuser's password, checked with SCRAM."""
    if not pg.available():
        pytest.skip(f"PostgreSQL binaries not found in {pg.PG_BIN}")
    server = pg.PostgresServer().start()
    try:
        with psycopg.connect(
            f"host=127.0.0.1 port={server.port} user={pg.SUPERUSER} dbname=postgres",
            autocommit=True,
        ) as conn:
            conn.execute("SET password_encryption = 'scram-sha-256'")
            conn.execute(f"ALTER ROLE {pg.SUPERUSER} PASSWORD '{UPSTREAM_PASSWORD}'")
        hba = server.data / "pg_hba.conf"
        hba.write_text("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
        server._run([str(pg.PG_BIN / "pg_ctl"), "-D", str(server.data), "reload"])
        yield server
    finally:
        server.stop()


def direct(server: pg.PostgresServer, dbname: str) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host="127.0.0.1", port=server.port, user=pg.SUPERUSER, dbname=dbname,
        password=UPSTREAM_PASSWORD, autocommit=True,
    )


@dataclass
class Running:
    proxy: PgProxy
    port: int
    safehold: Safehold
    token: str
    database: str
    upstream: pg.PostgresServer

    def dsn(self, password: str | None = None, **extra: str) -> str:
        parts = {
            "host": "127.0.0.1", "port": str(self.port), "user": "agent",
            "dbname": self.database, "password": password or self.token,
            "application_name": "test-agent", **extra,
        }
        return " ".join(f"{k}={v}" for k, v in parts.items())

    def connect(self, **kw: Any) -> psycopg.Connection[Any]:
        return psycopg.connect(self.dsn(kw.pop("password", None)), **kw)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with direct(self.upstream, self.database) as conn:
            return conn.execute(sql).fetchall()

    def audit(self, type: str = "decision") -> list[Any]:
        return self.safehold.audit.tail(500, type=type)


class ProxyThread:
    """Runs a PgProxy on an event loop of its own, so tests can use blocking clients."""

    def __init__(self, proxy: PgProxy):
        self.proxy = proxy
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def start(self) -> int:
        return asyncio.run_coroutine_threadsafe(self.proxy.start(), self.loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.proxy.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def start_proxy(
    tmp_path: Path, upstream: pg.PostgresServer, *, port: int | None = None,
    password: str | None = UPSTREAM_PASSWORD, max_statement_bytes: int = 256 * 1024,
    safehold: Any = None, hold_seconds: float = 0.0, **settings: Any,
) -> tuple[Running, ProxyThread]:
    database = f"t_{secrets.token_hex(6)}"
    with direct(upstream, "postgres") as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    with direct(upstream, database) as conn:
        conn.execute("CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance int)")
        conn.execute(
            "INSERT INTO accounts SELECT g, 'owner' || g, 100 FROM generate_series(1, 50) g"
        )
    config = default_config({"XDG_DATA_HOME": str(tmp_path)})
    config = dataclasses.replace(config, database_url=f"sqlite:///{tmp_path / 'sh.db'}")
    guard = Guard.from_config(config, limits=Limits(max_input_bytes=max_statement_bytes))
    sh = Safehold.open(config, guard=guard, notify_in_background=False)
    token = Accounts(sh.store).create_token("agent1", "agent").secret
    target = UpstreamTarget(
        "127.0.0.1", port or upstream.port, pg.SUPERUSER, database, lambda: password
    )
    proxy = PgProxy(ProxySettings("127.0.0.1", 0, "production", max_statement_bytes,
                                  hold_seconds=hold_seconds, **settings),
                    target, safehold or sh, store_token_verifier(sh.store))
    runner = ProxyThread(proxy)
    bound = runner.start()
    return Running(proxy, bound, sh, token, database, upstream), runner


@pytest.fixture
def proxy(tmp_path: Path, scram_pg: pg.PostgresServer) -> Iterator[Running]:
    running, runner = start_proxy(tmp_path, scram_pg)
    try:
        yield running
    finally:
        runner.stop()
        running.safehold.close()


class Wire:
    """A client socket that reads whole protocol messages, for tests that speak it by hand."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)

    def read(self) -> tuple[bytes, bytes]:
        head = self._exact(5)
        return head[:1], self._exact(struct.unpack("!I", head[1:])[0] - 4)

    def _exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def close(self) -> None:
        self.sock.close()
