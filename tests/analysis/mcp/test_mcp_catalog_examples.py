"""Every MCP catalog entry's own examples, run through the shipped analysis path."""

from __future__ import annotations

import pytest

from safehold.analysis import analyze
from safehold.analysis.mcp.catalog import builtin, example_call
from safehold.model import Action

CASES = [
    pytest.param(family, entry, example, expect, id=f"{entry.id}-{expect}-{i}")
    for family in builtin().families
    for entry in family.entries
    for expect, examples in (("match", entry.match_examples), ("no_match", entry.no_match_examples))
    for i, example in enumerate(examples)
]


@pytest.mark.parametrize(("family", "entry", "example", "expect"), CASES)
def test_catalog_example(family, entry, example, expect):
    facts = analyze(Action(kind="mcp", input=example_call(family, example)))
    ids = [op.id for op in facts.operations]
    if expect == "match":
        assert entry.id in ids, facts.to_dict()
        op = next(op for op in facts.operations if op.id == entry.id)
        assert op.effect is entry.effect
    else:
        assert entry.id not in ids, facts.to_dict()
