"""`safehold policy validate|show|test`: a policy is code, so it gets checked and tested.

A test file is YAML: an optional `policy:` (path relative to the test file) and `cases:`, each
`{kind, input, env?, cwd?, expect: allow|delay|ask|deny, rule?}`. Every case runs through the
same Guard the surfaces use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from safehold.cli.common import fail, parse_input
from safehold.decide import Guard
from safehold.errors import PolicyError
from safehold.model import Action, Verdict
from safehold.policy.loader import default_policy_text, load_bundle

policy_app = typer.Typer(help="Validate, show and test policies.", no_args_is_help=True)


@policy_app.command("validate")
def validate(files: list[Path] = typer.Argument(None, help="User policy files.")) -> None:
    """Parse and validate the built-in policy plus FILES against the schema."""
    try:
        bundle = load_bundle(files or [])
    except PolicyError as exc:
        raise fail(str(exc), 2) from exc
    typer.echo(f"ok: {len(bundle.rules)} rules from {', '.join(bundle.sources)}; "
               f"version {bundle.version}")


@policy_app.command("show")
def show() -> None:
    """Print the built-in policy."""
    typer.echo(default_policy_text(), nl=False)


def _load_cases(path: Path) -> tuple[list[Path], list[dict[str, Any]]]:
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise fail(f"{path}: cannot read test file: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("cases"), list):
        raise fail(f"{path}: expected a mapping with a `cases:` list")
    policies = doc.get("policy") or []
    if isinstance(policies, str):
        policies = [policies]
    return [path.parent / p for p in policies], doc["cases"]


@policy_app.command("test")
def test(
    file: Path = typer.Argument(..., help="YAML file of example actions and expected decisions."),
    policy: list[Path] = typer.Option(None, "--policy", help="Extra user policy files."),
) -> None:
    """Run example actions through the policy and compare with the expected decisions."""
    paths, cases = _load_cases(file)
    try:
        guard = Guard.load([*paths, *(policy or [])])
    except PolicyError as exc:
        raise fail(str(exc), 2) from exc
    failures = 0
    for i, case in enumerate(cases, start=1):
        label = f"case {i}"
        try:
            if not isinstance(case, dict):
                raise ValueError("a case must be a mapping")
            kind = str(case.get("kind", "shell"))
            expect = Verdict(str(case["expect"]))
            value = case["input"]
            if isinstance(value, str):
                value = parse_input(kind, value)
            label = f"case {i} ({value if isinstance(value, str) else kind})"
            action = Action(kind=kind, input=value, cwd=case.get("cwd") or str(Path.cwd()),
                            environment=case.get("env"), agent="policy-test")
        except (KeyError, ValueError) as exc:
            failures += 1
            typer.echo(f"FAIL {label}: malformed case: {exc}")
            continue
        decision = guard.decide(action)
        ok = decision.verdict is expect
        if ok and case.get("rule"):
            ok = case["rule"] in decision.rule_ids
        if not ok:
            failures += 1
            typer.echo(f"FAIL {label}: expected {expect.value}"
                       + (f" by {case['rule']}" if case.get("rule") else "")
                       + f", got {decision.verdict.value} by {', '.join(decision.rule_ids)}")
        else:
            typer.echo(f"ok   {label}: {decision.verdict.value}")
    typer.echo(f"{len(cases) - failures} passed, {failures} failed")
    raise typer.Exit(1 if failures else 0)


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")
