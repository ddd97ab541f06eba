"""`safehold check`, `safehold explain` and `safehold demo`: the decision path on the command line.

Exit status of `check` for one input: 0 allow, 2 deny, 3 ask, 4 delay, 1 for bad usage, so a
script can branch on it. `--batch` always exits 0 once it has started: each line carries its
own decision, and a line that cannot be read gets a deny of its own instead of a crash.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

import typer

from safehold.cli.common import KINDS, fail, load_guard, load_session, parse_input
from safehold.decide import Guard
from safehold.model import Action, Decision, Verdict

EXIT = {Verdict.ALLOW: 0, Verdict.DENY: 2, Verdict.ASK: 3, Verdict.DELAY: 4}

DEMO = (
    ("shell", "rm -rf node_modules", "clearing build output inside the workspace"),
    ("shell", "git commit -m 'drop table support'", "destructive words that are only data"),
    ("shell", "git push --force origin main", "rewriting shared history"),
    ("shell", "rm -rf ~", "deleting the home directory"),
    ("shell", 'bash -c "$(echo cm0gLXJmIC8= | base64 -d)"', "running code nobody can read"),
    ("shell", "grep -r API_TOKEN ~/", "hunting for a credential"),
    ("sql", "DELETE FROM sessions WHERE expires_at < now()", "a restricted delete"),
    ("sql", "DELETE FROM bookings WHERE true", "a delete whose WHERE restricts nothing"),
    (
        "http",
        {
            "method": "POST",
            "url": "https://backboard.railway.app/graphql/v2",
            "headers": {"Authorization": "Bearer <redacted>"},
            "body": {"query": 'mutation { volumeDelete(volumeId: "vol-7f3a") }'},
        },
        "the one API call that deleted a production volume and its backups",
    ),
)


def _action(kind: str, value: Any, env: str | None, cwd: str | None, **options: str) -> Action:
    return Action(
        kind=kind,
        input=value,
        cwd=cwd or str(Path.cwd()),
        environment=env,
        agent="cli",
        options={k: v for k, v in options.items() if v},
    )


def _console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def _batch(guard: Guard, stream: TextIO, out: TextIO, claim: str | None = None) -> None:
    for lineno, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
            if not isinstance(obj, dict):
                raise ValueError("each line must be a JSON object")
            kind = obj.get("kind", "shell")
            if not isinstance(kind, str) or kind not in KINDS:
                raise ValueError(f"unknown kind {kind!r}")
            value = obj.get("input")
            if kind in ("shell", "sql") and not isinstance(value, str):
                raise ValueError(f"{kind} input must be a string")
            if kind == "mcp" and not isinstance(value, dict):
                raise ValueError("mcp input must be an object")
            if kind == "http" and not isinstance(value, (dict, str)):
                raise ValueError("http input must be an object or a raw request")
            env, cwd = obj.get("env"), obj.get("cwd")
            if env is not None and not isinstance(env, str):
                raise ValueError("env must be a string")
            if cwd is not None and not isinstance(cwd, str):
                raise ValueError("cwd must be a string")
            dialect = obj.get("dialect")
            dialect = dialect if isinstance(dialect, str) else ""
            action = _action(kind, value, env or claim, cwd, dialect=dialect)
        except (ValueError, TypeError) as exc:
            message = f"line {lineno} could not be read: {exc}"
            result: dict[str, Any] = {
                "line": lineno,
                "error": message,
                "decision": Verdict.DENY.value,
                "reasons": [message],
                "rules": ["unreadable-input"],
                "facts": None,
            }
        else:
            result = {"line": lineno, **guard.decide(action).to_dict()}
        out.write(json.dumps(result) + "\n")
        out.flush()


def check(
    input: str | None = typer.Argument(
        None, help="The command, statement or request; - for stdin."
    ),
    kind: str = typer.Option("shell", "--kind", "-k", help="shell | sql | http | mcp"),
    env: str | None = typer.Option(
        None, "--env", "-e",
        help="Environment the session claims (default: SAFEHOLD_ENVIRONMENT, else the "
        "config's environment).",
    ),
    cwd: str | None = typer.Option(None, "--cwd", help="Working directory of the action."),
    dialect: str = typer.Option("", "--dialect", help="SQL dialect (default postgres)."),
    fmt: str = typer.Option("text", "--format", "-f", help="text | json"),
    batch: str | None = typer.Option(
        None, "--batch", help="Read JSON lines from FILE (or - for stdin), one decision per line."
    ),
    policy: Path | None = typer.Option(None, "--policy", help="A user policy file (Cedar)."),
    config: Path | None = typer.Option(None, "--config", help="safehold.toml to use."),
) -> None:
    """Decide one action (or a batch) and say why."""
    guard, claim = load_session(policy, config)
    env = env or claim
    if batch is not None:
        if batch == "-":
            _batch(guard, sys.stdin, sys.stdout, env)
        else:
            try:
                with open(batch, encoding="utf-8", errors="replace") as fh:
                    _batch(guard, fh, sys.stdout, env)
            except OSError as exc:
                raise fail(f"cannot read {batch}: {exc.strerror}") from exc
        raise typer.Exit(0)
    if input is None:
        raise fail("nothing to check: give an INPUT, - for stdin, or --batch FILE")
    text = sys.stdin.read() if input == "-" else input
    if fmt not in ("text", "json"):
        raise fail("--format must be text or json")
    try:
        value = parse_input(kind, text)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    decision = guard.decide(_action(kind, value, env, cwd, dialect=dialect))
    if fmt == "json":
        typer.echo(json.dumps(decision.to_dict(), indent=2))
    else:
        from safehold.cli.render import render_decision

        render_decision(_console(), text if isinstance(value, str) else text.strip(), decision)
    raise typer.Exit(EXIT[decision.verdict])


def explain(
    input: str = typer.Argument(..., help="The command, statement or request; - for stdin."),
    kind: str = typer.Option("shell", "--kind", "-k", help="shell | sql | http | mcp"),
    env: str | None = typer.Option(None, "--env", "-e"),
    cwd: str | None = typer.Option(None, "--cwd"),
    dialect: str = typer.Option("", "--dialect"),
    policy: Path | None = typer.Option(None, "--policy"),
    config: Path | None = typer.Option(None, "--config"),
) -> None:
    """Show how safehold parses an action, the facts it finds, and the decision."""
    from safehold.analysis.registry import get_analyzer

    text = sys.stdin.read() if input == "-" else input
    try:
        value = parse_input(kind, text)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    guard, claim = load_session(policy, config)
    action = _action(kind, value, env or claim, cwd, dialect=dialect)
    console = _console()
    analyzer = get_analyzer(kind)
    console.rule("parse")
    describe = getattr(analyzer, "describe", None)
    parsed = describe(value, action.options) if callable(describe) else repr(value)
    console.print(parsed, markup=False)
    console.rule("facts")
    facts = guard.analyze(action)
    console.print(json.dumps(facts.to_dict(), indent=2), markup=False)
    console.rule("targets")
    from safehold.inventory import explain_targets

    for line in explain_targets(guard.inventory, action, facts):
        console.print(line, markup=False)
    console.rule("decision")
    from safehold.cli.render import render_decision

    render_decision(console, text.strip(), guard.engine.decide(action, facts))


def demo(
    policy: Path | None = typer.Option(None, "--policy", help="A user policy file (Cedar)."),
    config: Path | None = typer.Option(None, "--config", help="safehold.toml to use."),
) -> None:
    """A guided tour: decide a few typical agent actions, from routine to the incident."""
    from safehold.cli.render import render_decision

    guard = load_guard(policy, config)
    console = _console()
    console.print(
        "[bold]safehold[/] decides what an agent's action may do. A few examples, with "
        f"{policy_in_force(guard)} (version {guard.policy_version}):\n",
        markup=True, highlight=False,
    )
    counts: dict[Verdict, int] = {}
    for kind, value, what in DEMO:
        decision: Decision = guard.decide(_action(kind, value, None, None))
        counts[decision.verdict] = counts.get(decision.verdict, 0) + 1
        console.print(f"[dim]# {what} ({kind})[/]")
        label = value if isinstance(value, str) else f"{value['method']} {value['url']}"
        render_decision(console, label, decision)
        console.print()
    summary = ", ".join(f"{n} {v.value}" for v, n in counts.items())
    console.print(
        f"[bold]{summary}.[/] Try your own: [cyan]safehold check 'COMMAND'[/] "
        "or [cyan]safehold explain 'COMMAND'[/]."
    )


def policy_in_force(guard: Guard) -> str:
    """Which policy decides: the built-in one alone, or with the user's files on top."""
    files = guard.engine.paths
    if not files:
        return "the built-in policy"
    from rich.markup import escape

    return "the built-in policy plus " + ", ".join(escape(str(p)) for p in files)


def register(app: typer.Typer) -> None:
    app.command()(check)
    app.command()(explain)
    app.command()(demo)
