"""The policy layer on hand-built facts: strictest rule wins, unknown is never allow."""

from __future__ import annotations

from pathlib import Path

import pytest

from safehold.decide import Guard
from safehold.model import Action, Effect, Facts, Finding, Operation, Target, Verdict
from safehold.policy.engine import PolicyEngine


def op(effect: Effect, op_id: str = "test:op", *targets: Target) -> Operation:
    return Operation(op_id, effect, "because", "cmd", targets=targets)


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine.load()


@pytest.mark.parametrize(
    ("env", "facts", "verdict", "rule"),
    [
        (None, Facts("shell"), Verdict.ALLOW, "routine"),
        (None, Facts("shell", operations=(op(Effect.WRITE),)), Verdict.ALLOW, "routine"),
        (None, Facts("shell", operations=(op(Effect.DESTRUCTIVE),)), Verdict.ASK,
         "destructive-needs-approval"),
        (None, Facts("shell", operations=(op(Effect.IRREVERSIBLE),)), Verdict.DENY,
         "irreversible-in-production"),
        ("staging", Facts("shell", operations=(op(Effect.IRREVERSIBLE),)), Verdict.ASK,
         "irreversible-needs-approval"),
        ("production", Facts("shell", operations=(op(Effect.IRREVERSIBLE),)), Verdict.DENY,
         "irreversible-in-production"),
        ("production", Facts("shell", operations=(op(Effect.DESTRUCTIVE),)), Verdict.ASK,
         "protected-destructive-snapshot-first"),
        (None, Facts("shell", unknowns=(Finding("shell:opaque", "eval"),)), Verdict.ASK,
         "not-understood"),
        (None, Facts("shell", credentials=(Finding("cred:aws", "read"),)), Verdict.ASK,
         "credential-access"),
        ("staging", Facts("http", operations=(
            op(Effect.WRITE, "x:y", Target("volume", "v1", "production")),)), Verdict.DENY,
         "cross-environment"),
    ],
)
def test_default_policy_outcomes(engine, env, facts, verdict, rule) -> None:
    d = engine.decide(Action(facts.kind, "x", environment=env), facts)
    assert d.verdict is verdict
    assert rule in d.rule_ids


def test_snapshot_first_only_in_protected_environments(engine) -> None:
    facts = Facts("sql", operations=(op(Effect.DESTRUCTIVE),))
    assert engine.decide(Action("sql", "x", environment="production"), facts).snapshot_first
    assert not engine.decide(Action("sql", "x", environment="dev"), facts).snapshot_first


def test_target_in_production_makes_a_production_action(engine) -> None:
    facts = Facts("http", operations=(
        op(Effect.IRREVERSIBLE, "railway:volumeDelete", Target("volume", "v", "production")),))
    d = engine.decide(Action("http", "x"), facts)
    assert d.verdict is Verdict.DENY


def test_denial_explains_operation_and_suggestion(engine) -> None:
    o = Operation("git:push-force", Effect.DESTRUCTIVE, "rewrites history", "git push -f",
                  suggestion="use --force-with-lease")
    d = engine.decide(Action("shell", "git push -f"), Facts("shell", operations=(o,)))
    assert any("git:push-force" in r and "rewrites history" in r for r in d.reasons)
    assert d.suggestions == ("use --force-with-lease",)


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "user.cedar"
    p.write_text(text)
    return p


def test_user_rule_can_only_tighten_unless_it_replaces(tmp_path) -> None:
    loose = write(tmp_path, '@id("all-allowed") @decision("allow")\n'
                  "permit (principal, action, resource);\n")
    guard = Guard.load(loose)
    facts = Facts("shell", operations=(op(Effect.DESTRUCTIVE),))
    assert guard.engine.decide(Action("shell", "x"), facts).verdict is Verdict.ASK


def test_user_rule_with_builtin_id_replaces_it(tmp_path) -> None:
    p = write(tmp_path, '@id("destructive-needs-approval") @decision("delay") @delay("15m")\n'
              'permit (principal, action, resource) when { context.effect == "destructive" };\n')
    d = Guard.load(p).engine.decide(
        Action("shell", "x"), Facts("shell", operations=(op(Effect.DESTRUCTIVE),)))
    assert d.verdict is Verdict.DELAY
    assert d.delay_seconds == 900


def test_unknown_is_never_allow_even_when_policy_allows(tmp_path) -> None:
    p = write(tmp_path, '@id("not-understood") @decision("allow")\n'
              "permit (principal, action, resource) when { context.unknown };\n")
    d = Guard.load(p).engine.decide(
        Action("shell", "x"), Facts("shell", unknowns=(Finding("shell:opaque", "eval"),)))
    assert d.verdict is Verdict.ASK
    assert "unknown-is-never-allow" in d.rule_ids


def test_no_matching_rule_asks(tmp_path) -> None:
    p = write(tmp_path, '@id("routine") @decision("allow")\n'
              'permit (principal, action, resource) when { context.kind == "nothing" };\n')
    d = Guard.load(p).engine.decide(Action("shell", "x"), Facts("shell"))
    assert d.verdict is Verdict.ASK
    assert d.rule_ids == ("no-rule-matched",)


def test_decisions_are_cached_per_request_but_not_across_reload(tmp_path) -> None:
    p = write(tmp_path, "")
    engine = PolicyEngine.load([p])
    facts = Facts("shell", operations=(op(Effect.WRITE),))
    assert engine.decide(Action("shell", "x"), facts).verdict is Verdict.ALLOW
    p.write_text('@id("no-writes") forbid (principal, action, resource) '
                 'when { context.effect == "write" };\n')
    engine.reload()
    assert engine.decide(Action("shell", "x"), facts).verdict is Verdict.DENY


def test_internal_error_on_the_path_asks(monkeypatch) -> None:
    guard = Guard.load()

    def broken(action, facts):
        raise RuntimeError("resolver exploded")

    guard.resolver = broken
    d = guard.decide(Action("shell", "ls"))
    assert d.verdict is Verdict.ASK
    assert d.rule_ids == ("internal-error",)


def test_allow_is_withheld_when_the_decision_cannot_be_recorded() -> None:
    def recorder(action, decision):
        raise OSError("disk full")

    guard = Guard.load(recorder=recorder)
    guard.resolver = lambda a, f: Facts("shell")
    d = guard.decide(Action("shell", "ls"))
    assert d.verdict is Verdict.ASK
    assert "audit-unavailable" in d.rule_ids
