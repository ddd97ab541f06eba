"""The `safehold` command line. Each command group lives in its own module exposing
`register(app)`; this module only assembles them, so a surface can be added without touching
the others. Only the CLI turns errors into exit statuses."""

from __future__ import annotations

import importlib

import typer

#: Command modules, in help order. A module that is not part of this build is skipped.
COMMAND_MODULES = (
    "safehold.cli.check",
    "safehold.cli.policy",
    "safehold.cli.server",
    "safehold.cli.credentials",
    "safehold.cli.scan",
    "safehold.cli.approvals",
    "safehold.cli.audit",
    "safehold.cli.agents",
    "safehold.cli.setup",
    "safehold.cli.mcp",
    "safehold.cli.snapshots",
    "safehold.cli.pgproxy",
    "safehold.cli.replay",
)


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="safehold",
        help="A policy boundary between AI agents and production infrastructure.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(app)
    return app


def run(args: list[str]) -> int:
    app = build_app()
    try:
        app(args=args, prog_name="safehold", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0
