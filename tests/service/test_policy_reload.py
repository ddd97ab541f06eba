"""A running safehold picks up an edited policy file; a broken edit leaves the last good policy
in force, and both are in the audit log."""

from __future__ import annotations

from pathlib import Path

from safehold.config import parse_config_file
from safehold.model import Action
from safehold.service import Safehold

NO_FORCE_PUSH = """
@id("no-force-push")
forbid (principal, action, resource)
when { context.operations.contains("git:push-force") };
"""


def open_service(tmp_path: Path, policy: str) -> Safehold:
    (tmp_path / "policy.cedar").write_text(policy)
    (tmp_path / "safehold.toml").write_text(
        f'database_url = "sqlite:///{tmp_path / "s.db"}"\npolicy = "policy.cedar"\n'
    )
    return Safehold.open(parse_config_file(tmp_path / "safehold.toml"),
                         notify_in_background=False)


def verdict(sh: Safehold, command: str, cwd: Path) -> str:
    evaluation = sh.evaluate(Action("shell", command, cwd=str(cwd), session="s1"),
                             requester="token/test", request_approval=False)
    return evaluation.to_dict()["decision"]


def test_an_edited_policy_takes_effect_and_a_broken_one_keeps_the_last_good(tmp_path) -> None:
    sh = open_service(tmp_path, "")
    try:
        push = "git push --force origin main"
        assert verdict(sh, push, tmp_path) == "ask"
        assert sh.maintenance()["policy_reloaded"] == 0

        (tmp_path / "policy.cedar").write_text(NO_FORCE_PUSH)
        assert sh.maintenance()["policy_reloaded"] == 1
        assert verdict(sh, push, tmp_path) == "deny"
        good_version = sh.guard.policy_version

        (tmp_path / "policy.cedar").write_text(NO_FORCE_PUSH + "\npermit (principal action);\n")
        assert sh.maintenance()["policy_reloaded"] == 0
        assert sh.guard.policy_version == good_version
        assert verdict(sh, push, tmp_path) == "deny"
        failed = sh.audit.tail(1, type="policy.reload-failed")
        assert failed and "policy.cedar:" in failed[0].data["error"]
        assert failed[0].data["policy_version_in_force"] == good_version
        assert sh.maintenance()["policy_reloaded"] == 0, "the same broken file is not retried"

        (tmp_path / "policy.cedar").write_text("")
        assert sh.maintenance()["policy_reloaded"] == 1
        assert verdict(sh, push, tmp_path) == "ask"
        assert sh.audit.verify().ok
    finally:
        sh.close()
