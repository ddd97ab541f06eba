"""The peer guards' corpora as a regression floor for safehold's shell decisions.

In scope: dcg's default-pack cases and cc-safety-net's standard-mode cases. Reviewed
disagreements (`disagreements.yaml`, each with its reason) are counted apart. The floor only
rises: `floors.json` holds the achieved agreement, and a drop fails the test. dcg's opt-in packs
and cc-safety-net's other modes are reported per pack without a floor (`python -m
tests.corpus.report`).
"""

from __future__ import annotations

import json

import pytest
from peers import FLOORS, format_report, load_cases, load_disagreements, run

import needs

ABSOLUTE_FLOOR = 0.97


@pytest.fixture(scope="module", autouse=True)
def corpora_present() -> None:
    """Without the corpora there is no floor to hold: skip, or fail under a require-all run."""
    needs.corpora_dir()


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    return run()


def test_report_prints(report, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    text = format_report(report)
    print(text)
    assert "dcg:block" in text and "cc-safety-net:allow" in text


@pytest.mark.parametrize("scope", ["dcg:block", "dcg:allow", "cc-safety-net:block",
                                   "cc-safety-net:allow"])
def test_agreement_meets_floor(report, scope: str) -> None:  # type: ignore[no-untyped-def]
    floors = json.loads(FLOORS.read_text())
    tally = report.by_expect[scope]
    rate = tally.rate()
    missed = "\n".join(f"  {c.cmd!r} -> {why}" for c, why in tally.failures[:30])
    assert rate >= ABSOLUTE_FLOOR, f"{scope}: {rate:.1%} below {ABSOLUTE_FLOOR:.0%}\n{missed}"
    assert rate >= floors[scope] - 1e-9, (
        f"{scope}: agreement fell from {floors[scope]:.2%} to {rate:.2%}\n{missed}")


def test_every_reviewed_disagreement_names_a_real_case_and_a_reason() -> None:
    keys = {c.key for c in load_cases()}
    for key, reason in load_disagreements().items():
        assert key in keys, f"not a corpus case: {key}"
        assert len(reason.split()) >= 5, f"reason too thin for {key}"


def test_reviewed_disagreements_still_disagree(report) -> None:  # type: ignore[no-untyped-def]
    assert not report.unused_disagreements, (
        "safehold now agrees with these; remove them from disagreements.yaml: "
        + "; ".join(report.unused_disagreements))
