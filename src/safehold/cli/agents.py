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
        managed: bool = typer.Option(False, "--managed", help="the administrator-owned "
                                     "settings the agent's user cannot change (run as root)"),
        root: Path = typer.Option(Path("/"), "--root", help="with --managed: install under "
                                  "this directory instead of / (tests, images)"),
        auto_approve: bool = typer.Option(False, "--auto-approve", help="answer allow for "
                                          "routine actions, skipping the agent's own "
                                          "permission prompt (Claude Code, Copilot); by "
                                          "default the agent's own rules stay in force"),
    ) -> None:
        """Add safehold's pre-tool hook to an agent's config, keeping your other hooks."""
        from safehold.surfaces.install import manage
        from safehold.surfaces.install import managed as managed_settings

        try:
            if managed:
                change = managed_settings.install_managed(agent, root.resolve(),
                                                          auto_approve=auto_approve)
            else:
                change = manage.install(
                    agent, _scope(project, user), project=directory.resolve(), home=Path.home(),
                    auto_approve=auto_approve,
                )
        except manage.InstallError as exc:
            typer.echo(f"safehold: {exc}", err=True)
            raise typer.Exit(1) from None
        state = "installed in" if change.changed else "already installed in"
        typer.echo(f"{TARGETS[agent].label}: safehold hook {state} {change.path}")
        typer.echo(f"  command: {change.command}")
        if change.per_machine:
            typer.echo(
                f"  note: {change.path.name} names this machine's path to safehold, so it is "
                "per-machine: do not commit it; on each machine (or clone) run `safehold "
                "install` there, or install with --user."
            )
        if TARGETS[agent].notes:
            typer.echo(f"  note: {TARGETS[agent].notes}")
        from safehold.surfaces.install import obstacles

        scope = "managed" if managed else _scope(project, user)
        for o in obstacles.obstacles(agent, project=directory.resolve(), home=Path.home(),
                                     files={scope: change.path}, environ=dict(os.environ)):
            if o.held:
                typer.echo(f"  warning: {o.what}\n    fix: {o.fix}")

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
        root: Path = typer.Option(Path("/"), "--root", help="where the system deployment and "
                                  "the managed settings live (default /)"),
        strict: bool = typer.Option(False, "--strict", help="exit 1 while the agent's user "
                                    "still has a route to switch safehold off"),
    ) -> None:
        """Show where safehold's hooks are installed, whether each one answers, and which
        routes the agent's own user still has to switch safehold off."""
        from safehold.surfaces.install import doctor, routes

        _warn_stray_secrets(directory.resolve())
        findings = doctor.examine(project=directory.resolve(), home=Path.home(), probe=probe,
                                  root=root.resolve())
        agents = tuple(dict.fromkeys(f.agent for f in findings)) or tuple(TARGETS)
        open_routes = routes.open_routes(project=directory.resolve(), home=Path.home(),
                                         root=root.resolve(), environ=dict(os.environ),
                                         agents=agents)
        if not findings:
            typer.echo("safehold's hook is not installed for any agent here or in your home.")
            from safehold.invocation import program

            typer.echo(f"  install one with: {program()} install <agent>   ({AGENTS})")
            _print_routes(open_routes)
            raise typer.Exit(1)
        from safehold.surfaces.install import obstacles as hook_obstacles

        healthy = True
        for agent in agents:
            mine = [f for f in findings if f.agent == agent]
            blocking = hook_obstacles.obstacles(
                agent, project=directory.resolve(), home=Path.home(),
                files={f.scope: f.path for f in mine}, environ=dict(os.environ),
            )
            held = [o for o in blocking if o.held]
            for f in mine:
                ok = (f.healthy or not probe) and not held
                healthy = healthy and ok
                typer.echo(f"{TARGETS[f.agent].label} ({f.scope}): {f.path} "
                           f"[{'ok' if ok else 'PROBLEM'}]")
                for c in f.commands:
                    typer.echo(f"  command: {c}")
                for p in f.probes:
                    state = "ok" if p.ok else "WRONG"
                    line = (f"  probe {p.label} `{p.command}`: {p.verdict} in "
                            f"{p.seconds * 1000:.0f} ms")
                    typer.echo(f"{line} [{state}]" + (f" {p.detail}" if p.detail else ""))
            for o in blocking:
                label = "may not fire" if o.held else "check"
                typer.echo(f"  {label}: {o.what}\n    fix: {o.fix}")
        if routes.system_mode(root.resolve()):
            typer.echo("hook decisions: the safehold server (system deployment; the hook "
                       "believes only a process running as its user)")
        else:
            typer.echo(doctor.daemon_state(dict(os.environ)))
        _print_routes(open_routes)
        raise typer.Exit(0 if healthy and not (strict and open_routes) else 1)


def _print_routes(open_routes: list) -> None:  # type: ignore[type-arg]
    if not open_routes:
        typer.echo("routes for this user to switch safehold off: none (system deployment, "
                   "managed hooks)")
        return
    typer.echo(f"routes for this user to switch safehold off: {len(open_routes)} open")
    for r in open_routes:
        label = TARGETS[r.agent].label if r.agent else "all agents"
        typer.echo(f"  OPEN {label}: {r.what}")
        typer.echo(f"       fix: {r.fix}")


def _warn_stray_secrets(directory: Path) -> None:
    """A live provider credential in the workspace is one an agent here can find and use."""
    from safehold.scan.workspace import scan

    for s in scan(directory):
        typer.echo(f"warning: {s.path}:{s.secret.line} holds a live credential "
                   f"({s.secret.describe()}); an agent working here can read it. Move it "
                   "into safehold: safehold scan --import NAME --env ENV --file F --line L")
