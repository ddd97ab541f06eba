"""A short bounded run of the decision fuzzer (`bench/fuzz_decide.py`): destructive cores
wrapped in launchers, compound commands, nested shells, odd spellings and noise are never
allowed, and the guard never raises."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from safehold.decide import Guard

BENCH = Path(__file__).resolve().parents[3] / "bench" / "fuzz_decide.py"


def _fuzzer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_decide", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_decide"] = module
    spec.loader.exec_module(module)
    return module


def test_bounded_fuzz_run_allows_no_destructive_core(guard: Guard) -> None:
    fuzz = _fuzzer()
    report = fuzz.run(seconds=60.0, seed=18, max_inputs=600, guard=guard)
    assert report.inputs == 600
    assert not report.errors, report.errors[:3]
    assert not report.allowed, [c.text() for c in report.allowed[:5]]


def test_shrinking_keeps_an_allowed_input_and_drops_layers(guard: Guard) -> None:
    """The reproducer printed for a finding is the input with every layer that did not matter
    removed (here a harmless core stands in for a finding)."""
    fuzz = _fuzzer()
    case = fuzz.Case("ls -la", "ls -la", [fuzz.COMMAND_LAYERS[0]],
                     [fuzz.STATEMENT_LAYERS[0], fuzz.STATEMENT_LAYERS[1]], 7)
    small = fuzz.shrink(guard, case)
    assert small.text() == "ls -la"
