"""`safehold audit verify|checkpoint|tail|export`: read, sign and check the hash-chained log.

`verify` exits 1 and names the first bad record when the chain is broken, or when it
contradicts a signed checkpoint (records cut from the end, or rewritten with recomputed
hashes), so it can run from cron or CI and fail loudly.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import typer

from safehold.errors import SafeholdError

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
ConfigOption = typer.Option(None, "--config", "-c", help="safehold.toml to use.")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"safehold: {message}", err=True)
    return typer.Exit(code)


def _log(config: Path | None):  # type: ignore[no-untyped-def]
    return _open(config)[0]


def _open(config: Path | None):  # type: ignore[no-untyped-def]
    from safehold.audit import AuditLog
    from safehold.config import load_config
    from safehold.store import open_store

    try:
        cfg = load_config(config)
        return AuditLog(open_store(cfg.database_url)), cfg
    except SafeholdError as exc:
        raise _fail(str(exc), 2) from exc


@audit_app.command("verify")
def verify(
    config: Path | None = ConfigOption,
    anchor: str | None = typer.Option(
        None, help="SEQ:HASH noted from an earlier verify; also catches records cut from the end."
    ),
    file: Path | None = typer.Option(
        None, "--file", help="Verify an exported JSON-lines copy instead of the database."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Check every record's hash and link, and the chain against every signed checkpoint;
    exit 1 naming the first bad record."""
    parsed: tuple[int, str] | None = None
    checkpoint: dict[str, Any] | None = None
    if anchor:
        seq, _, digest = anchor.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            raise _fail("--anchor must be SEQ:HASH (a record number and its 64-hex hash)", 2)
        parsed = (int(seq), digest.lower())
    if file is not None:
        from safehold.audit import entries_from_export, verify_entries

        try:
            with file.open(encoding="utf-8") as fh:
                result = verify_entries(entries_from_export(fh), anchor=parsed)
        except OSError as exc:
            raise _fail(f"cannot read {file}: {exc.strerror or exc}", 2) from exc
        except SafeholdError as exc:
            raise _fail(f"{file}: {exc}", 2) from exc
    else:
        from safehold.audit.checkpoint import check_checkpoints

        log, cfg = _open(config)
        try:
            result = log.verify(anchor=parsed)
            if result.ok:
                report = check_checkpoints(log, result, cfg.audit)
                checkpoint = _checkpoint_dict(report)
                if not report.ok:
                    newest = report.newest.seq if report.newest else result.head_seq
                    result = dataclasses.replace(
                        result, ok=False, first_bad_seq=newest, problem=report.problem
                    )
        except SafeholdError as exc:
            raise _fail(str(exc), 2) from exc
        finally:
            log.store.close()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": result.ok,
                    "records": result.records,
                    "first_bad_seq": result.first_bad_seq,
                    "problem": result.problem,
                    "head_seq": result.head_seq,
                    "head_hash": result.head_hash,
                    "checkpoint": checkpoint,
                }
            )
        )
    elif result.ok:
        head = f"; head {result.head_seq}:{result.head_hash}" if result.head_seq else ""
        typer.echo(f"ok: {result.records} records, chain intact{head}")
        if checkpoint and checkpoint["newest"]:
            newest = checkpoint["newest"]
            typer.echo(
                f"ok: matches {checkpoint['checkpoints']} signed checkpoints; newest covers "
                f"record {newest['seq']} (signed {newest['ts']})"
            )
        elif file is None:
            typer.echo("note: no signed checkpoint yet; records cut from the end would not show")
    else:
        typer.echo(f"FAILED at record {result.first_bad_seq}: {result.problem}", err=True)
    if not result.ok:
        raise typer.Exit(1)


def _checkpoint_dict(report: Any) -> dict[str, Any]:
    newest = report.newest
    return {
        "ok": report.ok,
        "checkpoints": report.checkpoints,
        "newest": {"seq": newest.seq, "head_hash": newest.head_hash, "ts": newest.ts,
                   "key_id": newest.key_id} if newest else None,
        "problem": report.problem,
    }


@audit_app.command("checkpoint")
def checkpoint(config: Path | None = ConfigOption) -> None:
    """Sign the chain head now with the server's key and append it to the checkpoint file.

    Needs the key, so run it as the server's user; the server also signs on a schedule and
    on shutdown. Refuses (exit 1) when the log contradicts the previous checkpoint."""
    from safehold.audit.checkpoint import checkpointer_for
    from safehold.notify import Notifier

    log, cfg = _open(config)
    notifier = Notifier(cfg.notifications, base_url=cfg.server.base_url, audit=log,
                        background=False)
    try:
        signer = checkpointer_for(log, cfg.audit, publish=(notifier.checkpoint,))
        cp = signer.checkpoint()
        last = cp or signer.sink.last()
    except SafeholdError as exc:
        raise _fail(str(exc), 1) from exc
    finally:
        notifier.close()
        log.store.close()
    assert last is not None
    state = "signed" if cp is not None else "already signed"
    typer.echo(f"{state}: record {last.seq} head {last.head_hash} at {last.ts} "
               f"(key {last.key_id}) -> {cfg.audit.checkpoints_path}")


@audit_app.command("tail")
def tail(
    config: Path | None = ConfigOption,
    n: int = typer.Option(20, "-n", "--lines", min=1, max=100_000, help="How many records."),
    type: str | None = typer.Option(None, "--type", help="Only records of this type."),
    session: str | None = typer.Option(None, help="Only this session."),
    environment: str | None = typer.Option(None, help="Only this environment."),
    decision: str | None = typer.Option(None, help="Only this decision (allow, ask, …)."),
    agent: str | None = typer.Option(None, help="Only this agent."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """The newest records, oldest first."""
    log = _log(config)
    try:
        entries = log.tail(
            n, type=type, session=session, environment=environment, decision=decision, agent=agent
        )
    finally:
        log.store.close()
    for e in entries:
        if as_json:
            typer.echo(json.dumps(e.to_dict(), ensure_ascii=False, sort_keys=True))
            continue
        data = e.data
        summary = ""
        action = data.get("action") if isinstance(data, dict) else None
        if isinstance(action, dict):
            raw = action.get("input")
            summary = raw if isinstance(raw, str) else json.dumps(raw, sort_keys=True)
        elif isinstance(data, dict):
            summary = " ".join(
                f"{k}={data[k]}" for k in ("approval", "delay", "state", "by") if k in data
            )
        parts = [
            f"{e.seq:>6}",
            e.ts.strftime("%Y-%m-%d %H:%M:%S"),
            f"{e.type:<20}",
            e.decision or "-",
            e.environment or "-",
            e.actor or "-",
            " ".join(summary.split())[:120],
        ]
        typer.echo("  ".join(parts))


@audit_app.command("export")
def export(
    config: Path | None = ConfigOption,
    format: str = typer.Option(
        "jsonl", "--format", help="jsonl (one record per line) or otlp (OpenTelemetry logs)."
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="File to write (stdout)."),
) -> None:
    """Every record, one JSON object per line, with the hashes that chain them."""
    log = _log(config)
    try:
        lines = log.export(format)
        if output is None:
            for line in lines:
                sys.stdout.write(line + "\n")
        else:
            with output.open("w", encoding="utf-8") as fh:
                for line in lines:
                    fh.write(line + "\n")
    except SafeholdError as exc:
        raise _fail(str(exc), 2) from exc
    except OSError as exc:
        raise _fail(f"cannot write {output}: {exc.strerror or exc}", 2) from exc
    finally:
        log.store.close()
