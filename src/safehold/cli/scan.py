"""`safehold scan [PATH]`: provider credentials lying in a workspace, and moving one into the
store with `--import NAME`, leaving a reference the agent cannot use in its place."""

from __future__ import annotations

from pathlib import Path

import typer

from safehold.cli.common import fail


def register(app: typer.Typer) -> None:
    app.command("scan")(scan_cmd)


def scan_cmd(
    path: Path = typer.Argument(Path("."), help="File or directory to scan."),
    import_as: str | None = typer.Option(None, "--import",
                                         help="Move the finding into the store under NAME."),
    env: str | None = typer.Option(None, "--env", help="With --import: its environment."),
    provider: str | None = typer.Option(None, "--provider",
                                        help="With --import: the provider, when not detected."),
    upstream: str | None = typer.Option(None, "--upstream", help="With --import: API URL."),
    file: Path | None = typer.Option(None, "--file", help="With --import: which file."),
    line: int | None = typer.Option(None, "--line", help="With --import: which line."),
    config: Path | None = typer.Option(None, "--config", "-c", help="safehold.toml to use."),
) -> None:
    """Report file, line, provider and what the token could do; exit 1 when any is found."""
    from safehold.scan.workspace import scan

    found = list(scan(path.resolve()))
    if import_as is None:
        for f in found:
            typer.echo(f"{f.path}:{f.secret.line}: {f.secret.describe()}")
        if not found:
            typer.echo(f"no provider credentials found under {path}")
        else:
            typer.echo(f"{len(found)} credential(s) found; move one into safehold with: "
                       "safehold scan PATH --import NAME --env ENV --file F --line L", err=True)
        raise typer.Exit(1 if found else 0)
    chosen = [f for f in found
              if (file is None or f.path == file.resolve()) and (line is None or
                                                                 f.secret.line == line)]
    if len(chosen) != 1:
        where = "\n".join(f"  {f.path}:{f.secret.line}: {f.secret.rule}" for f in chosen)
        raise fail(f"{len(chosen)} findings match; choose one with --file and --line"
                   + (f":\n{where}" if where else ""), 2)
    if env is None:
        raise fail("--import needs --env: the environment this credential reaches", 2)
    target = chosen[0]
    prov = provider or target.secret.provider
    if not prov:
        raise fail("the provider is not known from the token; give --provider", 2)
    from safehold.cli.credentials import opened
    from safehold.scan.workspace import replace_with_reference

    with opened(config) as (_cfg, creds, _caps):
        info = creds.add(import_as, prov, env, target.secret.value, upstream)
        try:
            replace_with_reference(target.path, target.secret, info.name)
        except (OSError, ValueError) as exc:
            creds.remove(info.name)
            raise fail(f"could not rewrite {target.path}: {exc}; nothing was imported") from exc
    typer.echo(f"imported {prov} credential {info.name!r} ({info.environment}) from "
               f"{target.path}:{target.secret.line}; the file now holds "
               f"safehold:credential/{info.name}")
