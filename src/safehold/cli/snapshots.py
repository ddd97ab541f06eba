"""`safehold snapshot`, `safehold snapshots list` and `safehold restore`.

They work ad hoc (`--store DIR`, a URL or path, no config file) and with `safehold.toml`
(the store configured for the source's environment, the inventory's own connection). A
restore goes to a new database or path; over the original only with `--replace`, and when a
server is configured (a config file exists) the policy decides it, like any other destructive
action: built in, a person other than the one restoring approves it first.
"""

from __future__ import annotations

import getpass
import json
import os
import time
from pathlib import Path
from typing import Any

import typer

from safehold.cli.common import fail
from safehold.errors import SafeholdError
from safehold.surfaces.messages import approve_command

snapshots_app = typer.Typer(help="Snapshots: list what exists.", no_args_is_help=True)
ConfigOption = typer.Option(None, "--config", "-c", help="safehold.toml to use.")
StoreOption = typer.Option(None, "--store", help="A directory store to use (instead of the "
                           "configured one).")


def register(app: typer.Typer) -> None:
    app.command("snapshot")(snapshot)
    app.command("restore")(restore_command)
    app.command("drill")(drill_command)
    app.add_typer(snapshots_app, name="snapshots")


def _config(path: Path | None) -> Any:
    from safehold.config import load_config

    try:
        return load_config(path)
    except SafeholdError as exc:
        raise fail(str(exc), 2) from exc


def _stores(config: Any, store: Path | None, *, required: bool = False) -> list[Any]:
    from safehold.protection.local_store import LocalStore

    if store is not None:
        return [LocalStore("cli", store)]
    stores = [_open(config, s) for s in config.snapshots.stores]
    if required and not stores:
        raise fail("no store: pass --store DIR, or configure [snapshots] in safehold.toml")
    return stores


def _open(config: Any, settings: Any) -> Any:
    """A configured store, its keys (if it names a credential) from the credential store."""
    from safehold.credentials.for_stores import store_secrets_for
    from safehold.protection.stores import open_store

    return open_store(settings, secret=store_secrets_for(config))


def _shown(resource: str) -> str | None:
    """A resource as manifests name their source: a URL without secrets, an absolute path."""
    from safehold.protection.interface import display_source

    if not resource:
        return None
    return display_source(resource) if "://" in resource else os.path.abspath(resource)


def capture_for(source: str, config: Any, tables: list[str]) -> Any:
    """What to capture for a source named on the command line."""
    from safehold.inventory import Inventory
    from safehold.protection.plan import capture_of_source

    try:
        return capture_of_source(source, Inventory(config.environments), tuple(tables))
    except SafeholdError as exc:
        raise fail(str(exc)) from exc


def snapshot(
    source: str = typer.Argument(..., help="postgresql://… URL, a SQLite file or a directory."),
    store: Path | None = StoreOption,
    table: list[str] = typer.Option([], "--table", "-t", help="Only these tables (PostgreSQL)."),
    retention: str = typer.Option("", help="How long to keep it (e.g. 30d); default from "
                                  "the config."),
    config: Path | None = ConfigOption,
) -> None:
    """Take a verified snapshot now; the last line printed is its id alone."""
    from safehold.config import parse_duration
    from safehold.protection.drivers import driver_named
    from safehold.protection.snapshot import take

    cfg = _config(config)
    capture = capture_for(source, cfg, table)
    if store is not None:
        target_store = _stores(cfg, store)[0]
    else:
        settings = cfg.snapshots.store_for(capture.environment)
        if settings is None:
            raise fail("no store: pass --store DIR, or configure [snapshots] in safehold.toml")
        target_store = _open(cfg, settings)
    try:
        seconds = (parse_duration(retention) if retention
                   else cfg.snapshots.retention_for(capture.environment))
        manifest = take(capture, driver_named(capture.driver), target_store,
                        retention_seconds=seconds)
    except ValueError as exc:
        raise fail(f"--retention: {exc}", 2) from exc
    except SafeholdError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"captured {capture.describe()}", err=True)
    typer.echo(f"{manifest.size} bytes in {len(manifest.parts)} part(s), verified; store "
               f"{manifest.store} ({manifest.store_location}); kept until "
               f"{manifest.retention_until}", err=True)
    for w in manifest.warnings:
        typer.echo(f"warning: {w}", err=True)
    typer.echo(manifest.id)


@snapshots_app.command("list")
def list_snapshots(
    resource: str = typer.Argument("", help="Only snapshots of this source (URL or path)."),
    store: Path | None = StoreOption,
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
    config: Path | None = ConfigOption,
) -> None:
    """Snapshots in the store(s), newest first."""

    cfg = _config(config)
    stores = _stores(cfg, store, required=True)
    wanted = _shown(resource) or ""
    found = []
    for s in stores:
        try:
            found.extend(s.manifests())
        except SafeholdError as exc:
            raise fail(str(exc)) from exc
    found = [m for m in found if not wanted or m.source == wanted
             or m.source.startswith(wanted.rstrip("/") + "/")]
    found.sort(key=lambda m: m.created_at, reverse=True)
    for m in found:
        if as_json:
            typer.echo(json.dumps({"id": m.id, "driver": m.driver, "scope": m.scope,
                                   "source": m.source, "tables": list(m.tables),
                                   "created_at": m.created_at, "size": m.size,
                                   "store": m.store, "retention_until": m.retention_until,
                                   "locked": m.locked, "warnings": list(m.warnings)}))
            continue
        what = f"{m.scope} {','.join(m.tables)}".strip()
        flag = " LOCKED" if m.locked else ""
        warn = f"  ! {len(m.warnings)} warning(s)" if m.warnings else ""
        typer.echo(f"{m.id}  {m.created_at[:19]}  {m.size:>12}  {m.driver:<10} {what:<20} "
                   f"{m.source}  [{m.store}{flag}]{warn}")
    if not found and not as_json:
        typer.echo("no snapshots", err=True)


def restore_command(
    snapshot_id: str = typer.Argument(..., metavar="ID"),
    to: str = typer.Option("", "--to", help="New database URL or path to restore into."),
    replace: bool = typer.Option(False, "--replace", help="Restore over an existing target "
                                 "(the original): decided by the policy when a server is "
                                 "configured."),
    who: str = typer.Option("", "--as", help="Your dashboard username: with --replace and a "
                            "configuration, the person requesting the restore."),
    store: Path | None = StoreOption,
    config: Path | None = ConfigOption,
) -> None:
    """Verify every part of a snapshot, then restore it (to a new target by default)."""
    from safehold.protection.snapshot import restore

    cfg = _config(config)
    stores = _stores(cfg, store, required=True)
    holder = _find(stores, snapshot_id)
    manifest = holder.read_manifest(snapshot_id)
    target = to or (manifest.source if replace else "")
    if not target:
        raise fail("say where: --to NEW_DATABASE_URL_OR_PATH (or --replace to restore over "
                   f"{manifest.source})", 2)
    if "://" in target:
        target = _with_credentials(target, cfg)
    if replace and cfg.path is not None:
        if not who:
            raise fail("--replace with a configuration: say who you are with --as NAME (your "
                       "dashboard user); another person approves the restore", 2)
        _decided_or_exit(cfg, snapshot_id, target, manifest, who)
    started = time.monotonic()
    try:
        _, message = restore(holder, snapshot_id, target, replace=replace)
    except SafeholdError as exc:
        raise fail(str(exc)) from exc
    if cfg.path is not None:  # a configured deployment keeps the story in its audit log
        from safehold.service import Safehold

        with Safehold.open(cfg, notify_in_background=False) as sh:
            sh.audit.append("snapshot.restored", {
                "id": snapshot_id, "source": manifest.source, "target": _shown(target),
                "replace": replace, "seconds": round(time.monotonic() - started, 3),
            }, actor=f"cli:{getpass.getuser()}", environment=manifest.environment)
    typer.echo(message)


def _find(stores: list[Any], snapshot_id: str) -> Any:
    from safehold.errors import SnapshotNotFound

    for s in stores:
        try:
            s.read_manifest(snapshot_id)
            return s
        except SnapshotNotFound:
            continue
        except SafeholdError as exc:
            raise fail(str(exc)) from exc
    raise fail(f"no snapshot {snapshot_id} in {', '.join(s.location for s in stores)}")


def _with_credentials(url: str, cfg: Any) -> str:
    """A target URL without a user takes the user and password of the inventory's entry for
    the same server, so `--to postgresql://db:5432/shop_copy` works with configured secrets."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.username:
        return url
    for env in cfg.environments:
        for entry in env.databases:
            known = urlsplit(entry)
            if "://" in entry and known.username and (known.hostname, known.port) == (
                    parts.hostname, parts.port):
                netloc = known.netloc.rsplit("@", 1)[0] + "@" + parts.netloc
                return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    return url


def restore_action(snapshot_id: str, target: str, manifest: Any, *, replace: bool) -> Any:
    """The restore as an action for the one decision path (analysis/restore)."""
    from safehold.model import Action
    from safehold.protection.interface import display_source

    return Action("restore", {
        "snapshot": snapshot_id, "source": manifest.source, "target": display_source(target),
        "target_kind": "database" if "://" in target else "path", "replace": replace,
    }, environment=manifest.environment)


def _decided_or_exit(cfg: Any, snapshot_id: str, target: str, manifest: Any,
                     who: str) -> None:
    """Restoring over existing data is decided by the policy like any destructive action
    (built in: `restore-over-original`, another person approves this exact restore; in a
    protected environment what is there is captured first). The requester is a person who
    signs in (`--as`), so the same person cannot approve their own restore."""
    from safehold.cli.approvals import person_identity
    from safehold.model import Verdict
    from safehold.service import Safehold

    action = restore_action(snapshot_id, target, manifest, replace=True)
    with Safehold.open(cfg, notify_in_background=False) as sh:
        requester = person_identity(sh, who)
        ev = sh.evaluate(action, requester=requester, stated_reason="restore over the original")
    verdict, reasons = ev.decision.verdict, "; ".join(ev.decision.reasons)
    if verdict is Verdict.ALLOW:
        typer.echo(f"safehold: allowed ({reasons})", err=True)
        return
    if verdict is Verdict.DENY:
        raise fail(f"restore over {action.input['target']} refused: {reasons}")
    if verdict is Verdict.ASK and ev.approval is not None:
        typer.echo(f"safehold: restoring over {action.input['target']} needs an approval "
                   f"({reasons}): request {ev.approval.id}. Once another person approves it "
                   f"(dashboard, or `{approve_command(ev.approval.id)}`), "
                   "run the same command again.", err=True)
    elif verdict is Verdict.DELAY and ev.delay is not None:
        typer.echo(f"safehold: {reasons}", err=True)
    else:
        raise fail(f"restore over {action.input['target']} not released: {reasons}")
    raise typer.Exit(3)


def drill_command(
    resource: str = typer.Argument("", help="Source to drill (URL or path); default: the "
                                   "newest snapshot of anything."),
    query: str = typer.Option("", "--query", "-q", help="A read-only query that must succeed "
                              "on the restored copy."),
    store: Path | None = StoreOption,
    config: Path | None = ConfigOption,
) -> None:
    """Restore the newest snapshot into a scratch target, check it, and record RTO and RPO."""
    from safehold.inventory import Inventory
    from safehold.protection.drill import newest, run_drill
    from safehold.protection.posture import age_label
    from safehold.service import Safehold

    cfg = _config(config)
    stores = _stores(cfg, store, required=True)
    wanted = _shown(resource)
    try:
        found = newest(stores, wanted)
    except SafeholdError as exc:
        raise fail(str(exc)) from exc
    if found is None:
        raise fail(f"no snapshot of {wanted or 'anything'} to drill")
    holder, manifest = found
    connect = None
    if manifest.driver == "postgresql":
        connect = Inventory(cfg.environments).database_entry(manifest.source) or resource or None
        connect = _with_credentials(connect or manifest.source, cfg)
    result = run_drill(holder, manifest, connect_url=connect, query=query or None)
    with Safehold.open(cfg, notify_in_background=False) as sh:
        sh.audit.append("drill.completed" if result.ok else "drill.failed", result.to_dict(),
                        actor=f"cli:{getpass.getuser()}", environment=manifest.environment)
    for line in result.checks:
        typer.echo(f"  ok  {line}")
    typer.echo(f"snapshot {manifest.id} of {manifest.source} (store {manifest.store})")
    typer.echo(f"RTO {result.rto_seconds:.2f}s  RPO {age_label(result.rpo_seconds)}")
    if not result.ok:
        raise fail(f"drill failed: {result.error}")

