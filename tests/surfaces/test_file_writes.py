"""The file analyser's judgement of editor writes, through the one decision path: where a
write lands decides whether it is routine."""

from __future__ import annotations

from pathlib import Path

import pytest

from safehold.decide import Guard
from safehold.model import Action


@pytest.fixture(scope="module")
def guard() -> Guard:
    return Guard.load()


@pytest.fixture(autouse=True)
def private_tmpdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test project lives under /tmp; a temp dir of its own keeps 'outside' outside."""
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))


def decide(guard: Guard, workspace: Path, *changes: tuple[str, str]):
    action = Action("file", {"changes": [{"op": op, "path": p} for op, p in changes]},
                    cwd=str(workspace), options={"workspace": str(workspace)})
    return guard.decide(action)


def ops(decision) -> list[str]:
    return [op.id for op in decision.facts.operations]


@pytest.mark.parametrize(
    ("op", "rel", "expected"),
    [
        ("write", "src/app.py", "file:write"),
        ("edit", "README.md", "file:write"),
        ("delete", "src/old.py", "file:delete"),
        ("write", ".git/hooks/pre-commit", "file:git-internals"),
        ("edit", ".git/config", "file:git-internals"),
        ("write", "sub/.git/refs/heads/main", "file:git-internals"),
        ("write", "data/app.db", "file:database-file"),
        ("write", "data/app.sqlite3-wal", "file:database-file"),
        ("write", "../elsewhere/notes.txt", "file:outside-workspace"),
    ],
)
def test_where_a_write_lands(guard: Guard, project: Path, op: str, rel: str, expected: str):
    decision = decide(guard, project, (op, str(project / rel)))
    assert ops(decision) == [expected]
    routine = expected in ("file:write", "file:delete")
    assert (decision.verdict.value == "allow") is routine, decision.reasons


def test_a_relative_path_is_taken_from_the_working_directory(guard: Guard, project: Path):
    assert ops(decide(guard, project, ("write", "src/new.py"))) == ["file:write"]
    assert ops(decide(guard, project, ("write", ".git/HEAD"))) == ["file:git-internals"]


def test_a_symlink_out_of_the_workspace_is_followed(guard: Guard, project: Path, tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / "link").symlink_to(outside)
    decision = decide(guard, project, ("write", str(project / "link" / "x.txt")))
    assert ops(decision) == ["file:outside-workspace"]
    assert decision.verdict.value != "allow"


def test_a_sqlite_file_is_recognised_by_its_header(guard: Guard, project: Path):
    import sqlite3

    db = project / "state.bin"
    sqlite3.connect(db).execute("create table t (x)").connection.close()
    assert ops(decide(guard, project, ("edit", str(db)))) == ["file:database-file"]


def test_a_postgres_data_directory_is_recognised(guard: Guard, project: Path):
    base = project / "pgdata" / "base" / "16384"
    base.mkdir(parents=True)
    (project / "pgdata" / "PG_VERSION").write_text("16\n")
    assert ops(decide(guard, project, ("write", str(base / "2619")))) == ["file:database-file"]


def test_one_bad_change_among_many_makes_the_whole_call_not_routine(guard: Guard, project: Path):
    decision = decide(guard, project, ("write", str(project / "a.py")),
                      ("write", str(project / ".git/HEAD")))
    assert decision.verdict.value != "allow"


@pytest.mark.parametrize("bad", [{}, {"changes": []}, {"changes": [{"op": "chmod", "path": "x"}]},
                                 {"changes": [{"op": "write"}]}])
def test_unreadable_input_is_never_allowed(guard: Guard, project: Path, bad: dict):
    decision = guard.decide(Action("file", bad, cwd=str(project)))
    assert decision.verdict.value != "allow"
