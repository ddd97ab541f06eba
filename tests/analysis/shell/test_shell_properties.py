"""Hostile input: the shell analyser never crashes, stays bounded, and never allows what it
could not parse where a command would run."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shell_helpers import decide, facts

import cpu_time
from safehold.analysis.shell.normalize import normalize_text
from safehold.analysis.shell.parser import parse
from safehold.decide import Guard

SHELLY = st.lists(
    st.sampled_from([
        *"rm -f/$()`'\"\\|&;<>{}*~#=\n\tabcgitsudoxe",
        "rm -rf ", "git reset --hard", "$(", "`", "<<EOF\n", "\nEOF\n", "bash -c ", "eval ",
        "sudo ", "xargs ", "| sh", "'", '"', "\u2013", "\u3000", "${X:-", "}", "((", "))"]),
    max_size=40,
).map("".join)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@SETTINGS
@given(st.text(max_size=200))
def test_any_text_is_analysed_without_raising(text: str) -> None:
    f = facts(text)
    assert not any(u.id == "shell:internal-error" for u in f.unknowns), f.unknowns


@SETTINGS
@given(SHELLY)
def test_shell_like_text_is_analysed_without_raising(text: str) -> None:
    f = facts(text)
    assert not any(u.id == "shell:internal-error" for u in f.unknowns), f.unknowns


@SETTINGS
@given(SHELLY)
def test_parse_errors_are_never_allowed(guard: Guard, text: str) -> None:
    if parse(normalize_text(text)).root_node.has_error:
        assert not decide(guard, text).allowed


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=1, max_value=400))
def test_nested_substitutions_stay_bounded(guard: Guard, depth: int) -> None:
    cmd = "echo " + "$(" * depth + "rm -rf /" + ")" * depth
    with cpu_time.at_most(4.0):
        d = decide(guard, cmd)
    assert not d.allowed


def test_high_plane_code_points_do_not_crash_the_parser(guard: Guard) -> None:
    for text in ("{\U000c4fa5", " {\U0010ffff", "rm -rf {\U000c4fa5 /", "]{\U0002d9f9x",
                 "c{\U00032f34E",
                 "bash -c $'{\\U000c4fa5'", "python3 -c 'import os; os.system(\"{\\U000c4fa5\")'"):
        facts(text)
    assert not decide(guard, "rm -rf {\U000c4fa5 /").allowed


def test_deeply_nested_shell_strings_become_unknown(guard: Guard) -> None:
    cmd = "eval " * 30 + "rm -rf /"
    f = facts(cmd)
    assert any(u.id.endswith("too-deep") for u in f.unknowns)
    assert not decide(guard, cmd).allowed


def test_long_pipelines_do_not_blow_up(guard: Guard) -> None:
    cmd = " | ".join(["cat"] * 2000) + " | sh"
    with cpu_time.at_most(2.0):
        assert not decide(guard, cmd).allowed
