"""`safehold credentials …`, `safehold capabilities …` and `safehold env --agent NAME`.

Credential values are read from standard input (or a hidden prompt), never from the command
line, where they would land in shell history and in every process listing. These commands
open the database and the key directory directly, so they run as the server's user.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer

from safehold.cli.common import fail
from safehold.errors import SafeholdError

credentials_app = typer.Typer(help="Provider credentials the gateway holds for agents.",
                              no_args_is_help=True)
capabilities_app = typer.Typer(help="Capability tokens agents hold instead of credentials.",
                               no_args_is_help=True)
ConfigOption = typer.Option(None, "--config", "-c", help="safehold.toml to use.")


def register(app: typer.Typer) -> None:
    app.add_typer(credentials_app, name="credentials")
    app.add_typer(capabilities_app, name="capabilities")
    app.command("env")(env)


@contextmanager
def opened(config: Path | None) -> Iterator[tuple[Any, Any, Any]]:
    """(config, credential store, capabilities) over the configured database and key dir."""
    from safehold.audit import AuditLog
    from safehold.capabilities.registry import Capabilities
    from safehold.config import load_config
    from safehold.credentials.keys import key_dir_for
    from safehold.credentials.store import CredentialStore
    from safehold.store import open_store

    try:
        cfg = load_config(config)
        keys = key_dir_for(cfg)
        store = open_store(cfg.database_url)
    except SafeholdError as exc:
        raise fail(str(exc), 2) from exc
    try:
        actor = f"cli/{getpass.getuser()}"
        audit = AuditLog(store)
        yield (cfg, CredentialStore.open(store, audit, keys, actor=actor),
               Capabilities.open(store, audit, keys, actor=actor))
    except SafeholdError as exc:
        raise fail(str(exc)) from exc
    finally:
        store.close()


def read_secret(what: str) -> str:
    tty = sys.stdin.isatty()
    value = getpass.getpass(f"{what} (input hidden): ") if tty else sys.stdin.read()
    value = value.strip("\r\n")
    if not value.strip():
        raise fail(f"no {what} on standard input")
    return value


# credentials ---------------------------------------------------------------------------------


@credentials_app.command("add")
def credentials_add(
    name: str = typer.Argument(..., help="Name agents and tokens refer to, e.g. railway-prod."),
    provider: str = typer.Option(..., "--provider", help="railway, github, vercel, …"),
    env: str = typer.Option(..., "--env", help="The environment this credential reaches."),
    upstream: str | None = typer.Option(None, "--upstream",
                                        help="API base URL (default: the provider's)."),
    config: Path | None = ConfigOption,
) -> None:
    """Store a provider credential, read from standard input, encrypted."""
    secret = read_secret("credential value")
    with opened(config) as (_cfg, creds, _caps):
        info = creds.add(name, provider, env, secret, upstream)
    typer.echo(f"stored {info.provider} credential {info.name!r} for {info.environment} "
               f"(upstream {info.upstream})")


@credentials_app.command("rotate")
def credentials_rotate(name: str = typer.Argument(...), config: Path | None = ConfigOption) -> None:
    """Replace a credential's value (read from standard input)."""
    secret = read_secret("new credential value")
    with opened(config) as (_cfg, creds, _caps):
        info = creds.rotate(name, secret)
    typer.echo(f"rotated {info.name!r}")


@credentials_app.command("remove")
def credentials_remove(name: str = typer.Argument(...), config: Path | None = ConfigOption) -> None:
    """Delete a stored credential; the gateway stops using it at once."""
    with opened(config) as (_cfg, creds, _caps):
        info = creds.remove(name)
    typer.echo(f"removed {info.name!r}")


@credentials_app.command("list")
def credentials_list(config: Path | None = ConfigOption) -> None:
    """Names, providers, environments and last use; never the values."""
    with opened(config) as (_cfg, creds, _caps):
        rows = creds.list()
    if not rows:
        typer.echo("no credentials; add one with: safehold credentials add NAME --provider P "
                   "--env E < token-file")
        return
    for c in rows:
        used = f"used {c.last_used_at:%Y-%m-%d %H:%M}" if c.last_used_at else "never used"
        typer.echo(f"{c.name:<24} {c.provider:<12} {c.environment:<12} {used:<22} {c.upstream}")


# capabilities --------------------------------------------------------------------------------


def parse_ttl(text: str) -> timedelta:
    from safehold.config import parse_duration

    try:
        return timedelta(seconds=parse_duration(text))
    except (ValueError, SafeholdError) as exc:
        raise fail(f"--ttl: {exc}", 2) from exc


def issue_capability(name: str, credentials: list[str], env: str | None, ttl: str,
                     actions: str, agent: str | None, config: Path | None) -> None:
    """`safehold tokens create NAME --role agent --credential C`: the token alone on stdout."""
    with opened(config) as (_cfg, _creds, caps):
        issued, token = caps.issue(name, credentials=credentials, environment=env,
                                   actions=actions, ttl=parse_ttl(ttl), agent=agent)
    typer.echo(f"issued capability {issued.name!r} ({issued.id}) for {issued.environment}: "
               f"{', '.join(issued.credentials)}, {issued.actions}, expires "
               f"{issued.expires_at:%Y-%m-%d %H:%M:%S} UTC", err=True)
    typer.echo(f"revocation id: {issued.revocation_id}", err=True)
    typer.echo(token)


def renew_capability(ttl: str | None, config: Path | None) -> None:
    """`safehold tokens renew`: the token is read like a secret (stdin, or the variable
    `safehold env` sets), never from the command line."""
    token = os.environ.get("SAFEHOLD_CAPABILITY", "") if sys.stdin.isatty() else sys.stdin.read()
    if not token.strip():
        raise fail("no capability on standard input or in $SAFEHOLD_CAPABILITY")
    with opened(config) as (_cfg, _creds, caps):
        issued, new = caps.renew(token.strip(), ttl=parse_ttl(ttl) if ttl else None,
                                 by=f"cli/{getpass.getuser()}")
    typer.echo(f"renewed capability {issued.name!r} ({issued.id}) for {issued.environment}: "
               f"expires {issued.expires_at:%Y-%m-%d %H:%M:%S} UTC", err=True)
    typer.echo(new)


@capabilities_app.command("list")
def capabilities_list(config: Path | None = ConfigOption) -> None:
    with opened(config) as (_cfg, _creds, caps):
        rows = caps.list()
    if not rows:
        typer.echo("no capabilities; issue one with: safehold tokens create NAME --role agent "
                   "--credential CRED")
        return
    for c in rows:
        state = "revoked" if c.revoked else f"expires {c.expires_at:%Y-%m-%d %H:%M}"
        typer.echo(f"{c.id}  {c.name:<20} {c.environment:<12} {c.actions:<12} {state:<24} "
                   f"{','.join(c.credentials)}")


@capabilities_app.command("revoke")
def capabilities_revoke(
    what: str = typer.Argument(..., help="Revocation id, capability id, or name."),
    config: Path | None = ConfigOption,
) -> None:
    """Refuse a capability (and everything attenuated from it) from the next request on."""
    with opened(config) as (_cfg, _creds, caps):
        done = caps.revoke(what)
    typer.echo(f"revoked {len(done)} capability block(s)" if done else "already revoked")


@capabilities_app.command("attenuate")
def capabilities_attenuate(
    env: str | None = typer.Option(None, "--env", help="Only this environment."),
    credential: list[str] = typer.Option([], "--credential", help="Only these credentials."),
    actions: str | None = typer.Option(None, "--actions",
                                       help="read-only, writes or destructive."),
    ttl: str | None = typer.Option(None, "--ttl", help="Shorter life, e.g. 5m."),
    public_key: str | None = typer.Option(None, "--public-key", envvar="SAFEHOLD_CAPABILITY_KEY",
                                          help="The server's capability public key (hex)."),
) -> None:
    """Narrow the capability on standard input (or $SAFEHOLD_CAPABILITY) for a subagent,
    offline. The result can only do less than the original."""
    from safehold.capabilities.tokens import attenuate

    token = os.environ.get("SAFEHOLD_CAPABILITY", "") if sys.stdin.isatty() else sys.stdin.read()
    if not token.strip():
        raise fail("no capability on standard input or in $SAFEHOLD_CAPABILITY")
    if not public_key:
        raise fail("give --public-key (or $SAFEHOLD_CAPABILITY_KEY, printed by safehold env)")
    try:
        narrower = attenuate(token.strip(), public_key, environment=env,
                             credentials=tuple(credential), actions=actions,
                             ttl=parse_ttl(ttl) if ttl else None)
    except SafeholdError as exc:
        raise fail(str(exc)) from exc
    typer.echo(narrower)


# env -----------------------------------------------------------------------------------------


def env(
    agent: str = typer.Option(..., "--agent", help="The agent (token name) to give variables to."),
    credential: list[str] = typer.Option([], "--credential",
                                         help="Credentials (default: every stored one in --env)."),
    environment: str | None = typer.Option(None, "--env", help="Environment of the capability."),
    ttl: str = typer.Option("15m", "--ttl", help="Capability lifetime."),
    actions: str = typer.Option("writes", "--actions", help="read-only, writes or destructive."),
    config: Path | None = ConfigOption,
) -> None:
    """Print `export` lines to give an agent instead of provider tokens: the gateway URL, a
    fresh capability, and each provider's token and endpoint variables pointing at them."""
    from safehold.catalog.gatewaydata import providers

    with opened(config) as (cfg, creds, caps):
        stored = {c.name: c for c in creds.list()}
        names = credential or [c.name for c in stored.values()
                               if environment is None or c.environment == environment]
        if not names:
            raise fail("no credentials to hand out; add one with: safehold credentials add")
        unknown = [n for n in names if n not in stored]
        if unknown:
            raise fail(f"no credential named {unknown[0]!r}")
        issued, token = caps.issue(agent, credentials=names, environment=environment,
                                   actions=actions, ttl=parse_ttl(ttl))
        public = caps.signer.public_key_hex
        databases = _database_urls(cfg, caps, issued.id, token, [stored[n] for n in names])
    base = cfg.server.base_url.rstrip("/")
    lines = {
        "SAFEHOLD_GATEWAY": f"{base}/gateway",
        "SAFEHOLD_CAPABILITY": token,
        "SAFEHOLD_CAPABILITY_KEY": public,
    }
    for n in names:
        info = stored[n]
        access = providers().get(info.provider)
        url = f"{base}/gateway/{n}"
        lines[f"SAFEHOLD_GATEWAY_{_var(n)}"] = url
        if access is not None:
            for var in access.token_env:
                lines.setdefault(var, token)
            for var in access.endpoint_env:
                lines.setdefault(var, url)
    lines.update(databases)
    for key, value in lines.items():
        typer.echo(f"export {key}={_quote(value)}")


def _database_urls(cfg: Any, caps: Any, capability_id: str, token: str,
                   infos: list[Any]) -> dict[str, str]:
    """DATABASE_URL (and DATABASE_URL_<NAME> each) for the postgresql credentials that a
    `[[pgproxy]]` serves: the proxy's address, a SCRAM login enrolled for this capability,
    and the capability as the password. The database password itself is never printed."""
    from urllib.parse import quote

    from safehold.credentials.store import DATABASE_PROVIDER
    from safehold.pgproxy.logins import enrol

    served = {d.credential: d for d in cfg.pgproxy}
    wanted = [i for i in infos if i.provider == DATABASE_PROVIDER]
    for name in [i.name for i in wanted if i.name not in served]:
        typer.echo(f"safehold: credential {name!r} is a database no proxy serves, so no "
                   f"DATABASE_URL for it; add a [[pgproxy]] table with credential = {name!r} "
                   "to safehold.toml", err=True)
    wanted = [i for i in wanted if i.name in served]
    if not wanted:
        return {}
    login = enrol(caps, capability_id, token)
    out: dict[str, str] = {}
    for info in wanted:
        from safehold.pgproxy.upstream import UpstreamTarget

        database = UpstreamTarget.from_url(info.upstream, lambda: None).database
        host, port = served[info.name].address
        host = f"[{host}]" if ":" in host else host
        url = (f"postgresql://{login}:{quote(token, safe='')}@{host}:{port}/"
               f"{quote(database, safe='')}")
        out[f"DATABASE_URL_{_var(info.name)}"] = url
        out.setdefault("DATABASE_URL", url)
    return out


def _var(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name).upper()


def _quote(value: str) -> str:
    import shlex

    return shlex.quote(value)
