"""The recipe lines `make TARGET` runs, read from the Makefile.

A target name vouches for nothing: `make test` is judged by the shell lines of its recipe and
of its prerequisites' recipes, in the order make runs them. Variables defined in the file or on
the command line are expanded; `$(shell …)`, functions and variables safehold cannot know
become run-time parts, so the shell analyser treats them as unknown words, never as harmless
ones. With no target named, the first ordinary target (the default goal) runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from safehold.analysis.shell.paths import DYN_TEXT

MAX_TARGETS = 64
_ASSIGN = re.compile(r"^(?:export\s+|override\s+)?([A-Za-z_][\w.-]*)\s*(\?=|:=|::=|\+=|=|!=)"
                     r"\s*(.*)$")
_RULE = re.compile(r"^([^:=#\t][^:=#]*?)\s*(::?)(?!=)\s*([^=;#]*?)\s*(?:;\s*(.*))?$")
_VAR = re.compile(r"\$(?:\(([^()]*)\)|\{([^{}]*)\}|([^({]))")
_AUTOMATIC = {"@", "<", "^", "+", "?", "*", "|", "%"}


@dataclass(slots=True)
class Rule:
    prerequisites: list[str] = field(default_factory=list)
    recipe: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Makefile:
    rules: dict[str, Rule] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    default: str | None = None
    includes: bool = False  # an include safehold did not read: targets may come from it


def parse(text: str) -> Makefile:
    mf = Makefile()
    current: list[Rule] = []
    lines = text.replace("\\\r\n", " ").replace("\\\n", " ").splitlines()
    for line in lines:
        if line.startswith("\t"):
            for rule in current:
                rule.recipe.append(line[1:])
            continue
        stripped = line.split("#", 1)[0].rstrip() if "#" in line else line.rstrip()
        if not stripped.strip():
            continue
        word = stripped.split(None, 1)[0]
        if word in ("include", "-include", "sinclude"):
            mf.includes = True
            current = []
            continue
        if word in ("ifeq", "ifneq", "ifdef", "ifndef", "else", "endif", "define", "endef",
                    "export", "unexport", "vpath") and ":" not in stripped:
            continue
        m = _ASSIGN.match(stripped)
        if m:
            name, op, value = m.groups()
            if op == "+=":
                mf.variables[name] = (mf.variables.get(name, "") + " " + value).strip()
            elif op == "?=":
                mf.variables.setdefault(name, value)
            elif op == "!=":
                mf.variables[name] = DYN_TEXT
            else:
                mf.variables[name] = value
            current = []
            continue
        r = _RULE.match(stripped)
        if r is None:
            current = []
            continue
        targets, _, prereqs, inline = r.groups()
        current = []
        for target in targets.split():
            rule = mf.rules.setdefault(target, Rule())
            rule.prerequisites += [p for p in prereqs.split("|")[0].split() if p]
            if inline:
                rule.recipe.append(inline)
            current.append(rule)
            if mf.default is None and not target.startswith(".") and "%" not in target:
                mf.default = target
    return mf


def expand(text: str, variables: Mapping[str, str], auto: Mapping[str, str],
           depth: int = 0) -> str:
    """Expand make variables; what cannot be known becomes a run-time part."""
    if depth > 8:
        return DYN_TEXT

    def repl(m: re.Match[str]) -> str:
        name = m.group(1) if m.group(1) is not None else (
            m.group(2) if m.group(2) is not None else m.group(3))
        if name == "$":
            return "$"
        if name in auto:
            return auto[name]
        if name in ("MAKE", "MAKE_COMMAND"):
            return "make"
        if name == "CURDIR":
            return auto.get("CURDIR", DYN_TEXT)
        if name in variables:
            return expand(variables[name], variables, auto, depth + 1)
        if " " in name or "," in name:
            return DYN_TEXT  # a function call ($(shell …), $(wildcard …)): known at run time
        return ""  # an undefined variable expands to nothing

    return _VAR.sub(repl, text)


def recipe_lines(mf: Makefile, goals: list[str], overrides: Mapping[str, str],
                 curdir: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(target, shell line) pairs make would run for `goals`, and targets it could not find."""
    variables = {**mf.variables, **overrides}
    out: list[tuple[str, str]] = []
    missing: list[str] = []
    done: set[str] = set()

    def visit(target: str) -> None:
        if target in done or len(done) >= MAX_TARGETS:
            return
        done.add(target)
        rule = mf.rules.get(target)
        if rule is None:
            return
        prereqs = [expand(p, variables, {}) for p in rule.prerequisites]
        for p in prereqs:
            for name in p.split():
                visit(name)
        auto = {"@": target, "<": prereqs[0] if prereqs else "", "^": " ".join(prereqs),
                "+": " ".join(prereqs), "?": " ".join(prereqs), "*": "", "|": "",
                "%": "", "CURDIR": curdir}
        for line in rule.recipe:
            shell = expand(line, variables, auto).lstrip()
            while shell[:1] in ("@", "-", "+"):
                shell = shell[1:].lstrip()
            if shell:
                out.append((target, shell))

    for goal in goals:
        if goal not in mf.rules:
            missing.append(goal)
        visit(goal)
    return out, missing
