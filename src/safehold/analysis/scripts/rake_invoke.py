"""The code a Rake or Invoke task runs: its block in the Rakefile, its function in tasks.py.

`rake clean` runs the `clean` task's block (and its prerequisites' first), in a Ruby where
Rake's file helpers are included: `sh CMD` is `system CMD` that fails loudly, `rm_rf PATH` is
`FileUtils.rm_rf PATH`. `inv clean` (`invoke`) runs the Python function `clean` of tasks.py
(and its `pre` tasks), where `c.run(CMD)` / `c.sudo(CMD)` run shell commands. A harmless task
name vouches for nothing: what the block or function does is what is judged.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from safehold.analysis.scripts import follow
from safehold.analysis.scripts.files import ScriptText, read_script, resolve
from safehold.analysis.shell.words import Arg, Output, Scope

if TYPE_CHECKING:
    from safehold.analysis.shell.dispatch import Dispatcher
    from safehold.analysis.shell.walk import Walker

MAX_TASKS = 64

_RAKE_TASK = re.compile(
    r"""^(?P<indent>\s*)(?:task|file|multitask)\s*\(?\s*
        (?::(?P<sym>[\w?!]+)|["'](?P<str>[^"']+)["']|(?P<key>[\w?!]+):|["'](?P<skey>[^"']+)["']\s*=>)
        (?P<rest>.*)$""", re.VERBOSE)
_RAKE_NS = re.compile(r"""^\s*namespace\s*\(?\s*(?::([\w]+)|["']([^"']+)["'])""")
_OPENS = re.compile(r"(?:\bdo\b(?:\s*\|[^|]*\|)?\s*$|^\s*(?:if|unless|while|until|case|begin|def|"
                    r"class|module|for)\b)")
_CLOSES = re.compile(r"^\s*end\b")
#: Rake includes FileUtils: its helpers run unqualified.
_RAKE_HELPERS = re.compile(r"(?m)^(\s*)(?:(sh)\b|(rm_rf|rm_r|rm_f|rm|remove_dir|rmtree|"
                           r"safe_unlink)\b)")


@dataclass(slots=True)
class TaskCode:
    """What the named tasks run, prerequisites first: code text in one language; the names
    that were not found; a problem when the file cannot be understood."""

    code: list[str] = field(default_factory=list)
    shells: list[str] = field(default_factory=list)
    unknowns: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _deps(rest: str) -> list[str]:
    """`=> [:a, "b"]` or `: [:a]` or `=> :a` after the task's name."""
    m = re.match(r"""\s*(?:=>|,)?\s*(\[[^\]]*\]|:[\w?!]+|["'][^"']+["'])""", rest)
    if not m:
        return []
    return [a or b for a, b in re.findall(r""":([\w:?!]+)|["']([^"']+)["']""", m.group(1))]


def rake_tasks(text: str) -> dict[str, tuple[list[str], str]]:
    """Every task of a Rakefile: full name (with namespaces) -> (prerequisites, block text)."""
    lines = text.splitlines()
    tasks: dict[str, tuple[list[str], str]] = {}
    namespaces: list[tuple[str, int]] = []  # (name, depth at which it was opened)
    depth = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        ns = _RAKE_NS.match(line)
        task = _RAKE_TASK.match(line)
        if ns:
            namespaces.append((ns.group(1) or ns.group(2), depth))
            depth += 1
            i += 1
            continue
        if task:
            name = task.group("sym") or task.group("str") or task.group("key") or task.group("skey")
            rest = task.group("rest")
            keyed = task.group("key") or task.group("skey") or rest.lstrip().startswith("=>")
            deps = _deps(rest) if keyed else []
            prefix = ":".join(n for n, _ in namespaces)
            full = f"{prefix}:{name}" if prefix else name
            body: list[str] = []
            if re.search(r"\bdo\b(\s*\|[^|]*\|)?\s*$", rest):
                inner = 1
                i += 1
                while i < len(lines) and inner:
                    current = lines[i]
                    if _CLOSES.match(current):
                        inner -= 1
                        if not inner:
                            break
                    elif _OPENS.search(current):
                        inner += 1
                    body.append(current)
                    i += 1
            elif "{" in rest:
                body.append(rest[rest.index("{") + 1:rest.rindex("}")] if "}" in rest else rest)
            ns_deps = [d if ":" in d or not prefix else f"{prefix}:{d}" for d in deps]
            tasks[full] = (ns_deps + [d for d in deps if d not in ns_deps and ":" not in d],
                           "\n".join(body))
            i += 1
            continue
        if _CLOSES.match(line):
            depth -= 1
            if namespaces and namespaces[-1][1] == depth:
                namespaces.pop()
        elif _OPENS.search(line):
            depth += 1
        i += 1
    return tasks


def rake_code(text: str, names: list[str]) -> TaskCode:
    """The Ruby the named tasks run (`default` when none is named), prerequisites first."""
    tasks = rake_tasks(text)
    out = TaskCode()
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or len(seen) >= MAX_TASKS:
            return
        seen.add(name)
        found = tasks.get(name)
        if found is None:
            if not any(name == k.rsplit(":", 1)[-1] for k in tasks):
                out.missing.append(name)
            return
        deps, body = found
        for dep in deps:
            visit(dep if dep in tasks else dep.rsplit(":", 1)[-1])
        out.code.append(_RAKE_HELPERS.sub(
            lambda m: m.group(1) + ("system" if m.group(2) else f"FileUtils.{m.group(3)}"),
            body))

    for name in names or ["default"]:
        visit(name)
    return out


def invoke_code(text: str, names: list[str]) -> TaskCode:
    """The Python the named Invoke tasks run (their `pre` tasks first): each function's source,
    and the commands it hands to `c.run` / `c.sudo` (c being its first parameter)."""
    out = TaskCode()
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        out.unknowns.append(f"tasks.py does not parse ({type(exc).__name__})")
        return out
    functions = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    seen: set[str] = set()

    def pre_of(fn: ast.FunctionDef) -> list[str]:
        pre: list[str] = []
        for dec in fn.decorator_list:
            if isinstance(dec, ast.Call):
                pre += [a.id for a in dec.args if isinstance(a, ast.Name)]
                for kw in dec.keywords:
                    if kw.arg in ("pre", "post") and isinstance(kw.value, ast.List | ast.Tuple):
                        pre += [e.id for e in kw.value.elts if isinstance(e, ast.Name)]
        return pre

    def visit(name: str) -> None:
        if name in seen or len(seen) >= MAX_TASKS:
            return
        seen.add(name)
        fn = functions.get(name.replace("-", "_"))
        if fn is None:
            out.missing.append(name)
            return
        for dep in pre_of(fn):
            visit(dep)
        ctx = fn.args.args[0].arg if fn.args.args else None
        out.code.append(ast.unparse(fn))
        for node in ast.walk(fn):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("run", "sudo", "local")
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == ctx):
                arg = node.args[0] if node.args else None
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    out.shells.append(("sudo " if node.func.attr == "sudo" else "") + arg.value)
                else:
                    out.unknowns.append(f"invoke task {fn.name} runs a command computed at "
                                        "run time")

    for name in names:
        visit(name)
    return out


# -- the runners: `rake …`, `invoke …` / `inv …` ---------------------------------------------

_RAKE_FILES = ("rakefile", "Rakefile", "rakefile.rb", "Rakefile.rb")
_RAKE_NO_RUN = {"-T", "--tasks", "-D", "--describe", "-P", "--prereqs", "-W", "--where",
                "-n", "--dry-run", "-h", "-H", "--help", "-V", "--version", "-A", "--all"}
_RAKE_VALUE = {"-f", "--rakefile", "-C", "--directory", "-I", "--libdir", "-r", "--require",
               "-R", "--rakelibdir", "-e", "--execute", "-E", "--execute-continue", "-p",
               "--execute-print", "-j", "--jobs"}
_INVOKE_NO_RUN = {"-l", "--list", "-h", "--help", "-V", "--version", "-R", "--dry",
                  "--complete", "--print-completion-script"}
_INVOKE_VALUE = {"-c", "--collection", "-r", "--search-root", "-f", "--config", "-p",
                 "--pty-size"}


def _words(args: Sequence[Arg], no_run: set[str], value_opts: set[str]
           ) -> tuple[list[str], dict[str, str]] | None:
    """Task names and the options' values; None when the command runs no task."""
    names: list[str] = []
    values: dict[str, str] = {}
    i = 0
    while i < len(args):
        t = args[i].text
        opt, eq, val = t.partition("=")
        if t in no_run or opt in no_run:
            return None
        if opt in value_opts:
            values[opt] = val if eq else (args[i + 1].text if i + 1 < len(args) else "")
            i += 1 if eq else 2
            continue
        if not t.startswith("-") and not (eq and re.fullmatch(r"[A-Za-z_]\w*", opt)):
            names.append(t.split("[", 1)[0])  # rake: task[arg1,arg2]
        i += 1
    return names, values


def rake(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope, stdin: Output | None,
         inputs: Sequence[Arg], walker: Walker, level: int, source: str) -> None:
    from safehold.analysis.scripts.runners import _find, _unreadable

    found = _words(args, _RAKE_NO_RUN, _RAKE_VALUE)
    if found is None:
        return
    names, values = found
    if "-e" in values or "--execute" in values:
        code = values.get("-e") or values.get("--execute") or ""
        _judge_code(d, code, "ruby", scope.cwd, scope, walker, level, source, "rake -e")
    directory = scope.cwd
    if values.get("-C") or values.get("--directory"):
        directory = resolve(values.get("-C") or values.get("--directory") or "", scope.cwd,
                            d.state.home)
    file_arg = values.get("-f") or values.get("--rakefile")
    script = (read_script(p, d.state.written) if file_arg and
              (p := resolve(file_arg, directory, d.state.home)) else
              _find(d, directory, _RAKE_FILES))
    if script is None or script.missing or _unreadable(d, script, name, source):
        return
    shown = follow.display(script.path, scope.cwd)
    task = rake_code(script.text or "", names)
    code = "\n".join(c for c in task.code if c.strip())
    if code:
        _judge_code(d, code, "ruby", os.path.dirname(script.path), scope, walker, level,
                    f"{source} -> {shown}", script.path)


def invoke(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope, stdin: Output | None,
           inputs: Sequence[Arg], walker: Walker, level: int, source: str) -> None:
    from safehold.analysis.scripts.runners import _find, _shells, _unreadable

    found = _words(args, _INVOKE_NO_RUN, _INVOKE_VALUE)
    if found is None:
        return
    names, values = found
    root = values.get("-r") or values.get("--search-root")
    directory = resolve(root, scope.cwd, d.state.home) if root else scope.cwd
    collection = (values.get("-c") or values.get("--collection") or "tasks").removesuffix(".py")
    script = _find(d, directory, (f"{collection}.py", os.path.join(collection, "__init__.py")))
    if script is None or script.missing or _unreadable(d, script, name, source):
        return
    shown = follow.display(script.path, scope.cwd)
    task = invoke_code(script.text or "", names)
    where = f"{source} -> {shown}"
    for reason in task.unknowns:
        d.state.unknown("shell:opaque-code", reason, where)
    _shells(d, task.shells, os.path.dirname(script.path), scope, walker, f"{shown} task", where)
    code = "\n".join(task.code)
    if code:
        _judge_code(d, code, "python", os.path.dirname(script.path), scope, walker, level, where,
                    script.path)


def _judge_code(d: Dispatcher, code: str, lang: str, directory: str | None, scope: Scope,
                walker: Walker, level: int, source: str, path: str = "") -> None:
    inner = scope.child()
    inner.cwd = directory
    follow.run_text(d, ScriptText(path or "<inline>", code), lang, [], inner, walker, level,
                    source)


TASK_RUNNERS = {"rake": rake, "invoke": invoke, "inv": invoke}
