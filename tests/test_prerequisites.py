"""How the suite finds what it drives for real (PostgreSQL, the peer corpora) and what a missing
one does: a skip that says how to get it, or a failure when the run must exercise everything."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import corpora
import needs
import pg


def _server(bindir: Path, programs: tuple[str, ...] = pg.SERVER_PROGRAMS) -> Path:
    bindir.mkdir(parents=True)
    for name in programs:
        (bindir / name).write_text("#!/bin/sh\n")
        (bindir / name).chmod(stat.S_IRWXU)
    return bindir


def test_the_newest_debian_version_wins_numerically(tmp_path: Path) -> None:
    root = tmp_path / "postgresql"
    for version in ("9.6", "15", "16"):
        _server(root / version / "bin")
    _server(root / "17" / "bin", ("initdb", "pg_ctl"))  # no server: a client-only install
    env = {"PATH": str(tmp_path / "empty")}
    assert pg.find_bindir(env, root) == root / "16" / "bin"


def test_initdb_on_path_is_followed_to_its_real_directory(tmp_path: Path) -> None:
    real = _server(tmp_path / "opt" / "pg" / "bin")
    links = tmp_path / "links"
    links.mkdir()
    for name in pg.SERVER_PROGRAMS:
        (links / name).symlink_to(real / name)
    assert pg.find_bindir({"PATH": str(links)}, tmp_path / "none") == real


def test_pg_config_bindir_comes_first(tmp_path: Path) -> None:
    real = _server(tmp_path / "custom" / "bin")
    debian = _server(tmp_path / "postgresql" / "16" / "bin")
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "pg_config").write_text(f"#!/bin/sh\necho {real}\n")
    (tools / "pg_config").chmod(stat.S_IRWXU)
    env = {"PATH": f"{tools}:{os.defpath}"}
    assert pg.find_bindir(env, debian.parents[1]) == real


def test_an_explicit_bindir_is_the_only_place_looked_at(tmp_path: Path) -> None:
    debian = _server(tmp_path / "postgresql" / "16" / "bin")
    env = {"PATH": os.defpath, pg.BINDIR_ENV: str(tmp_path / "nowhere")}
    assert pg.find_bindir(env, debian.parents[1]) is None
    reason = pg.missing_reason(env)
    assert pg.BINDIR_ENV in reason and str(tmp_path / "nowhere") in reason
    env[pg.BINDIR_ENV] = str(debian)
    assert pg.find_bindir(env, tmp_path / "none") == debian


def test_corpora_come_from_the_variable_or_beside_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(corpora.CORPORA_ENV, raising=False)
    assert corpora.location() == Path(__file__).resolve().parents[1].parent / "shared" / "corpora"
    monkeypatch.setenv(corpora.CORPORA_ENV, str(tmp_path))
    (tmp_path / corpora.FILES[0]).write_text("")
    assert corpora.find() is None
    assert corpora.FILES[1] in corpora.missing_reason()
    assert corpora.FILES[0] not in corpora.missing_reason().split(" not in ")[0]
    (tmp_path / corpora.FILES[1]).write_text("")
    assert corpora.find() == tmp_path


def test_a_missing_prerequisite_skips_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(needs.REQUIRE_ALL_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="install it like so"):
        needs.missing("thing missing; install it like so")


def test_a_missing_prerequisite_fails_a_require_all_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(needs.REQUIRE_ALL_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=f"thing missing.*{needs.REQUIRE_ALL_ENV}=1"):
        needs.missing("thing missing")


SKIPPING = '''
import pytest

@pytest.mark.skipif(True, reason="needs a thing")
def test_marked():
    pass

def test_skips_itself():
    pytest.skip("a thing is missing")

def test_runs():
    pass
'''


@pytest.mark.parametrize(("required", "summary"), [("1", "1 failed, 1 passed, 1 error"),
                                                   ("", "1 passed, 2 skipped")])
def test_a_require_all_run_fails_every_kind_of_skip(
    tmp_path: Path, required: str, summary: str
) -> None:
    (tmp_path / "test_skipping.py").write_text(SKIPPING)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent),
           needs.REQUIRE_ALL_ENV: required}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider", "-q",
         "test_skipping.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert summary in run.stdout, run.stdout + run.stderr
    if required:
        assert "a thing is missing" in run.stdout and "needs a thing" in run.stdout
