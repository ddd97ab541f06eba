"""How a Decision reads for a person in a terminal."""

from __future__ import annotations

from safehold.model import Decision, Verdict

_STYLE = {
    Verdict.ALLOW: "bold green",
    Verdict.DELAY: "bold yellow",
    Verdict.ASK: "bold yellow",
    Verdict.DENY: "bold red",
}


def render_decision(console, label: str, decision: Decision) -> None:  # type: ignore[no-untyped-def]
    from rich.markup import escape

    v = decision.verdict
    console.print(f"[{_STYLE[v]}]{v.value.upper():5}[/] {escape(label)}")
    facts = decision.facts
    if v is not Verdict.ALLOW:
        for reason in decision.reasons:
            console.print(f"      [dim]why[/]  {escape(reason)}")
        for s in decision.suggestions:
            console.print(f"  [dim]instead[/]  {escape(s)}")
    if decision.snapshot_first:
        console.print("     [dim]note[/]  the policy asks for a snapshot before this runs")
    if decision.delay_seconds is not None:
        console.print(f"    [dim]delay[/]  held for {decision.delay_seconds}s unless cancelled")
    env = facts.environment or "unknown"
    console.print(
        f"     [dim]rule[/]  {', '.join(decision.rule_ids)}  [dim]effect[/] {facts.effect.label}"
        f"  [dim]environment[/] {env}  [dim]policy[/] {decision.policy_version}"
    )
