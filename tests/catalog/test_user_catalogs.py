"""Users extend safehold's knowledge with their own catalog files (same schema, same loader),
named in safehold.toml as `catalogs = ["dir"]` with `shell/`, `http/` and `mcp/` inside."""

from __future__ import annotations

from pathlib import Path

import pytest

from safehold.config import parse_config_file
from safehold.decide import Guard
from safehold.errors import CatalogError
from safehold.model import Action

SHELL = """
family: deployctl
commands: [deployctl]
entries:
  - id: deployctl:wipe
    effect: irreversible
    reason: wipe deletes an environment's databases and their backups.
    when: {subcommand: [wipe]}
    targets: environment
    examples: {match: ["deployctl wipe prod"], no_match: ["deployctl status"]}
"""

HTTP = """
provider: internal
hosts: [api.internal.example]
entries:
  - id: internal:tenant-purge
    effect: destructive
    reason: Purging a tenant deletes all its data.
    when: {method: DELETE, path: '/tenants/{id}'}
    examples:
      match: ["DELETE https://api.internal.example/tenants/t1"]
      no_match: ["GET https://api.internal.example/tenants/t1"]
"""


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    (tmp_path / "knowledge" / "shell").mkdir(parents=True)
    (tmp_path / "knowledge" / "http").mkdir()
    (tmp_path / "knowledge" / "shell" / "deployctl.yaml").write_text(SHELL)
    (tmp_path / "knowledge" / "http" / "internal.yaml").write_text(HTTP)
    (tmp_path / "safehold.toml").write_text('catalogs = ["knowledge"]\n')
    return tmp_path


def guard_for(config_dir: Path) -> Guard:
    return Guard.from_config(parse_config_file(config_dir / "safehold.toml"))


def test_user_shell_and_http_entries_are_judged(config_dir: Path) -> None:
    guard = guard_for(config_dir)
    wipe = guard.decide(Action("shell", "deployctl wipe prod", cwd=str(config_dir)))
    assert [o.id for o in wipe.facts.operations] == ["deployctl:wipe"]
    assert wipe.verdict.value == "deny"
    purge = guard.decide(Action("shell", "curl -X DELETE https://api.internal.example/tenants/9",
                                cwd=str(config_dir)))
    assert "internal:tenant-purge" in [o.id for o in purge.facts.operations]
    assert guard.decide(Action("shell", "deployctl status", cwd=str(config_dir))).allowed


def test_built_in_knowledge_stays_and_other_guards_are_unaffected(config_dir: Path) -> None:
    guard = guard_for(config_dir)
    push = guard.decide(Action("shell", "git push --force", cwd=str(config_dir)))
    assert "git:push-force" in [o.id for o in push.facts.operations]
    plain = Guard.load().decide(Action("shell", "deployctl wipe prod", cwd=str(config_dir)))
    assert plain.facts.operations == ()


def test_a_broken_user_catalog_is_a_loud_error(config_dir: Path) -> None:
    (config_dir / "knowledge" / "shell" / "bad.yaml").write_text("family: x\nentries: [{id: y}]\n")
    with pytest.raises(CatalogError, match=r"bad\.yaml"):
        guard_for(config_dir)


def test_a_missing_catalog_directory_is_a_loud_error(tmp_path: Path) -> None:
    (tmp_path / "safehold.toml").write_text('catalogs = ["nowhere"]\n')
    with pytest.raises(CatalogError, match="does not exist"):
        guard_for(tmp_path)


def test_a_user_entry_cannot_reuse_a_built_in_id(config_dir: Path) -> None:
    (config_dir / "knowledge" / "shell" / "deployctl.yaml").write_text(
        SHELL.replace("deployctl:wipe", "git:push-force").replace("family: deployctl",
                                                                  "family: git"))
    with pytest.raises(CatalogError):
        guard_for(config_dir)
