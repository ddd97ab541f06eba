"""Every SQL catalog entry's own examples, run through the shipped analysis path."""

from __future__ import annotations

import pytest
from sql_helpers import op_ids, sql_facts

from safehold.analysis.sql.catalog import SqlCatalogError, load_catalog, parse_catalog
from safehold.model import Effect

CATALOG = load_catalog()

CASES = [
    pytest.param(entry, example, expect, id=f"{entry.id}-{expect}-{i}")
    for entry in CATALOG.entries.values()
    for expect, examples in (("match", entry.match), ("no_match", entry.no_match))
    for i, example in enumerate(examples)
]


@pytest.mark.parametrize(("entry", "example", "expect"), CASES)
def test_catalog_example(entry, example, expect):
    facts = sql_facts(example.sql, example.dialect)
    if expect == "match":
        assert entry.id in op_ids(facts), facts.to_dict()
        op = next(op for op in facts.operations if op.id == entry.id)
        assert op.effect is entry.effect
        assert op.reason == entry.reason
    else:
        assert entry.id not in op_ids(facts), facts.to_dict()


@pytest.mark.parametrize("entry", list(CATALOG.entries.values()), ids=lambda e: e.id)
def test_every_entry_has_both_kinds_of_example(entry):
    assert entry.match and entry.no_match


def test_every_dialect_form_is_exercised_for_the_destructive_core():
    dialects = {
        ex.dialect
        for id in ("sql:drop-table", "sql:delete-all", "sql:truncate", "sql:drop-database")
        for ex in CATALOG.entry(id).match
    }
    assert {"postgres", "mysql"} <= dialects


def test_drop_database_is_the_irreversible_one():
    assert CATALOG.entry("sql:drop-database").effect is Effect.IRREVERSIBLE
    assert CATALOG.entry("sql:drop-table").effect is Effect.DESTRUCTIVE


def test_statement_map_refers_only_to_entries():
    for node, id in CATALOG.postgres_statements.items():
        assert id == "none" or id in CATALOG.entries, node


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"entries": [{"id": "x", "effect": "read", "reason": "r"}]}, "must be a string"),
        ({"entries": [{"id": "sql:x", "effect": "bad", "reason": "r"}]}, "unknown effect"),
        ({"entries": [{"id": "sql:x", "effect": "read"}]}, "reason is required"),
        ({"entries": [], "drop_objects": {"table": "sql:nope"}}, "not an entry"),
        ({"entries": [], "postgres_statements": {"sql:nope": ["SelectStmt"]}}, "not an entry"),
        ({"entries": [], "functions": {"f": 3}}, "expected an id"),
    ],
)
def test_malformed_catalog_is_a_loud_error(doc, message):
    with pytest.raises(SqlCatalogError, match=message):
        parse_catalog(doc)
