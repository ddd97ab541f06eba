"""The peers' curl / wget / httpie cases (the peer corpora, located by tests/corpora.py), decided
through the guard. Where we disagree on purpose, the case is listed here with the reason."""

from __future__ import annotations

import json
import shlex

import pytest

import corpora
import needs
from safehold.analysis.http.shell_clients import request_from_argv
from safehold.decide import Guard
from safehold.model import Action

CLIENTS = ("curl ", "wget ", "http ", "https ", "xh ")
# Closing an index or changing cluster settings loses no data and is undone with one call:
# a write, which the default policy lets through.
DELIBERATE_ALLOWS = {
    "curl -X POST http://localhost:9200/my-index/_close",
    "http POST :9200/my-index/_close",
    "curl -X PUT http://localhost:9200/_cluster/settings",
    "http PUT http://localhost:9200/_cluster/settings",
}


def _cases():
    out = []
    root = corpora.find()
    if root is None:
        return []
    for name in corpora.FILES:
        path = root / name
        for line in path.read_text(encoding="utf-8").splitlines():
            case = json.loads(line)
            cmd = case["cmd"]
            if not cmd.startswith(CLIENTS) or any(c in cmd for c in "|;&<>`$"):
                continue
            try:
                argv = shlex.split(cmd)
            except ValueError:
                continue
            out.append(pytest.param(argv, case["expect"], id=cmd[:80]))
    return out


#: Without the corpora, one case that skips (or fails under a require-all run) saying so.
CASES = _cases() or [pytest.param(None, None, id="peer-corpora-missing")]


@pytest.fixture(scope="module")
def guard():
    return Guard.load()


@pytest.mark.parametrize(("argv", "expect"), CASES)
def test_peer_http_case(guard, argv, expect):
    needs.corpora_dir()
    request = request_from_argv(argv, None, "/nonexistent")
    assert request is not None
    decision = guard.decide(Action(kind="http", input=request))
    cmd = shlex.join(argv)
    deliberate = {shlex.join(shlex.split(c)) for c in DELIBERATE_ALLOWS}
    if expect == "allow" or cmd in deliberate:
        assert decision.allowed, (cmd, decision.to_dict())
    else:
        assert not decision.allowed, (cmd, decision.to_dict())
