"""A peer guard's own SQL cases (the peer corpora, dcg's database packs) through our analyser.

These are the peer's opinions; where we differ the test says why. Shell commands in the same
packs (`mysqladmin drop …`) belong to the shell analyser and are left out here.
"""

from __future__ import annotations

import json

import pytest

import corpora
import needs
from safehold.model import Action

DIALECTS = {
    "database.postgresql": "postgres",
    "database.mysql": "mysql",
    "database.sqlite": "sqlite",
}


def _cases() -> list[dict]:
    root = corpora.find()
    if root is None:
        return []
    text = (root / "dcg-cases.jsonl").read_text()
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [
        r
        for r in rows
        if r.get("packs") in DIALECTS
        and r.get("kind", "").startswith("rust_pack_unit")
        and not r["cmd"].startswith("mysqladmin")
    ]


CASES = _cases()
#: Without the corpora, one case that skips (or fails under a require-all run) saying so.
PARAMS = [pytest.param(c, id=c["cmd"][:60]) for c in CASES] or [
    pytest.param(None, id="peer-corpora-missing")]


@pytest.mark.parametrize("case", PARAMS)
def test_peer_sql_case(guard, case):
    needs.corpora_dir()
    action = Action(kind="sql", input=case["cmd"], options={"dialect": DIALECTS[case["packs"]]})
    decision = guard.decide(action)
    assert decision.allowed is (case["expect"] == "allow"), decision.to_dict()
