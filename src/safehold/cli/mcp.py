"""`safehold mcp-proxy`: put an MCP server (stdio or streamable HTTP) behind safehold's policy."""

from __future__ import annotations

import dataclasses
import os
import uuid
from typing import Any

import typer


def register(app: typer.Typer) -> None:
    @app.command("mcp-proxy")
    def mcp_proxy(
        command: list[str] = typer.Argument(
            None, help="the stdio server to run, after `--`", show_default=False
        ),
        upstream: str = typer.Option(None, "--upstream", help="a streamable-HTTP server URL"),
        listen: str = typer.Option("127.0.0.1:8475", "--listen", help="HOST:PORT for --upstream"),
        server_name: str = typer.Option(
            None, "--server-name", help="the server's name in policy (default: its own name)"
        ),
        agent: str = typer.Option("mcp", "--agent", help="the agent name recorded in the audit"),
        approval_wait: float = typer.Option(
            30.0, "--approval-wait", help="seconds to hold a call for a human's approval"
        ),
    ) -> None:
        """Relay an MCP server untouched, judging every tools/call; refused calls get an
        isError tool result that says why. Use: safehold mcp-proxy -- npx some-server"""
        if bool(command) == bool(upstream):
            typer.echo("safehold: give a server command after `--`, or --upstream URL", err=True)
            raise typer.Exit(2)
        judge = _judge(agent, server_name, approval_wait)
        if command:
            from safehold.surfaces.mcp_proxy import stdio

            raise typer.Exit(stdio.run(list(command), judge, session=f"mcp-{uuid.uuid4()}"))
        from safehold.surfaces.mcp_proxy import http

        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit():
            typer.echo(f"safehold: --listen {listen!r} is not HOST:PORT", err=True)
            raise typer.Exit(2)
        http.serve(upstream, judge, host=host, port=int(port))


def _judge(agent: str, server_name: str | None, wait: float) -> Any:
    from safehold.errors import SafeholdError
    from safehold.surfaces.hooks import settings as hook_settings
    from safehold.surfaces.hooks.runner import build_guard
    from safehold.surfaces.mcp_proxy.judge import Judge, ProxySettings

    try:
        s = hook_settings.load(os.environ, os.getcwd())
        guard = build_guard(s)
    except (SafeholdError, ValueError) as exc:
        typer.echo(f"safehold: {exc}", err=True)
        raise typer.Exit(2) from None
    server = dataclasses.replace(s.server, wait_seconds=wait) if s.server else None
    proxy = ProxySettings(
        database_url=s.database_url,
        server=server,
        environment=s.environment,
        agent=agent,
        cwd=os.getcwd(),
        record=os.environ.get("SAFEHOLD_HOOK_RECORD", "1") != "0",
    )
    return Judge(guard, proxy, server_name)
