"""`safehold serve`, `safehold users …` and `safehold tokens …`.

The server is useless until a person can sign in, so `serve` checks for an admin first: on a
terminal it offers to create one (printing the generated password once); elsewhere it prints
the exact command to run and serves the API anyway, since agents authenticate with tokens.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import typer

from safehold.cli.common import fail
from safehold.errors import SafeholdError

users_app = typer.Typer(help="Dashboard users (admin, approver, viewer).", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens for agents and integrations.", no_args_is_help=True)

ConfigOption = typer.Option(None, "--config", "-c", help="safehold.toml to use.")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")


def _config(path: Path | None) -> Any:
    from safehold.config import load_config

    try:
        return load_config(path)
    except SafeholdError as exc:
        raise fail(str(exc), 2) from exc


def _accounts(path: Path | None) -> Any:
    from safehold.server.accounts import Accounts
    from safehold.store import open_store

    cfg = _config(path)
    try:
        import getpass

        from safehold.audit import AuditLog

        store = open_store(cfg.database_url)
        return Accounts(store, AuditLog(store), actor=f"cli/{getpass.getuser()}")
    except SafeholdError as exc:
        raise fail(str(exc), 2) from exc


def serve(
    config: Path | None = ConfigOption,
    host: str | None = typer.Option(None, help="Interface to listen on (default from config)."),
    port: int | None = typer.Option(None, help="Port to listen on (default from config)."),
    unix_socket: Path | None = typer.Option(
        None, "--socket", help="Also serve the API on this Unix socket (the system deployment's "
        "hooks connect there and check that this process runs as safehold's user)."),
) -> None:
    """Run the API and the dashboard."""
    import dataclasses

    import uvicorn

    from safehold.server.accounts import Accounts
    from safehold.server.app import create_app
    from safehold.service import Safehold

    os.umask(0o077)  # whatever the server writes (db, WAL, keys, checkpoints) is its alone
    cfg = _config(config)
    settings = cfg.server
    if host or port:
        from safehold.config import listening_on

        settings = listening_on(settings, host or settings.host, port or settings.port)
        cfg = dataclasses.replace(cfg, server=settings)
    try:
        sh = Safehold.open(cfg)
    except SafeholdError as exc:
        raise fail(str(exc), 2) from exc
    proxies = None
    try:
        _first_run(Accounts(sh.store, sh.audit, actor="serve/first-run"), config)
        proxies = _start_pg_proxies(sh, cfg)
        app = create_app(sh, settings)
        if settings.host not in ("127.0.0.1", "localhost", "::1") and settings.base_url.startswith(
            "http://"
        ):
            typer.echo(
                f"safehold: warning: listening on {settings.host} over plain http; put TLS in "
                "front and set [server] base_url = \"https://…\" so passwords and session "
                "cookies are not sent in clear",
                err=True,
            )
        typer.echo(f"safehold: serving {settings.base_url} (database {sh.store.url})", err=True)
        from safehold.deploy.mode import SAME_USER_NOTE, is_system_deployment

        if not is_system_deployment(cfg.path):
            typer.echo(f"safehold: {SAME_USER_NOTE}", err=True)
        if unix_socket is None:
            # X-Forwarded-For is believed only from [server] trusted_proxies, inside the app
            uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning",
                        proxy_headers=False)
        else:
            from safehold.server.listen import serve_sockets

            typer.echo(f"safehold: serving the API on {unix_socket} too", err=True)
            serve_sockets(app, settings.host, settings.port, str(unix_socket))
    finally:
        if proxies is not None:
            proxies.stop()
        sh.close()


def _start_pg_proxies(sh: Any, cfg: Any) -> Any:
    """The `[[pgproxy]]` proxies of safehold.toml, listening; None when none is declared.
    One that cannot start stops the server: an agent must not find its database unguarded
    or silently missing."""
    if not cfg.pgproxy:
        return None
    from safehold.pgproxy.assemble import BackgroundProxies, stored_proxy

    try:
        running = BackgroundProxies([stored_proxy(sh, cfg, d) for d in cfg.pgproxy])
        ports = running.start()
    except (SafeholdError, OSError) as exc:
        raise fail(f"cannot start the PostgreSQL proxies: {exc}", 2) from exc
    for proxy, port in zip(running.proxies, ports, strict=True):
        t = proxy.ctx.target
        typer.echo(f"safehold: proxying {t.database} at {t.host}:{t.port} "
                   f"({proxy.settings.environment}) on {proxy.settings.host}:{port}", err=True)
    return running


def _first_run(accounts: Any, config: Path | None) -> None:
    from safehold.server.accounts import generate_password

    if accounts.has_admin():
        return
    from safehold.invocation import command

    flag = ["--config", str(config)] if config else []
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        typer.echo(
            "safehold: no admin user exists yet, so nobody can sign in to the dashboard.\n"
            f"  create one with:  {command('users', 'add', 'admin', '--role', 'admin', *flag)}\n"
            "  (it prompts for a password; or pipe one in with --password-stdin)",
            err=True,
        )
        return
    if not typer.confirm("No admin user exists yet. Create one now?", default=True):
        typer.echo(f"Later: {command('users', 'add', 'admin', '--role', 'admin', *flag)}")
        return
    name = typer.prompt("Username", default="admin")
    password = generate_password()
    try:
        accounts.add_user(name, password, "admin")
    except SafeholdError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"Created admin {name!r}. Password (shown once, store it now): {password}")


# users ---------------------------------------------------------------------------------------


@users_app.command("add")
def users_add(
    name: str = typer.Argument(..., help="Username."),
    role: str = typer.Option(..., "--role", help="admin, approver or viewer."),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="Read the password from standard input."),
    config: Path | None = ConfigOption,
) -> None:
    """Add a dashboard user (prompts for the password unless --password-stdin)."""
    password = _read_password(password_stdin)
    try:
        user = _accounts(config).add_user(name, password, role)
    except SafeholdError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"added {user.role} {user.username!r}")


@users_app.command("passwd")
def users_passwd(
    name: str = typer.Argument(..., help="Username."),
    password_stdin: bool = typer.Option(False, "--password-stdin"),
    config: Path | None = ConfigOption,
) -> None:
    """Set a user's password (their open sessions end)."""
    password = _read_password(password_stdin)
    try:
        _accounts(config).set_password(name, password)
    except SafeholdError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"password changed for {name!r}")


@users_app.command("disable")
def users_disable(name: str, config: Path | None = ConfigOption) -> None:
    """Stop a user from signing in (their open sessions end)."""
    _set_disabled(name, True, config)


@users_app.command("enable")
def users_enable(name: str, config: Path | None = ConfigOption) -> None:
    _set_disabled(name, False, config)


def _set_disabled(name: str, disabled: bool, config: Path | None) -> None:
    try:
        _accounts(config).set_disabled(name, disabled)
    except SafeholdError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"{'disabled' if disabled else 'enabled'} {name!r}")


@users_app.command("list")
def users_list(config: Path | None = ConfigOption) -> None:
    users = _accounts(config).users()
    if not users:
        from safehold.invocation import program

        typer.echo(f"no users; add one with: {program()} users add NAME --role admin")
        return
    for u in users:
        state = "disabled" if u.disabled else "active"
        typer.echo(f"{u.username:<24} {u.role:<9} {state:<9} created {u.created_at:%Y-%m-%d}")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise fail("no password on standard input")
        return password
    if not sys.stdin.isatty():
        raise fail("no terminal to prompt for a password; use --password-stdin")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


# tokens --------------------------------------------------------------------------------------


@tokens_app.command("create")
def tokens_create(
    name: str = typer.Argument(..., help="What the token is for, e.g. claude-laptop."),
    role: str = typer.Option(..., "--role", help="agent, approver or admin."),
    user: str | None = typer.Option(
        None, "--user", help="The dashboard user an approver or admin token acts for."
    ),
    credential: list[str] = typer.Option(
        [], "--credential",
        help="Issue an agent capability for the gateway, for these stored credentials."),
    env: str | None = typer.Option(None, "--env", help="Capability: its environment."),
    ttl: str = typer.Option("15m", "--ttl", help="Capability: its lifetime."),
    actions: str = typer.Option("writes", "--actions",
                                help="Capability: read-only, writes or destructive."),
    config: Path | None = ConfigOption,
) -> None:
    """Create an API token and print it once (only its hash is stored). With --credential, an
    agent capability for the gateway instead, printed alone on standard output.

    Approver and admin tokens belong to a user and vote as that user, so they never add a
    second vote for the same person. This writes the server's database directly: in the
    system deployment only the server's user can (or an admin through POST /api/v1/tokens)."""
    if credential:
        from safehold.cli.credentials import issue_capability

        if role != "agent":
            raise fail("--credential issues agent capabilities; use --role agent", 2)
        issue_capability(name, credential, env, ttl, actions, None, config)
        return
    try:
        issued = _accounts(config).create_token(name, role, user)
    except SafeholdError as exc:
        raise fail(str(exc)) from exc
    owner = f" for user {issued.info.user!r}" if issued.info.user else ""
    typer.echo(f"created {issued.info.role} token {issued.info.name!r}{owner} "
               f"(id {issued.info.id})", err=True)
    typer.echo("the token is shown only now; store it where the agent reads it:", err=True)
    typer.echo(issued.secret)


@tokens_app.command("renew")
def tokens_renew(
    ttl: str | None = typer.Option(None, "--ttl", help="A shorter term than the capability's "
                                   "own."),
    config: Path | None = ConfigOption,
) -> None:
    """Renew the agent capability on standard input (or $SAFEHOLD_CAPABILITY) before it
    expires: the new token, granting exactly the same, alone on standard output."""
    from safehold.cli.credentials import renew_capability

    renew_capability(ttl, config)


@tokens_app.command("list")
def tokens_list(
    all_: bool = typer.Option(False, "--all", help="Include revoked tokens."),
    config: Path | None = ConfigOption,
) -> None:
    tokens = _accounts(config).tokens(include_revoked=all_)
    if not tokens:
        from safehold.invocation import program

        typer.echo(f"no tokens; create one with: {program()} tokens create NAME --role agent")
        return
    for t in tokens:
        used = f"used {t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never used"
        state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "live"
        owner = f"user {t.user}" if t.user else "no user"
        typer.echo(f"{t.id}  {t.name:<24} {t.role:<9} {owner:<16} {state:<18} {used}")


@tokens_app.command("revoke")
def tokens_revoke(
    name_or_id: str = typer.Argument(..., help="Token id, or name (revokes every live one)."),
    config: Path | None = ConfigOption,
) -> None:
    try:
        revoked = _accounts(config).revoke_token(name_or_id)
    except SafeholdError as exc:
        raise fail(str(exc)) from exc
    for t in revoked:
        typer.echo(f"revoked {t.name!r} ({t.id})")
