"""What the dashboard computes from a stored request: the action as typed and the blast radius."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from safehold.server.views import TargetView, action_text, approval_view, blast_radius, time_left

PROTECTED = frozenset({"production"})


@pytest.mark.parametrize(
    "value, one_line, expected",
    [
        ("git push --force", False, "git push --force"),
        ("psql -c\n  'DROP TABLE x'", True, "psql -c 'DROP TABLE x'"),
        ({"method": "delete", "url": "https://a.example/v1/x"}, False,
         "DELETE https://a.example/v1/x"),
        ({"method": "POST", "url": "https://a.example/g", "body": {"query": "mutation { x }"}},
         True, 'POST https://a.example/g {"query": "mutation { x }"}'),
        ({"server": "db", "tool": "run_sql", "arguments": {"sql": "DROP TABLE t"}}, True,
         'db.run_sql {"sql": "DROP TABLE t"}'),
    ],
)
def test_action_text_shows_the_action_as_typed(value: Any, one_line: bool, expected: str) -> None:
    assert action_text(value, one_line=one_line) == expected


@pytest.mark.parametrize(
    "targets, expected",
    [
        ([], "no resolved target"),
        ([TargetView("volume", "v1", "production", True)], "1 volume in production"),
        (
            [
                TargetView("table", "a", "staging", False),
                TargetView("table", "b", "production", True),
                TargetView("bucket", "c", None, False),
            ],
            "1 table in production; 1 table in staging; 1 bucket in no inventory environment",
        ),
        ([TargetView("path", "/x", None, False)], "1 path in no inventory environment"),
    ],
)
def test_blast_radius_counts_kinds_and_environments(
    targets: list[TargetView], expected: str
) -> None:
    assert blast_radius(targets) == expected


def test_time_left_formats_and_never_goes_negative() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert time_left(now + timedelta(seconds=65), now) == "1:05"
    assert time_left(now + timedelta(hours=2, seconds=3), now) == "2:00:03"
    assert time_left(now - timedelta(seconds=5), now) == "now"
    assert time_left(None, now) == ""


def test_a_production_target_makes_the_request_production_whatever_the_session_claims() -> None:
    now = datetime.now(UTC)
    record = {
        "id": "ap_1",
        "state": "pending",
        "kind": "http",
        "requester": "token/agent",
        "environment": "staging",
        "action": {"kind": "http", "input": {"method": "DELETE", "url": "https://p/v"}},
        "decision": {
            "reasons": ["r"],
            "rules": ["destructive-needs-approval"],
            "snapshot_first": True,
            "facts": {
                "effect": "irreversible",
                "operations": [{"id": "http:delete", "effect": "irreversible", "reason": "gone",
                                "targets": [{"kind": "url", "name": "p/v",
                                             "environment": "production"}]}],
            },
        },
        "created_at": now,
        "expires_at": now + timedelta(minutes=10),
        "votes": [],
    }
    view = approval_view(record, PROTECTED, viewer="token/agent")
    assert view.is_prod
    assert view.own
    assert view.snapshot_first
    assert view.effect == "irreversible"
    assert view.blast == "1 url in production"
    assert view.headline == "gone"


def test_the_card_shows_the_sessions_claim_and_where_the_targets_live_apart() -> None:
    from safehold.server.app import _templates

    now = datetime.now(UTC)
    record = {
        "id": "ap_2", "state": "pending", "kind": "shell", "requester": "token/agent",
        "environment": "production",
        "action": {"kind": "shell", "input": "psql -h db.prod.internal -c 'DROP TABLE t'",
                   "claimed_environment": "staging"},
        "decision": {"reasons": ["r"], "rules": ["x"], "facts": {
            "effect": "destructive", "environment": "production",
            "operations": [{"id": "sql:drop-table", "effect": "destructive", "reason": "gone",
                            "targets": [{"kind": "table", "name": "t"},
                                        {"kind": "database",
                                         "name": "postgresql://db.prod.internal",
                                         "environment": "production"}]}]}},
        "created_at": now, "expires_at": now + timedelta(minutes=10), "votes": [],
    }
    view = approval_view(record, PROTECTED, viewer=None)
    assert (view.claimed, view.environment) == ("staging", "production")
    macros = _templates().env.get_template("_macros.html").module
    html = " ".join(str(macros.facts(view)).split())
    assert ('<dt>Session claims</dt><dd class="claimed"><span class="env ">staging</span></dd>'
            in html), html
    assert ('<dt>Environment</dt><dd class="judged"><span class="env prod">production</span>'
            in html)
    assert ('database postgresql://db.prod.internal</span> <span class="env prod">production'
            in html)
    # the table has no inventory entry of its own: it lives in the database it runs against
    assert ('table t</span> <span class="env prod">production</span> <span class="muted">— '
            'inside database postgresql://db.prod.internal' in html)
