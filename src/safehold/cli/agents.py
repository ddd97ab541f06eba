"""`safehold install|uninstall <agent>` and `safehold doctor`: the hooks in agents' configs."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from safehold.surfaces.install.targets import TARGETS

AGENTS = ", ".join(TARGETS)


def _scope(project: bool, user: bool) -> str:
    if project and user:
        raise typer.BadParameter("choose one of --project and --user")
    return "user" if user else "project"


def register(app: typer.Typer) -> None:
    @app.command("install")
    def install_cmd(
        agent: str = typer.Argument(..., help=f"one of: {AGENTS}"),
        project: bool = typer.Option(False, "--project", help="this project's config (default)"),
        user: bool = typer.Option(False, "--user", help="your user-wide config"),
        directory: Path = typer.Option(Path("."), "--dir", help="the project directory"),
    ) -> None:
        """Add safehold's pre-tool hook to an agent's config, keeping your other hooks."""
        from safehold.surfaces.install import manage

        try:
            change = manage.install(
                agent, _scope(project, user), project=directory.resolve(), home=Path.home()
            )
        except manage.InstallError as exc:
            typer.echo(f"safehold: {exc}", err=True)
            raise typer.Exit(1) from None
        state = "installed in" if change.changed else "already installed in"
        typer.echo(f"{TARGETS[agent].label}: safehold hook {state} {change.path}")
        typer.echo(f"  command: {change.command}")
        if TARGETS[agent].notes:
            typer.echo(f"  note: {TARGETS[agent].notes}")

    @app.command("uninstall")
    def uninstall_cmd(
        agent: str = typer.Argument(..., help=f"one of: {AGENTS}"),
        project: bool = typer.Option(False, "--project", help="this project's config (default)"),
        user: bool = typer.Option(False, "--user", help="your user-wide config"),
        directory: Path = typer.Option(Path("."), "--dir", help="the project directory"),
    ) -> None:
        """Remove safehold's hook from an agent's config; nothing else is touched."""
        from safehold.surfaces.install import manage

        try:
            change = manage.uninstall(
                agent, _scope(project, user), project=directory.resolve(), home=Path.home()
            )
        except manage.InstallError as exc:
            typer.echo(f"safehold: {exc}", err=True)
            raise typer.Exit(1) from None
        state = "removed from" if change.changed else "was not in"
        typer.echo(f"{TARGETS[agent].label}: safehold hook {state} {change.path}")

    @app.command("doctor")
    def doctor_cmd(
        directory: Path = typer.Option(Path("."), "--dir", help="the project directory"),
        probe: bool = typer.Option(True, "--probe/--no-probe", help="run each hook once"),
    ) -> None:
        """Show where safehold's hooks are installed and whether each one answers."""
        from safehold.surfaces.install import doctor

        findings = doctor.examine(project=directory.resolve(), home=Path.home(), probe=probe)
        if not findings:
            typer.echo("safehold's hook is not installed for any agent here or in your home.")
            typer.echo(f"  install one with: safehold install <agent>   ({AGENTS})")
            raise typer.Exit(1)
        healthy = True
        for f in findings:
            mark = "ok" if f.healthy or not probe else "PROBLEM"
            healthy = healthy and (f.healthy or not probe)
            typer.echo(f"{TARGETS[f.agent].label} ({f.scope}): {f.path} [{mark}]")
            for c in f.commands:
                typer.echo(f"  command: {c}")
            for p in f.probes:
                state = "ok" if p.ok else "WRONG"
                line = f"  probe {p.label} `{p.command}`: {p.verdict} in {p.seconds * 1000:.0f} ms"
                typer.echo(f"{line} [{state}]" + (f" {p.detail}" if p.detail else ""))
            if f.notes:
                typer.echo(f"  note: {f.notes}")
        typer.echo(doctor.daemon_state(dict(os.environ)))
        raise typer.Exit(0 if healthy else 1)
