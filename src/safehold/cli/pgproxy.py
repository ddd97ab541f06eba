"""`safehold pg-proxy`: put one PostgreSQL database behind safehold's policy."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from safehold.cli.common import fail
from safehold.errors import SafeholdError


def register(app: typer.Typer) -> None:
    app.command("pg-proxy")(pg_proxy)


def pg_proxy(
    upstream: str = typer.Option(..., "--upstream", help="postgresql://USER@HOST:PORT/DB"),
    env: str = typer.Option(..., "--env", help="the environment this database belongs to"),
    listen: str = typer.Option("127.0.0.1:6433", "--listen", help="loopback HOST:PORT"),
    config: Path | None = typer.Option(None, "--config", "-c", help="safehold.toml to use."),
    max_statement_bytes: int = typer.Option(
        256 * 1024, "--max-statement-bytes",
        help="larger SQL is not parsed and needs a human's approval",
    ),
) -> None:
    """Serve the database to agents: they log in with an agent token as the password, every
    statement is decided by policy and audited, and the proxy alone holds the database
    password (PGPASSWORD)."""
    import asyncio

    from safehold.analysis.interface import Limits
    from safehold.config import load_config
    from safehold.decide import Guard
    from safehold.pgproxy.auth import store_token_verifier
    from safehold.pgproxy.listener import PgProxy, ProxySettings
    from safehold.pgproxy.upstream import UpstreamTarget
    from safehold.service import Safehold

    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise fail(f"--listen {listen!r} is not HOST:PORT", 2)
    password = os.environ.get("PGPASSWORD")
    try:
        target = UpstreamTarget.from_url(upstream, lambda: password)
        cfg = load_config(config)
        guard = Guard.from_config(cfg, limits=Limits(max_input_bytes=max_statement_bytes))
        sh = Safehold.open(cfg, guard=guard)
    except SafeholdError as exc:
        raise fail(str(exc), 2) from exc
    try:
        settings = ProxySettings(host, int(port), env, max_statement_bytes)
        proxy = PgProxy(settings, target, sh, store_token_verifier(sh.store))
    except SafeholdError as exc:
        sh.close()
        raise fail(str(exc), 2) from exc

    async def main() -> None:
        bound = await proxy.start()
        typer.echo(
            f"safehold: proxying {target.database} at {target.host}:{target.port} "
            f"({env}) on {host}:{bound}", err=True,
        )
        try:
            await proxy.serve_forever()
        finally:
            await proxy.close()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    finally:
        sh.close()
