"""`safehold replay pocketos`: the incident, replayed offline against a fake provider and a
real PostgreSQL, without and with safehold, layer by layer (docs/replay.md)."""

from __future__ import annotations

from pathlib import Path

import typer

from safehold.cli.common import fail

SCENARIOS = ("pocketos",)


def replay(
    scenario: str = typer.Argument(..., help="The incident to replay: pocketos."),
    without: list[str] = typer.Option(
        [], "--without", help="Leave a layer out of the safehold run (hook, gateway, "
        "data-protection, inventory); repeatable."),
    matrix: bool = typer.Option(True, "--matrix/--no-matrix",
                                help="Also run each layer alone."),
    keep: Path | None = typer.Option(None, "--keep",
                                     help="Copy the safehold run's state here, to open its "
                                     "timeline on the dashboard."),
) -> None:
    """Replay an incident: prints both runs, the layer matrix and the audit timeline; exits 1
    if the safehold run lost a row or a deletion reached the provider unapproved."""
    from safehold.replay import layers
    from safehold.replay.report import replay as run

    if scenario not in SCENARIOS:
        raise fail(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}", 2)
    unknown = [w for w in without if w not in layers.ALL]
    if unknown:
        raise fail(f"unknown layer {unknown[0]!r}; layers: {', '.join(layers.ALL)}", 2)
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    code = run(typer.echo, without=tuple(without), matrix=matrix, keep=keep)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("replay")(replay)
