"""Every provider catalog entry's own examples, run through the shipped analysis path."""

from __future__ import annotations

import pytest

from safehold.analysis import analyze
from safehold.analysis.http.catalog import builtin, example_request
from safehold.model import Action

CASES = [
    pytest.param(provider, entry, example, expect, id=f"{entry.id}-{expect}-{i}")
    for provider in builtin().providers
    for entry in provider.entries
    for expect, examples in (("match", entry.match_examples), ("no_match", entry.no_match_examples))
    for i, example in enumerate(examples)
]


@pytest.mark.parametrize(("provider", "entry", "example", "expect"), CASES)
def test_catalog_example(provider, entry, example, expect):
    facts = analyze(Action(kind="http", input=example_request(provider, example)))
    ids = [op.id for op in facts.operations]
    if expect == "match":
        assert entry.id in ids, facts.to_dict()
        op = next(op for op in facts.operations if op.id == entry.id)
        assert op.effect is entry.effect
        assert op.provider == provider.name
    else:
        assert entry.id not in ids, facts.to_dict()


def test_catalog_covers_the_providers_the_design_names():
    names = {p.name for p in builtin().providers}
    assert {"railway", "aws", "gcp", "azure", "fly", "heroku", "vercel", "digitalocean",
            "supabase", "github", "kubernetes", "neon", "render", "cloudflare",
            "elasticsearch"} <= names
