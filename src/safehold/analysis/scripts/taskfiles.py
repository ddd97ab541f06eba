"""The commands a task runner's file gives a task: package.json scripts, justfile recipes,
Taskfile tasks.

Each reader returns the shell lines (or, for a justfile recipe with a `#!` line, the script
text and its language) that running the named task executes, dependencies first, so the
shell analyser judges the commands and not the task's name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from safehold.analysis.shell.paths import DYN_TEXT

MAX_TASKS = 64


@dataclass(slots=True)
class Steps:
    """What a task runs: shell lines and whole scripts (language, text), in order; tasks that
    were named but not found; a problem when the file itself cannot be understood."""

    shells: list[str] = field(default_factory=list)
    scripts: list[tuple[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    problem: str | None = None


# -- package.json ----------------------------------------------------------------------------

def package_scripts(text: str) -> dict[str, str] | None:
    """The `scripts` of a package.json; None when the file is not valid JSON."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    scripts = data.get("scripts") if isinstance(data, dict) else None
    if not isinstance(scripts, dict):
        return {}
    return {str(k): str(v) for k, v in scripts.items() if isinstance(v, str)}


def package_steps(scripts: dict[str, str], names: list[str], pre_post: bool = True) -> Steps:
    """The script lines `npm run NAME` runs: preNAME, NAME, postNAME."""
    steps = Steps()
    for name in names:
        if name not in scripts:
            steps.missing.append(name)
            continue
        order = [f"pre{name}", name, f"post{name}"] if pre_post else [name]
        steps.shells += [scripts[n] for n in order if n in scripts]
    return steps


# -- justfile --------------------------------------------------------------------------------

_JUST_RECIPE = re.compile(r"^@?([A-Za-z_][\w-]*)((?:\s+[^:=\s][^:]*?)?)\s*:(?!=)\s*(.*)$")
_JUST_ASSIGN = re.compile(r"^(?:export\s+)?([A-Za-z_][\w-]*)\s*:=\s*(.*)$")
_JUST_INTERP = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def just_steps(text: str, names: list[str]) -> Steps:
    recipes: dict[str, tuple[list[str], list[str]]] = {}
    variables: dict[str, str] = {}
    order: list[str] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and current is not None:
            current.append(line.strip())
            continue
        stripped = line.split("#", 1)[0].rstrip() if not line.startswith("#!") else ""
        if not stripped or stripped.startswith(("set ", "alias ", "import ", "mod ", "[")):
            current = None
            continue
        a = _JUST_ASSIGN.match(stripped)
        if a:
            value = a.group(2).strip()
            variables[a.group(1)] = value[1:-1] if value[:1] in "'\"" and \
                value[-1:] == value[:1] else DYN_TEXT
            current = None
            continue
        r = _JUST_RECIPE.match(stripped)
        if r is None:
            current = None
            continue
        deps = [d.strip("()").split()[0] for d in re.findall(r"\([^)]*\)|[\w-]+", r.group(3))
                if d.strip("()")]
        body: list[str] = []
        recipes[r.group(1)] = (deps, body)
        order.append(r.group(1))
        current = body
    steps = Steps()
    goals = names or (["default"] if "default" in recipes else order[:1])
    done: set[str] = set()

    def interp(s: str) -> str:
        return _JUST_INTERP.sub(lambda m: variables.get(m.group(1), DYN_TEXT), s)

    def visit(name: str) -> None:
        if name in done or len(done) >= MAX_TASKS:
            return
        done.add(name)
        deps, body = recipes[name]
        for d in deps:
            if d in recipes:
                visit(d)
        lines = [interp(b) for b in body if b]
        if lines and lines[0].startswith("#!"):
            steps.scripts.append((lines[0], "\n".join(lines)))
            return
        for b in lines:
            b = b.lstrip("@-").lstrip()
            if b and not b.startswith("#"):
                steps.shells.append(b)

    for goal in goals:
        if goal in recipes:
            visit(goal)
        else:
            steps.missing.append(goal)
    return steps


# -- Taskfile.yml ------------------------------------------------------------------------------

_TASK_VAR = re.compile(r"\{\{\s*\.?([^{}]*?)\s*\}\}")


def taskfile_steps(text: str, names: list[str]) -> Steps:
    steps = Steps()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        steps.problem = f"the Taskfile is not valid YAML ({type(exc).__name__})"
        return steps
    tasks = data.get("tasks") if isinstance(data, dict) else None
    if not isinstance(tasks, dict):
        steps.missing += names or ["default"]
        return steps
    variables = {str(k): str(v) for k, v in (data.get("vars") or {}).items()
                 if isinstance(v, str | int | float)} if isinstance(data.get("vars"), dict) else {}
    done: set[str] = set()

    def sub(s: str) -> str:
        return _TASK_VAR.sub(lambda m: variables.get(m.group(1), DYN_TEXT), s)

    def visit(name: str) -> None:
        if name in done or len(done) >= MAX_TASKS:
            return
        done.add(name)
        task: Any = tasks.get(name)
        if isinstance(task, str | list):
            task = {"cmds": [task] if isinstance(task, str) else task}
        if not isinstance(task, dict):
            return
        for dep in task.get("deps") or []:
            dep_name = dep.get("task") if isinstance(dep, dict) else dep
            if isinstance(dep_name, str) and dep_name in tasks:
                visit(dep_name)
        cmds = task.get("cmds") or ([task["cmd"]] if "cmd" in task else [])
        for cmd in cmds if isinstance(cmds, list) else [cmds]:
            if isinstance(cmd, str):
                steps.shells.append(sub(cmd))
            elif isinstance(cmd, dict) and isinstance(cmd.get("cmd"), str):
                steps.shells.append(sub(cmd["cmd"]))
            elif isinstance(cmd, dict) and isinstance(cmd.get("task"), str):
                if cmd["task"] in tasks:
                    visit(cmd["task"])
                else:
                    steps.missing.append(cmd["task"])

    for goal in names or ["default"]:
        if goal in tasks:
            visit(goal)
        else:
            steps.missing.append(goal)
    return steps
