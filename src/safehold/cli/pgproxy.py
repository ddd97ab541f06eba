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
    credential: str | None = typer.Option(
        None, "--credential",
        help="a postgresql credential in the credential store: the database, its environment "
        "and its password (agents then log in with a capability for it)"),
    upstream: str | None = typer.Option(None, "--upstream",
                                        help="postgresql://USER@HOST:PORT/DB (with PGPASSWORD)"),
    env: str | None = typer.Option(None, "--env", help="the environment of --upstream"),
    listen: str = typer.Option("127.0.0.1:6433", "--listen", help="HOST:PORT to listen on"),
    config: Path | None = typer.Option(None, "--config", "-c", help="safehold.toml to use."),
    max_statement_bytes: int = typer.Option(
        256 * 1024, "--max-statement-bytes",
        help="larger SQL is not parsed and needs a human's approval",
    ),
    hold: float = typer.Option(
        0.0, "--hold", min=0, max=3600,
        help="seconds a statement that needs approval waits for it (0: refuse at once)"),
    tls_cert: Path | None = typer.Option(None, "--tls-cert", help="PEM certificate for clients"),
    tls_key: Path | None = typer.Option(None, "--tls-key", help="its PEM private key"),
) -> None:
    """Serve the database to agents: they log in with a capability or agent token as the
    password (SCRAM-SHA-256; in clear only from this machine), every statement is decided by
    policy and audited, and the proxy alone holds the database password."""
    import asyncio

    from safehold.analysis.interface import Limits
    from safehold.config import load_config
    from safehold.decide import Guard
    from safehold.pgproxy.assemble import stored_proxy
    from safehold.pgproxy.auth import store_token_verifier
    from safehold.pgproxy.listener import PgProxy, ProxySettings
    from safehold.pgproxy.settings import ProxyDeclaration, split_listen
    from safehold.pgproxy.upstream import UpstreamTarget
    from safehold.service import Safehold

    if (credential is None) == (upstream is None) or (upstream is not None and env is None):
        raise fail("give --credential NAME, or --upstream URL with --env ENV", 2)
    password = os.environ.get("PGPASSWORD")
    try:
        host, port = split_listen(listen)
        target = UpstreamTarget.from_url(upstream, lambda: password) if upstream else None
        cfg = load_config(config)
        guard = Guard.from_config(cfg, limits=Limits(max_input_bytes=max_statement_bytes))
        sh = Safehold.open(cfg, guard=guard)
    except SafeholdError as exc:
        raise fail(str(exc), 2) from exc
    try:
        if credential is not None:
            proxy = stored_proxy(sh, cfg, ProxyDeclaration(
                credential, listen, max_statement_bytes, hold_seconds=hold,
                tls_cert=str(tls_cert) if tls_cert else None,
                tls_key=str(tls_key) if tls_key else None))
        else:
            assert target is not None and env is not None
            settings = ProxySettings(host, port, env, max_statement_bytes, hold_seconds=hold,
                                     tls_cert=str(tls_cert) if tls_cert else None,
                                     tls_key=str(tls_key) if tls_key else None)
            proxy = PgProxy(settings, target, sh, store_token_verifier(sh.store))
    except SafeholdError as exc:
        sh.close()
        raise fail(str(exc), 2) from exc

    async def main() -> None:
        bound = await proxy.start()
        t = proxy.ctx.target
        typer.echo(
            f"safehold: proxying {t.database} at {t.host}:{t.port} "
            f"({proxy.settings.environment}) on {host}:{bound}", err=True,
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
