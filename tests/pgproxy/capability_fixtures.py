"""A proxy built from what safehold stores: a postgresql credential and capabilities for it."""

from __future__ import annotations

import dataclasses
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from pgproxy_fixtures import UPSTREAM_PASSWORD, ProxyThread, direct
from typer.testing import CliRunner

import pg
from safehold.capabilities.registry import Capabilities
from safehold.config import Config, default_config, load_config
from safehold.credentials.keys import key_dir_for
from safehold.credentials.store import CredentialStore
from safehold.pgproxy.assemble import stored_proxy
from safehold.pgproxy.listener import PgProxy, cleartext_check
from safehold.pgproxy.settings import ProxyDeclaration
from safehold.service import Safehold

CREDENTIAL = "shop-db"


@dataclass
class StoredProxy:
    proxy: PgProxy
    runner: ProxyThread
    port: int
    safehold: Safehold
    config: Config
    config_path: Path
    database: str
    upstream: pg.PostgresServer
    credentials: CredentialStore
    capabilities: Capabilities

    def env(self, *args: str) -> dict[str, str]:
        """`safehold env --agent …` as a user runs it: the exported variables."""
        from safehold.cli import build_app

        result = CliRunner().invoke(
            build_app(), ["env", "--config", str(self.config_path), *args],
            env={"XDG_DATA_HOME": str(self.config_path.parent)},
        )
        assert result.exit_code == 0, result.output
        out = {}
        for line in result.stdout.splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            out[key] = value.strip("'")
        return out

    def issue(self, agent: str = "claude", credential: str = CREDENTIAL,
              **kw: Any) -> tuple[str, str]:
        """(capability id, token) straight from the registry."""
        issued, token = self.capabilities.issue(agent, credentials=[credential], **kw)
        return issued.id, token

    def dsn(self, user: str, password: str, **extra: str) -> str:
        parts = {"host": "127.0.0.1", "port": str(self.port), "user": user,
                 "dbname": self.database, "password": password,
                 "application_name": "cap-agent", **extra}
        return " ".join(f"{k}={v}" for k, v in parts.items())

    def connect(self, url: str, **kw: Any) -> psycopg.Connection[Any]:
        return psycopg.connect(url, autocommit=True, **kw)

    def audit(self, type: str) -> list[Any]:
        return self.safehold.audit.tail(500, type=type)


@dataclass
class Prepared:
    """A database, the safehold store with its postgresql credentials, and the keys."""

    safehold: Safehold
    config: Config
    database: str
    db_url: str
    credentials: CredentialStore
    capabilities: Capabilities

    def write_config(self, path: Path, proxy_port: int, server_port: int | None = None) -> Path:
        server = f"port = {server_port}\n" if server_port else ""
        path.write_text(
            f'database_url = "{self.db_url}"\n'
            f'[server]\nsecret_key = "{self.config.server.secret_key_path}"\n{server}'
            f'[[pgproxy]]\ncredential = "{CREDENTIAL}"\nlisten = "127.0.0.1:{proxy_port}"\n'
        )
        os.chmod(path, 0o600)
        return path


def prepare(tmp_path: Path, upstream: pg.PostgresServer) -> Prepared:
    database = f"t_{secrets.token_hex(6)}"
    with direct(upstream, "postgres") as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    with direct(upstream, database) as conn:
        conn.execute("CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance int)")
        conn.execute("INSERT INTO accounts SELECT g, 'o' || g, 100 FROM generate_series(1, 20) g")
    db_url = f"sqlite:///{tmp_path / 'sh.db'}"
    base = dataclasses.replace(default_config({"XDG_DATA_HOME": str(tmp_path)}),
                               database_url=db_url)
    sh = Safehold.open(base, notify_in_background=False)
    keys = key_dir_for(base)
    creds = CredentialStore.open(sh.store, sh.audit, keys)
    caps = Capabilities.open(sh.store, sh.audit, keys)
    where = f"postgresql://{pg.SUPERUSER}@127.0.0.1:{upstream.port}/{database}"
    creds.add(CREDENTIAL, "postgresql", "production", UPSTREAM_PASSWORD, where)
    creds.add("staging-db", "postgresql", "staging", UPSTREAM_PASSWORD, where)
    creds.add("other-db", "postgresql", "production", UPSTREAM_PASSWORD, where)
    return Prepared(sh, base, database, db_url, creds, caps)


def start_stored_proxy(tmp_path: Path, upstream: pg.PostgresServer, *,
                       cleartext_networks: tuple[str, ...] | None = None) -> StoredProxy:
    ready = prepare(tmp_path, upstream)
    proxy = stored_proxy(ready.safehold, ready.config, ProxyDeclaration(CREDENTIAL, "127.0.0.1:0"))
    if cleartext_networks is not None:
        # what `ProxySettings.cleartext_networks` does, for a client that is not in them
        proxy.ctx.cleartext_allowed = cleartext_check(cleartext_networks)
    runner = ProxyThread(proxy)
    port = runner.start()
    config_path = ready.write_config(tmp_path / "safehold.toml", port)
    return StoredProxy(proxy, runner, port, ready.safehold, load_config(config_path),
                       config_path, ready.database, upstream, ready.credentials,
                       ready.capabilities)


def stop(running: StoredProxy) -> None:
    running.runner.stop()
    running.safehold.close()


__all__ = ["CREDENTIAL", "Prepared", "StoredProxy", "prepare", "start_stored_proxy", "stop",
           "timedelta"]
