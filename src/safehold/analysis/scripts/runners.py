"""Task runners and installers that run code from the workspace's own files.

`make TARGET` runs its recipe, `npm run X` / `pnpm X` / `yarn X` / `bun run X` the package.json
script (with its pre- and post-scripts), `just` and `task` their recipe, `npm install` the
package's own lifecycle scripts, `pip install -e .` its `setup.py`, `pytest` every
`conftest.py` it loads. Each runner finds the file in the directory the command runs in (or the
one its options name), reads what the named task runs, and hands that to the shell analyser or
to the script follower, so a harmless task name never vouches for what it does.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from safehold.analysis.scripts import follow, makefile, taskfiles
from safehold.analysis.scripts.consoles import CONSOLE_RUNNERS
from safehold.analysis.scripts.files import ScriptText, read_script, resolve
from safehold.analysis.scripts.payloads import PAYLOAD_RUNNERS
from safehold.analysis.shell.words import Arg, Output, Scope

if TYPE_CHECKING:
    from safehold.analysis.shell.dispatch import Dispatcher
    from safehold.analysis.shell.walk import Walker

#: (dispatcher, program, arguments, scope, stdin, `<` inputs, walker, level, source)
Runner = Callable[["Dispatcher", str, Sequence[Arg], Scope, "Output | None", Sequence[Arg],
                   "Walker", int, str], None]

_MAKEFILES = ("GNUmakefile", "makefile", "Makefile")
_MAKE_VALUE = frozenset({"-C", "-f", "-I", "-o", "-W", "--directory", "--file", "--makefile",
                         "--include-dir", "--old-file", "--what-if", "--assume-old",
                         "--assume-new", "--new-file"})
_MAKE_NO_RUN = frozenset({"-n", "--just-print", "--dry-run", "--recon", "-q", "--question",
                          "-t", "--touch", "-v", "--version", "-h", "--help"})
_NPM_RUN = frozenset({"run", "run-script", "rum", "urn"})
_NPM_TEST = frozenset({"test", "t", "tst"})
_NPM_INSTALL = frozenset({"install", "i", "in", "ins", "inst", "insta", "instal", "isnt",
                          "isnta", "isntal", "isntall", "add", "ci", "clean-install", "ic",
                          "install-clean", "isntall-clean", "install-test", "it", "cit",
                          "install-ci-test", "clean-install-test", "sit", "rebuild", "rb"})
_LIFECYCLE_INSTALL = ["preinstall", "install", "postinstall", "prepublish", "preprepare",
                      "prepare", "postprepare"]
_NPM_VALUE = frozenset({"--prefix", "-w", "--workspace", "--registry", "--cache", "--userconfig",
                        "--loglevel", "--tag", "--otp", "--script-shell", "-C"})
#: pnpm / yarn / bun commands that are not scripts: `pnpm <anything else>` runs the script.
_PM_BUILTINS = frozenset({
    "add", "install", "i", "update", "up", "upgrade", "remove", "rm", "uninstall", "link",
    "unlink", "import", "rebuild", "rb", "prune", "fetch", "patch", "patch-commit", "audit",
    "list", "ls", "ll", "la", "outdated", "why", "exec", "dlx", "create", "run", "test", "t",
    "start", "publish", "pack", "store", "env", "setup", "init", "config", "c", "server", "bin",
    "root", "licenses", "deploy", "dedupe", "doctor", "help", "info", "cache", "global",
    "workspace", "workspaces", "plugin", "set", "node", "login", "logout", "version", "search",
    "npm", "constraints", "explain", "check", "autoclean", "owner", "policies", "tag", "team",
    "upgrade-interactive", "generate-lock-entry", "whoami",
    "completion", "recursive", "-r", "self-update", "catalog", "approve-builds",
    "ignored-builds", "sbom",
})
_BUN_BUILTINS = frozenset({"build", "x", "pm", "repl", "completions", "upgrade"})


# -- shared -------------------------------------------------------------------------------------

def _find(d: Dispatcher, directory: str | None, names: Sequence[str]) -> ScriptText | None:
    """The first of `names` that exists in `directory` (or was written by this command)."""
    if directory is None:
        return None
    for n in names:
        script = read_script(os.path.join(directory, n), d.state.written)
        if not script.missing:
            return script
    return None


def _unreadable(d: Dispatcher, script: ScriptText, who: str, source: str) -> bool:
    if script.text is not None:
        return False
    d.state.unknown("shell:script-not-followed", f"{who} runs {script.path}, but "
                    f"{script.problem}; what it does cannot be known", source)
    return True


def _shells(d: Dispatcher, lines: Sequence[str], cwd: str | None, scope: Scope, walker: Walker,
            who: str, source: str) -> None:
    for line in lines:
        inner = scope.child()
        inner.cwd = cwd
        d.shell_string(Arg(line), inner, None, walker, who, source)


# -- make ------------------------------------------------------------------------------------

def make(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope,
         stdin: Output | None, inputs: Sequence[Arg], walker: Walker,
         level: int, source: str) -> None:
    directory = scope.cwd
    file_arg: str | None = None
    goals: list[str] = []
    overrides: dict[str, str] = {}
    i = 0
    while i < len(args):
        t = args[i].text
        opt, eq, val = t.partition("=")
        if t in _MAKE_NO_RUN or (t.startswith("-") and not t.startswith("--") and
                                 any("-" + c in _MAKE_NO_RUN for c in t[1:])
                                 and not t.startswith(("-C", "-f", "-I", "-o", "-W", "-j"))):
            return
        if t in _MAKE_VALUE or (opt in _MAKE_VALUE and eq):
            value = val if eq else (args[i + 1].text if i + 1 < len(args) else "")
            if opt in ("-C", "--directory"):
                directory = resolve(value, directory, d.state.home)
            elif opt in ("-f", "--file", "--makefile"):
                file_arg = value
            i += 1 if eq else 2
            continue
        if t.startswith("-C") and len(t) > 2:
            directory = resolve(t[2:], directory, d.state.home)
        elif t.startswith("-f") and len(t) > 2:
            file_arg = t[2:]
        elif t in ("-j", "--jobs", "-l", "--load-average") and i + 1 < len(args) and \
                args[i + 1].text.replace(".", "").isdigit():
            i += 1
        elif not t.startswith("-") and eq and opt.replace("_", "a").isalnum():
            overrides[opt] = val if args[i].static else "\ue000"
        elif not t.startswith("-"):
            goals.append(t)
        i += 1
    if file_arg is not None:
        path = resolve(file_arg, directory, d.state.home)
        script = read_script(path, d.state.written) if path else None
    else:
        script = _find(d, directory, _MAKEFILES)
    if script is None or script.missing or _unreadable(d, script, name, source):
        return
    mf = makefile.parse(script.text or "")
    if not goals:
        if mf.default is None:
            return
        goals = [mf.default]
    lines, missing = makefile.recipe_lines(mf, goals, overrides, directory or "")
    if missing and mf.includes:
        d.state.unknown("shell:script-not-followed", f"{name}: target {missing[0]!r} is not in "
                        f"{script.path} and may come from a file it includes", source)
    shown = follow.display(script.path, scope.cwd)
    for target, line in lines:
        _shells(d, [line], directory, scope, walker, f"{shown}:{target}",
                f"{source} -> {shown}:{target}")


# -- package.json ----------------------------------------------------------------------------

def _package(d: Dispatcher, directory: str | None) -> tuple[ScriptText | None,
                                                           dict[str, str] | None]:
    script = _find(d, directory, ("package.json",))
    if script is None or script.text is None:
        return script, None
    return script, taskfiles.package_scripts(script.text)


def _run_package(d: Dispatcher, tool: str, directory: str | None, names: list[str],
                 scope: Scope, walker: Walker, source: str, lifecycle: bool = False,
                 pre_post: bool = True) -> None:
    script, scripts = _package(d, directory)
    if script is None or _unreadable(d, script, tool, source) or scripts is None:
        return
    if lifecycle:
        steps = taskfiles.Steps(shells=[scripts[n] for n in names if n in scripts])
    else:
        steps = taskfiles.package_steps(scripts, names, pre_post)
    shown = follow.display(script.path, scope.cwd)
    env_scope = scope.child()
    _shells(d, steps.shells, directory, env_scope, walker, f"{shown} script",
            f"{source} -> {shown} scripts")


def _npm_like(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope,
              stdin: Output | None, inputs: Sequence[Arg], walker: Walker,
              level: int, source: str) -> None:
    directory = scope.cwd
    words: list[str] = []
    ignore_scripts = False
    i = 0
    while i < len(args):
        t = args[i].text
        opt, eq, val = t.partition("=")
        if t == "--":
            words += [a.text for a in args[i + 1:]]
            break
        if opt in ("--prefix", "-C", "--dir", "--cwd") and (eq or i + 1 < len(args)):
            directory = resolve(val if eq else args[i + 1].text, scope.cwd, d.state.home)
            i += 1 if eq else 2
            continue
        if opt == "--ignore-scripts" and val.lower() != "false":
            ignore_scripts = True
        elif opt in _NPM_VALUE and not eq:
            i += 2
            continue
        elif not t.startswith("-"):
            words.append(t)
        i += 1
    if not words:
        if name == "yarn" and not ignore_scripts:
            _run_package(d, name, directory, _LIFECYCLE_INSTALL, scope, walker, source, True)
        return
    verb, rest = words[0], words[1:]
    if verb in _NPM_RUN or (name == "bun" and verb == "run"):
        if not rest:
            return
        target = rest[0]
        if name == "bun" and _bun_file(d, target, directory, rest[1:], scope, walker, level,
                                       source):
            return
        _run_package(d, name, directory, [target], scope, walker, source,
                     pre_post=not ignore_scripts)
    elif verb in _NPM_TEST or verb in ("start", "stop", "restart"):
        if name == "bun" and verb == "test":
            return  # bun's own test runner, not a script
        _run_package(d, name, directory, [{"t": "test", "tst": "test"}.get(verb, verb)], scope,
                     walker, source, pre_post=not ignore_scripts)
    elif verb in _NPM_INSTALL:
        if ignore_scripts:
            return
        own = verb in ("ci", "clean-install", "ic", "install-clean", "isntall-clean",
                       "rebuild", "rb") or not rest
        if own:
            _run_package(d, name, directory, _LIFECYCLE_INSTALL, scope, walker, source, True)
        if verb in ("install-test", "it", "cit", "install-ci-test", "clean-install-test", "sit"):
            _run_package(d, name, directory, ["test"], scope, walker, source)
    elif verb in ("pack", "publish") and not ignore_scripts:
        names = ["prepack", "prepare", "postpack"] if verb == "pack" else [
            "prepublishOnly", "prepack", "prepare", "postpack", "publish", "postpublish"]
        _run_package(d, name, directory, names, scope, walker, source, True)
    elif name != "npm" and verb not in _PM_BUILTINS and not verb.startswith("-") and not (
            name == "bun" and verb in _BUN_BUILTINS):
        if name == "bun" and _bun_file(d, verb, directory, rest, scope, walker, level, source):
            return
        _run_package(d, name, directory, [verb], scope, walker, source,
                     pre_post=not ignore_scripts)


def _bun_file(d: Dispatcher, target: str, directory: str | None, rest: Sequence[str],
              scope: Scope, walker: Walker, level: int, source: str) -> bool:
    """`bun run x.ts` / `bun x.js` runs a file when no package.json script has that name."""
    _, scripts = _package(d, directory)
    if scripts and target in scripts:
        return False
    if os.path.splitext(target)[1] not in (".js", ".mjs", ".cjs", ".ts", ".mts", ".cts",
                                           ".tsx", ".jsx"):
        return False
    follow.run_file(d, Arg(target), "js", [Arg(r) for r in rest], scope, walker, level, source)
    return True


# -- just, task ------------------------------------------------------------------------------

def _task_runner(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope,
                 stdin: Output | None, inputs: Sequence[Arg], walker: Walker,
                 level: int, source: str) -> None:
    just = name == "just"
    files = ("justfile", "Justfile", ".justfile", "JUSTFILE") if just else (
        "Taskfile.yml", "taskfile.yml", "Taskfile.yaml", "taskfile.yaml", "Taskfile.dist.yml",
        "taskfile.dist.yml", "Taskfile.dist.yaml", "taskfile.dist.yaml")
    file_opts = ("-f", "--justfile") if just else ("-t", "--taskfile")
    dir_opts = ("-d", "--working-directory") if just else ("-d", "--dir")
    no_run = {"-n", "--dry-run", "-l", "--list", "--summary", "-s", "--show", "--dump",
              "--evaluate", "--fmt", "--init", "--edit", "--variables", "-h", "--help", "-V",
              "--version", "--choose", "--groups", "--completions"} if just else {
        "-l", "--list", "-a", "--list-all", "-n", "--dry", "--summary", "-i", "--init", "-h",
        "--help", "--version"}
    value_opts = {"--set", "--shell", "--shell-arg", "--dotenv-filename", "--dotenv-path",
                  "--color", "--chooser", "--command-color", "-E"} if just else {
        "-o", "--output", "-c", "--color", "--concurrency", "-C", "--interval", "-x"}
    directory = scope.cwd
    file_arg: str | None = None
    names: list[str] = []
    i = 0
    while i < len(args):
        t = args[i].text
        opt, eq, val = t.partition("=")
        if t == "--":
            break
        if t in no_run:
            return
        value = val if eq else (args[i + 1].text if i + 1 < len(args) else "")
        if opt in file_opts:
            file_arg = value
        elif opt in dir_opts:
            directory = resolve(value, scope.cwd, d.state.home)
        elif opt in value_opts:
            i += (1 if eq else 2) + (1 if opt == "--set" and not eq else 0)
            continue
        elif not t.startswith("-"):
            names.append(t)
            i += 1
            continue
        else:
            i += 1
            continue
        i += 1 if eq else 2
    if file_arg is not None:
        path = resolve(file_arg, scope.cwd, d.state.home)
        script = read_script(path, d.state.written) if path else None
    else:
        script = _find(d, directory, files)
    if script is None or script.missing or _unreadable(d, script, name, source):
        return
    text = script.text or ""
    if just:
        steps = taskfiles.just_steps(text, names[:1])
        # Later words are the recipe's arguments unless they name recipes themselves.
        for extra in names[1:]:
            more = taskfiles.just_steps(text, [extra])
            if not more.missing:
                steps.shells += more.shells
                steps.scripts += more.scripts
    else:
        steps = taskfiles.taskfile_steps(text, names)
    if steps.problem:
        d.state.unknown("shell:script-not-followed", f"{name}: {steps.problem}", source)
        return
    shown = follow.display(script.path, scope.cwd)
    _shells(d, steps.shells, directory, scope, walker, f"{shown} recipe",
            f"{source} -> {shown}")
    for _shebang, body in steps.scripts:
        st = ScriptText(script.path, body)
        inner = scope.child()
        inner.cwd = directory
        follow.run_text(d, st, follow.language_of(st), [], inner, walker, level,
                        f"{source} -> {shown}")


# -- Python: pip install, pytest, python -m ---------------------------------------------------

def pip(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope,
        stdin: Output | None, inputs: Sequence[Arg], walker: Walker, level: int,
        source: str) -> None:
    texts = [a.text for a in args]
    if "install" not in texts:
        return
    rest = args[texts.index("install") + 1:]
    for k, a in enumerate(rest):
        t = a.text
        if t in ("-e", "--editable") and k + 1 < len(rest):
            candidate = rest[k + 1]
        elif t.startswith("--editable="):
            candidate = Arg(t.split("=", 1)[1], a.static)
        elif not t.startswith("-") and (t.startswith((".", "/", "~")) or "/" in t) and \
                "://" not in t and not t.endswith((".whl", ".txt")) and \
                (k == 0 or rest[k - 1].text not in ("-r", "--requirement", "-c",
                                                   "--constraint", "-e", "--editable")):
            candidate = a
        else:
            continue
        if not candidate.static:
            continue
        directory = resolve(candidate.text.split("[", 1)[0], scope.cwd, d.state.home)
        if directory is None:
            continue
        setup = os.path.join(directory, "setup.py")
        follow.run_file(d, Arg(setup), "python", [], scope, walker, level,
                        f"{source} (runs setup.py)")


def pytest(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope,
           stdin: Output | None, inputs: Sequence[Arg], walker: Walker,
           level: int, source: str) -> None:
    """pytest imports every conftest.py on the way to the tests it collects."""
    if scope.cwd is None or any(a.text in ("--version", "-V", "-h", "--help") for a in args):
        return
    paths = [a.text for a in args if a.static and not a.text.startswith("-")]
    roots = [resolve(p.split("::", 1)[0], scope.cwd, d.state.home) for p in paths] or [scope.cwd]
    seen: set[str] = set()
    for conftest in _conftests(scope.cwd, [r for r in roots if r]):
        if conftest in seen:
            continue
        seen.add(conftest)
        follow.run_file(d, Arg(conftest), "python", [], scope, walker, level,
                        f"{source} (loads conftest.py)")


_SKIP_DIRS = frozenset({"node_modules", "venv", "__pycache__", "build", "dist",
                        "site-packages"})
_MAX_DIRS = 400


def _conftests(cwd: str, roots: list[str]) -> list[str]:
    """conftest.py files pytest would load: in the directories from the working directory down
    to each path named, and below each directory it collects (bounded)."""
    found: list[str] = []
    for root in roots:
        # the chain from cwd down to the root
        cur = os.path.dirname(root) if os.path.isfile(root) else root
        chain = []
        while cur.startswith(cwd) and len(chain) < 32:
            chain.append(cur)
            if cur == cwd:
                break
            cur = os.path.dirname(cur)
        for directory in reversed(chain):
            c = os.path.join(directory, "conftest.py")
            if os.path.isfile(c):
                found.append(c)
        if os.path.isdir(root):
            for visited, (dirpath, dirnames, filenames) in enumerate(os.walk(root)):
                if visited >= _MAX_DIRS:
                    break
                dirnames[:] = sorted(n for n in dirnames if n not in _SKIP_DIRS and
                                     not n.startswith("."))
                if "conftest.py" in filenames:
                    found.append(os.path.join(dirpath, "conftest.py"))
    return found


def python_module(d: Dispatcher, module: str, args: Sequence[Arg], scope: Scope,
                  walker: Walker, level: int, source: str) -> None:
    """`python -m X`: pytest and pip as above; a module of the workspace is read as a script."""
    texts = [a.text for a in args]
    after = list(args[texts.index(module) + 1:]) if module in texts else []
    if module in ("pytest", "py.test"):
        pytest(d, module, after, scope, None, (), walker, level, source)
        return
    if module == "pip":
        pip(d, module, after, scope, None, (), walker, level, source)
        return
    if scope.cwd is None or not module.replace(".", "").replace("_", "").isalnum():
        return
    base = os.path.join(scope.cwd, *module.split("."))
    for candidate in (base + ".py", os.path.join(base, "__main__.py")):
        if os.path.isfile(candidate) or candidate in d.state.written:
            follow.run_file(d, Arg(candidate), "python", after, scope, walker, level, source)
            return


RUNNERS: dict[str, Runner] = {
    "make": make, "gmake": make,
    "npm": _npm_like, "pnpm": _npm_like, "yarn": _npm_like, "bun": _npm_like,
    "just": _task_runner, "task": _task_runner, "go-task": _task_runner,
    "pip": pip, "pip3": pip, "pytest": pytest, "py.test": pytest,
    **PAYLOAD_RUNNERS,
    **CONSOLE_RUNNERS,
}


def _task_runners() -> None:
    from safehold.analysis.scripts.rake_invoke import TASK_RUNNERS

    RUNNERS.update(TASK_RUNNERS)


_task_runners()
