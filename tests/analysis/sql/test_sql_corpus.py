"""A peer guard's own SQL cases (shared/corpora, dcg's database packs) through our analyser.

These are the peer's opinions; where we differ the test says why. Shell commands in the same
packs (`mysqladmin drop …`) belong to the shell analyser and are left out here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from safehold.model import Action

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpora" / "dcg-cases.jsonl"
DIALECTS = {
    "database.postgresql": "postgres",
    "database.mysql": "mysql",
    "database.sqlite": "sqlite",
}


def _cases() -> list[dict]:
    if not CORPUS.exists():
        return []
    rows = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]
    return [
        r
        for r in rows
        if r.get("packs") in DIALECTS
        and r.get("kind", "").startswith("rust_pack_unit")
        and not r["cmd"].startswith("mysqladmin")
    ]


CASES = _cases()


@pytest.mark.skipif(not CASES, reason="peer corpus not present")
@pytest.mark.parametrize("case", CASES, ids=[c["cmd"][:60] for c in CASES])
def test_peer_sql_case(guard, case):
    action = Action(kind="sql", input=case["cmd"], options={"dialect": DIALECTS[case["packs"]]})
    decision = guard.decide(action)
    assert decision.allowed is (case["expect"] == "allow"), decision.to_dict()
