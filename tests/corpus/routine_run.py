"""Run the routine command set against a copy of its workspace; the commands not allowed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import yaml

from safehold.decide import Guard
from safehold.model import Action

ROUTINE = Path(__file__).parent / "routine"


def _data() -> dict[str, object]:
    data = yaml.safe_load((ROUTINE / "commands.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def load_commands() -> list[str]:
    return [str(c) for c in _data()["commands"]]  # type: ignore[attr-defined]


def load_reviewed() -> dict[str, str]:
    return {str(k): str(v) for k, v in _data()["reviewed"].items()}  # type: ignore[attr-defined]


def workspace(root: Path) -> Path:
    """A fresh copy of the routine workspace as `<root>/home/dev/project`."""
    project = root / "home" / "dev" / "project"
    shutil.copytree(ROUTINE / "workspace", project)
    return project


def false_alarms(guard: Guard, project: Path) -> list[tuple[str, str]]:
    out = []
    for cmd in load_commands():
        d = guard.decide(Action("shell", cmd, cwd=str(project)))
        if d.verdict != "allow":
            out.append((cmd, f"{d.verdict}: {'; '.join(d.reasons)[:300]}"))
    return out


if __name__ == "__main__":  # python tests/corpus/routine_run.py: print the false alarms
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        proj = workspace(Path(tmp))
        os.environ["HOME"] = str(proj.parent)
        os.environ["TMPDIR"] = str(Path(tmp) / "tmp")
        alarms = false_alarms(Guard.load(), proj)
        total = len(load_commands())
        for cmd, why in alarms:
            print(f"{cmd!r}\n    {why}")
        print(f"{len(alarms)}/{total} routine commands not allowed "
              f"({len(alarms) / total:.1%})")
