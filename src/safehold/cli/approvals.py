"""`safehold approvals list|show|approve|deny` and `safehold delays list|cancel|run-now`.

Approving from the terminal is as strict as the dashboard: `--as` names a dashboard user with
the approver or admin role (asked for when not given), whose password is asked for, so an agent
sharing the shell cannot approve its own request by typing the command.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from safehold.errors import SafeholdError

approvals_app = typer.Typer(
    help="Approval requests: list, inspect, approve, deny.", no_args_is_help=True
)
delays_app = typer.Typer(help="Delayed actions: list, cancel, run now.", no_args_is_help=True)
ConfigOption = typer.Option(None, "--config", "-c", help="safehold.toml to use.")
AsOption = typer.Option(
    None, "--as", help="Your dashboard username (approver or admin); asked for when not given."
)


def register(app: typer.Typer) -> None:
    app.add_typer(approvals_app, name="approvals")
    app.add_typer(delays_app, name="delays")


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"safehold: {message}", err=True)
    return typer.Exit(code)


@contextmanager
def _safehold(config: Path | None) -> Iterator[Any]:
    from safehold.config import load_config
    from safehold.service import Safehold

    try:
        app = Safehold.open(load_config(config), notify_in_background=False)
    except SafeholdError as exc:
        raise _fail(str(exc), 2) from exc
    try:
        yield app
    except SafeholdError as exc:
        raise _fail(str(exc), 1) from exc
    finally:
        app.close()


def person_identity(app: Any, username: str | None) -> str:
    """`user/NAME` once NAME's password checks out and the role may decide. Without a name,
    it is asked for (offering the only user who may decide, when there is exactly one)."""
    from safehold.server.accounts import Accounts

    accounts = Accounts(app.store)
    users = accounts.users()
    if not users:
        from safehold.invocation import command

        add = command("users", "add", "admin", "--role", "admin")
        raise _fail(f"no dashboard users exist yet; create one with `{add}`", 2)
    if username is None:
        deciders = [u.username for u in users if u.role in ("approver", "admin") and not u.disabled]
        offer = deciders[0] if len(deciders) == 1 else None
        username = str(typer.prompt("Your dashboard username", default=offer))
    password = typer.prompt(f"Password for {username}", hide_input=True)
    principal = accounts.authenticate(username, password)
    if principal is None:
        known = accounts.known_name(username)
        app.audit.append("approval.cli_auth_failed", {"username": known},
                         actor=f"user/{known}" if known else None)
        raise _fail("wrong username or password", 1)
    if not principal.can_decide:
        raise _fail(f"{username} has the {principal.role} role; approving needs approver or admin")
    return str(principal.identity)


def _line(a: Any) -> str:
    from safehold.notify import summarize_action

    return "  ".join(
        [
            a.id,
            f"{a.state:<8}",
            a.environment or "-",
            a.requester,
            f"{len(a.approvers)}/{a.required_approvals}",
            summarize_action(a.action)[:100],
        ]
    )


@approvals_app.command("list")
def list_approvals(
    config: Path | None = ConfigOption,
    state: str = typer.Option("pending", help="pending, approved, denied, expired, used or all."),
    limit: int = typer.Option(50, min=1, max=1000),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Approval requests, newest first."""
    with _safehold(config) as app:
        app.approvals.expire_due()
        items = app.approvals.list(None if state == "all" else state, limit=limit)
        base = app.config.server.base_url
        for a in items:
            typer.echo(json.dumps(a.to_dict(base)) if as_json else _line(a))
        if not items and not as_json:
            typer.echo(f"no {state} approval requests")


@approvals_app.command("show")
def show(
    approval_id: str,
    config: Path | None = ConfigOption,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Everything an approver needs: the parsed action, targets, environment, reasons."""
    with _safehold(config) as app:
        a = app.approvals.get(approval_id)
        d = a.to_dict(app.config.server.base_url)
        if as_json:
            typer.echo(json.dumps(d, indent=2, ensure_ascii=False))
            return
        facts = a.decision.get("facts", {})
        typer.echo(f"{a.id}  {a.state}  ({len(a.approvers)}/{a.required_approvals} approvals)")
        typer.echo(
            f"requested by {a.requester}, session {a.session or '-'}, "
            f"environment {a.environment or 'unknown'}"
        )
        typer.echo(f"expires {d['expires_at']}   {d.get('url', '')}")
        typer.echo(f"action: {a.kind}\n  {a.action.get('input')}")
        if a.action.get("cwd"):
            typer.echo(f"  in {a.action['cwd']}")
        if a.stated_reason:
            typer.echo(f"stated reason: {a.stated_reason}")
        typer.echo(f"effect: {facts.get('effect', '?')}")
        for op in facts.get("operations", []):
            targets = ", ".join(
                f"{t['kind']} {t['name']}"
                + (f" ({t['environment']})" if t.get("environment") else "")
                for t in op.get("targets", [])
            )
            typer.echo(f"  - {op['id']} [{op['effect']}] {targets}")
        for r in a.decision.get("reasons", []):
            typer.echo(f"  reason: {r}")
        for v in a.votes:
            typer.echo(
                f"  vote: {v.approver} {v.verdict}" + (f" — {v.comment}" if v.comment else "")
            )


def _vote(
    approval_id: str, config: Path | None, who: str | None, approve: bool, comment: str | None
) -> None:
    with _safehold(config) as app:
        identity = person_identity(app, who)
        a = app.vote(approval_id, identity, approve, comment)
        typer.echo(f"{a.id}: {a.state} ({len(a.approvers)}/{a.required_approvals} approvals)")


@approvals_app.command("approve")
def approve(
    approval_id: str,
    config: Path | None = ConfigOption,
    who: str | None = AsOption,
    comment: str | None = typer.Option(None, "--comment", "-m"),
) -> None:
    """Approve a pending request (it then unlocks that exact action once)."""
    _vote(approval_id, config, who, True, comment)


@approvals_app.command("deny")
def deny(
    approval_id: str,
    config: Path | None = ConfigOption,
    who: str | None = AsOption,
    comment: str | None = typer.Option(None, "--comment", "-m"),
) -> None:
    """Deny a pending request."""
    _vote(approval_id, config, who, False, comment)


@delays_app.command("list")
def list_delays(
    config: Path | None = ConfigOption,
    state: str = typer.Option("pending", help="pending, cancelled, released, executed … or all."),
    limit: int = typer.Option(50, min=1, max=1000),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Delayed actions, latest run time first."""
    from safehold.notify import summarize_action

    with _safehold(config) as app:
        items = app.delays.list(None if state == "all" else state, limit=limit)
        for d in items:
            if as_json:
                typer.echo(json.dumps(d.to_dict()))
            else:
                run_at = d.run_at.strftime("%Y-%m-%d %H:%M:%S")
                typer.echo(
                    "  ".join(
                        [
                            d.id,
                            f"{d.state:<9}",
                            f"runs {run_at} UTC",
                            d.environment or "-",
                            summarize_action(d.action)[:100],
                        ]
                    )
                )
        if not items and not as_json:
            typer.echo(f"no {state} delayed actions")


@delays_app.command("cancel")
def cancel(delay_id: str, config: Path | None = ConfigOption, who: str | None = AsOption) -> None:
    """Stop a delayed action for good."""
    with _safehold(config) as app:
        d = app.delays.cancel(delay_id, person_identity(app, who))
        typer.echo(f"{d.id}: cancelled")


@delays_app.command("run-now")
def run_now(delay_id: str, config: Path | None = ConfigOption, who: str | None = AsOption) -> None:
    """End the grace period now."""
    with _safehold(config) as app:
        d = app.delays.run_now(delay_id, person_identity(app, who))
        typer.echo(f"{d.id}: due now")
