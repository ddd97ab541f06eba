"""`safehold setup --system`: set up the deployment the agent cannot reach (run once as root)."""

from __future__ import annotations

from pathlib import Path

import typer

from safehold.cli.common import fail


def register(app: typer.Typer) -> None:
    app.command("setup")(setup)


def setup(
    system: bool = typer.Option(False, "--system", help="Set up safehold under its own user."),
    root: Path = typer.Option(Path("/"), "--root", help="Install under this directory instead "
                              "of / (for tests and images)."),
    user: str = typer.Option("safehold", "--user", help="The Unix user the server runs as."),
    host: str = typer.Option("127.0.0.1", "--host", help="The dashboard's interface."),
    port: int = typer.Option(8474, "--port", help="The dashboard's port."),
) -> None:
    """Create the safehold user, its private directories, the server's configuration, an agent
    token, a systemd unit and a start script; print how to connect agents."""
    from safehold.deploy.system import SetupError, setup_system

    if not system:
        raise fail("say --system: the only setup there is runs safehold under its own user", 2)
    try:
        r = setup_system(root, user=user, host=host, port=port)
    except (SetupError, OSError) as exc:
        raise fail(str(exc)) from exc
    lay = r.layout
    prefix = "" if root == Path("/") else f" --root {root}"
    typer.echo(f"safehold system deployment under {lay.root}:")
    typer.echo(f"  user              {r.user} (uid {r.uid}){' created' if r.created_user else ''}")
    typer.echo(f"  configuration     {lay.config_file} (0600, {r.user} only)")
    typer.echo(f"  policy            {lay.policy_file}")
    typer.echo(f"  data, keys        {lay.data_dir}, {lay.keys_dir} (0700)")
    typer.echo(f"  secrets           {lay.secrets_dir} (0700)")
    typer.echo(f"  socket            {lay.socket}")
    typer.echo(f"  hook client file  {lay.client_file} (root, 0644)"
               + (": new agent token issued" if r.token_issued else ": kept"))
    typer.echo(f"  systemd unit      {lay.unit_file}")
    typer.echo(f"  start script      {lay.start_script} (machines without systemd)")
    typer.echo("")
    typer.echo("Start the server:")
    typer.echo("  systemctl daemon-reload && systemctl enable --now safehold")
    typer.echo(f"  (without systemd: {lay.start_script} &)")
    typer.echo("Create the first admin (as root; the server's files are not the agents'):")
    typer.echo(f"  runuser -u {r.user} -- {r.executable} users add admin --role admin "
               f"--config {lay.config_file}")
    typer.echo(f"Dashboard: {r.url}")
    typer.echo("Connect agents (hooks become thin clients of the server, with the agent token")
    typer.echo(f"in {lay.client_file}, which can request decisions but never approve):")
    from safehold.invocation import command

    typer.echo(f"  {r.executable} install <agent> --managed{prefix}")

    typer.echo(f"Then check, as the agent's user:  {command('doctor')}")
