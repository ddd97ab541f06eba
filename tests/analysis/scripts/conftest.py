"""A real project directory on disk (home, temp dir and project of their own) for the script
tests: the files a command runs are read from it at decision time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from safehold.decide import Guard
from safehold.model import Action, Decision


@pytest.fixture(scope="session")
def guard() -> Guard:
    return Guard.load()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    proj = tmp_path / "home" / "dev" / "project"
    proj.mkdir(parents=True)
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("HOME", str(proj.parent))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    return proj


@pytest.fixture
def run(guard: Guard, project: Path) -> Callable[[dict[str, str], str], Decision]:
    """Write `files` into the project, then decide `cmd` run there."""

    def go(files: dict[str, str], cmd: str) -> Decision:
        for name, text in files.items():
            path = project / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            if text.startswith("#!"):
                path.chmod(0o755)
        return guard.decide(Action("shell", cmd, cwd=str(project)))

    return go
