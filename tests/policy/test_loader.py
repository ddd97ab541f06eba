"""Loading policy: errors name file and line; the last good policy stays in force."""

from __future__ import annotations

import pytest

from safehold.errors import PolicyError
from safehold.model import Action, Effect, Facts, Operation, Verdict
from safehold.policy.engine import PolicyEngine
from safehold.policy.loader import load_bundle, parse_duration, split_statements


def test_builtin_policy_loads_and_validates() -> None:
    bundle = load_bundle()
    ids = {r.id for r in bundle.rules.values()}
    assert {"routine", "destructive-needs-approval", "irreversible-in-production",
            "not-understood", "credential-access", "cross-environment"} <= ids
    assert len(bundle.version) == 12


def test_statement_split_ignores_semicolons_in_strings_and_comments() -> None:
    text = ('// a; comment\n@id("a;b") permit (principal, action, resource)\n'
            'when { context.kind == "x;y" };\n\nforbid (principal, action, resource);')
    stmts = split_statements(text, "p.cedar")
    assert [s.line for s in stmts] == [2, 5]
    assert stmts[0].text.endswith('"x;y" };')


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ('permit (principal, action, resource);\n\n@id("b")\npermit (principal, action resource);',
         3, "does not parse"),
        ('@id("x")\npermit (principal, action, resource) when { context.efect == "x" };',
         1, "does not validate"),
        ('\n@id("x") @decision("maybe")\npermit (principal, action, resource);', 2, "not one of"),
        ('@id("x") @decision("delay")\npermit (principal, action, resource);', 1, "@delay"),
        ('@id("x") @decision("ask")\nforbid (principal, action, resource);', 1, "always denies"),
        ('@id("a") permit (principal, action, resource);\n'
         '@id("a") permit (principal, action, resource);', 2, "duplicate rule id"),
    ],
)
def test_broken_policy_names_file_and_line(tmp_path, text, line, fragment) -> None:
    p = tmp_path / "user.cedar"
    p.write_text(text)
    with pytest.raises(PolicyError) as err:
        load_bundle([p])
    assert err.value.path == str(p)
    assert err.value.line == line
    assert fragment in str(err.value)


def test_missing_policy_file_is_an_error(tmp_path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_bundle([tmp_path / "absent.cedar"])


def test_failed_reload_keeps_last_good_policy(tmp_path) -> None:
    p = tmp_path / "user.cedar"
    p.write_text('@id("no-writes") forbid (principal, action, resource) '
                 'when { context.effect == "write" };\n')
    engine = PolicyEngine.load([p])
    version = engine.version
    p.write_text("this is not cedar")
    with pytest.raises(PolicyError):
        engine.reload()
    assert engine.version == version
    facts = Facts("shell", operations=(Operation("x:y", Effect.WRITE, "r", "s"),))
    assert engine.decide(Action("shell", "x"), facts).verdict is Verdict.DENY


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("15m", 900),
                                               ("2h", 7200), ("1d", 86400)])
def test_durations(text, seconds) -> None:
    assert parse_duration(text) == seconds


def test_bad_duration() -> None:
    with pytest.raises(ValueError):
        parse_duration("soon")
