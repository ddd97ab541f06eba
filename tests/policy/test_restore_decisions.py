"""A restore is an action on the one decision path: the built-in policy asks another person to
approve a restore over existing data and, in production, plans a capture of what is there
first; a restore into a new target passes; anything malformed is held, never allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from safehold.decide import Guard
from safehold.model import Action, Verdict


def restore(target: str, *, replace: bool, env: str | None = None, **extra: object) -> Action:
    return Action("restore", {"snapshot": "snap_1", "source": target, "target": target,
                              "target_kind": "path", "replace": replace, **extra},
                  environment=env)


def test_restore_over_data_asks_and_in_production_snapshots_first() -> None:
    guard = Guard.load()
    staging = guard.decide(restore("/srv/app.db", replace=True, env="staging"))
    assert staging.verdict is Verdict.ASK
    assert "restore-over-original" in staging.rule_ids and not staging.snapshot_first
    prod = guard.decide(restore("/srv/app.db", replace=True, env="production"))
    assert prod.verdict is Verdict.ASK and prod.snapshot_first
    assert "protected-destructive-snapshot-first" in prod.rule_ids


def test_restore_into_a_new_target_passes() -> None:
    assert Guard.load().decide(restore("/srv/copy.db", replace=False, env="production")
                               ).verdict is Verdict.ALLOW


@pytest.mark.parametrize("bad", [
    {"replace": "yes"}, {"target_kind": "volume"}, {"target": ""}, {"snapshot": None},
])
def test_a_malformed_restore_is_never_allowed(bad: dict[str, object]) -> None:
    good = {"snapshot": "snap_1", "source": "/srv/x", "target": "/srv/copy.db",
            "target_kind": "path", "replace": False}
    decision = Guard.load().decide(Action("restore", {**good, **bad}))
    assert decision.verdict is not Verdict.ALLOW
    assert Guard.load().decide(Action("restore", "restore snap_1 --replace")).verdict \
        is not Verdict.ALLOW


def test_a_user_rule_of_the_same_id_replaces_the_built_in_one(tmp_path: Path) -> None:
    policy = tmp_path / "p.cedar"
    policy.write_text('''
@id("restore-over-original")
@decision("ask")
@reason("restores over data need the on-call lead")
permit (principal, action == Action::"restore", resource)
when { context.operations.contains("restore:replace") };

@id("no-restore-in-production")
@reason("production is never restored over in place")
forbid (principal, action == Action::"restore", resource)
when { context.operations.contains("restore:replace") && context.protected };
''')
    guard = Guard.load(policy)
    staging = guard.decide(restore("/srv/app.db", replace=True, env="staging"))
    assert staging.verdict is Verdict.ASK
    assert any("on-call lead" in r for r in staging.reasons)
    assert guard.decide(restore("/srv/app.db", replace=True, env="production")
                        ).verdict is Verdict.DENY
