"""Follow code a command runs from a file, and hand what it does to the right analyser.

`bash x.sh`, `./x.sh`, `python fix.py`, `node x.js`, a Makefile recipe or a package.json
script: the file is read from the action's working directory at decision time
(`files.read_script`, which sees files written earlier in the same command), and judged by what
it does — shell text by the shell analyser, Python by `python_code`, JavaScript/Ruby/Perl/PHP by
the interpreter tokenizer — exactly as if the agent had typed it. Effects found in code go
through `apply_effects`: commands back to the shell dispatcher, SQL to the SQL analyser, HTTP
requests to the HTTP analyser.

A script that cannot be read or followed is unknown only when it also reaches something that
matters (programs, the network, a database driver, deletion); code that only reads and
computes stays routine.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from safehold.analysis.scripts import cache
from safehold.analysis.scripts.effects import (
    REACH_DATABASE,
    REACH_NETWORK,
    CodeEffects,
    merge,
)
from safehold.analysis.scripts.files import ScriptText, read_script, resolve
from safehold.analysis.scripts.python_code import python_effects
from safehold.analysis.shell.paths import DYN, DYN_TEXT
from safehold.analysis.shell.words import Arg, Output, Scope
from safehold.model import Effect, Operation

if TYPE_CHECKING:
    from safehold.analysis.shell.dispatch import Dispatcher
    from safehold.analysis.shell.walk import Walker

#: How many local modules one Python script may pull in before the rest is not followed.
MAX_LOCAL_MODULES = 16
_SHEBANG = re.compile(r"^#!\s*(\S+)(?:\s+(?:-\S+\s+)*(\S+))?")
_EXT_LANG = {".py": "python", ".pyw": "python", ".js": "js", ".mjs": "js", ".cjs": "js",
             ".rb": "ruby", ".pl": "perl", ".php": "php", ".sh": "shell", ".bash": "shell",
             ".zsh": "shell", ".ksh": "shell"}
#: Directories of installed programs: running one is judged by its name in the catalog, not by
#: reading it.
_SYSTEM_PREFIXES = ("/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/", "/opt/", "/nix/",
                    "/snap/", "/etc/alternatives/")


#: Directories that hold installed third-party programs (`./node_modules/.bin/eslint`,
#: `.venv/bin/pytest`): run directly, they are judged by their name like any installed program.
_INSTALLED_DIRS = frozenset({"node_modules", "site-packages", ".venv", "venv", ".tox", ".nox"})


def language_of(script: ScriptText) -> str:
    """The language a file is run in when executed directly: its `#!` line, else its
    extension, else the shell (a file without `#!` is run by the shell)."""
    text = script.text or ""
    m = _SHEBANG.match(text)
    if m:
        prog = os.path.basename(m.group(1))
        if prog == "env" and m.group(2):
            prog = os.path.basename(m.group(2))
        from safehold.analysis.shell.interpreters import language

        lang = language(prog)
        if lang is not None:
            return lang
        return "shell"
    return _EXT_LANG.get(os.path.splitext(script.path)[1], "shell")


def display(path: str, cwd: str | None) -> str:
    if cwd and path.startswith(cwd.rstrip("/") + "/"):
        return path[len(cwd.rstrip("/")) + 1:]
    return path


def run_file(d: Dispatcher, path_arg: Arg, lang: str | None, args: Sequence[Arg],
             scope: Scope, walker: Walker, level: int, source: str, *,
             same_process: bool = False, direct: bool = False, stdin: Output | None = None,
             inputs: Sequence[Arg] = ()) -> Output:
    """Judge the script `path_arg` names as it will run: `lang` None = by its `#!` line;
    `direct` = executed as a program (`./x`), where a compiled program is not read."""
    st = d.state
    if not path_arg.static:
        return Output()  # the caller already reports a run-time script name
    path = resolve(path_arg.text, scope.cwd, st.home)
    if path is None:
        st.unknown("shell:script-not-followed", f"{path_arg.text} is run from a directory that "
                   "is not known before the command runs, so it cannot be read", source)
        return Output()
    if direct and path not in st.written and (path.startswith(_SYSTEM_PREFIXES) or any(
            part in _INSTALLED_DIRS for part in path.split("/"))):
        return Output()
    script = read_script(path, st.written)
    shown = display(path, scope.cwd)
    if script.missing or (direct and script.binary):
        return Output()
    if script.text is None:
        st.unknown("shell:script-not-followed", f"{shown} is run, but {script.problem}; what it "
                   "does cannot be known", source)
        return Output()
    if path in st.following:
        return Output()
    lang = lang or language_of(script)
    inner_source = f"{source} -> {shown}"

    def go() -> Output:
        st.following.add(path)
        try:
            return run_text(d, script, lang, args, scope, walker, level, inner_source,
                            same_process)
        finally:
            st.following.discard(path)

    from safehold.analysis.scripts.consoles import after_script

    after_script(d, path, args, scope, stdin, inputs, walker, level, source)
    if same_process or path in st.written or st.following:
        return go()  # `source` changes this shell's variables; nested runs share the outer key
    return cache.followed(st, lang, path, script.text, args, scope, inner_source, go,
                          Output(None, (lang,)))


def run_text(d: Dispatcher, script: ScriptText, lang: str, args: Sequence[Arg], scope: Scope,
             walker: Walker, level: int, source: str, same_process: bool = False) -> Output:
    """Judge the text of one script in `lang` ('shell', 'python', 'js', …)."""
    text = script.text or ""
    if lang == "shell":
        inner = scope if same_process else scope.child()
        if not same_process:
            inner.env["0"] = script.path
        for k, a in enumerate(args[:9], start=1):
            inner.env[str(k)] = a.text if a.static else None
        return d.shell_string(Arg(text), inner, None, walker, source, source,
                              new_process=not same_process)
    if lang == "python":
        fx = python_effects(text, d.state.ctx.tmpdir)
        _local_modules(fx, script.path, scope.cwd, d.state.ctx.tmpdir)
    else:
        from safehold.analysis.shell.interpreters import script_effects

        fx = script_effects(text, lang)
    apply_effects(d, fx, lang, scope, walker, level, source, script=True)
    return Output(None, (lang,))


def _local_modules(fx: CodeEffects, path: str, cwd: str | None, tmpdir: str) -> None:
    """Merge the effects of the script's own modules (`import helpers` next to it)."""
    seen: set[str] = set()
    queue = sorted(fx.imports)
    dirs = [os.path.dirname(path)] + ([cwd] if cwd else [])
    loaded = 0
    while queue and loaded < MAX_LOCAL_MODULES:
        name = queue.pop(0)
        if name in seen:
            continue
        seen.add(name)
        for base in dirs:
            found = next((c for c in (os.path.join(base, name + ".py"),
                                      os.path.join(base, name, "__init__.py"))
                          if os.path.isfile(c)), None)
            if found is None:
                continue
            module = read_script(found, {})
            if module.text is None:
                if module.problem:
                    fx.unknowns.append(f"module {name} is imported, but {module.problem}")
                break
            loaded += 1
            sub = python_effects(module.text, tmpdir)
            queue += sorted(sub.imports - seen)
            merge(fx, sub)
            break


def apply_effects(d: Dispatcher, fx: CodeEffects, who: str, scope: Scope, walker: Walker,
                  level: int, source: str, script: bool = False) -> None:
    """Hand each effect found in code to its analyser. In a script (not a one-liner), what
    could not be followed only counts when the code reaches something that matters."""
    st = d.state
    fx.argvs = [[a.replace(DYN_TEXT, DYN) for a in argv] for argv in fx.argvs]
    fx.deletes = [(p.replace(DYN_TEXT, DYN), r) for p, r in fx.deletes]
    if not script or fx.reaches:
        reach = f" (the code {', '.join(sorted(fx.reaches))})" if script else ""
        for reason in fx.unknowns:
            st.unknown("shell:opaque-code", reason + reach, source)
    elif fx.unknowns:  # routine on its own; a session that was just refused asks (sessions.py)
        st.code_fact("code:partly-followed", f"{who} code is followed only in part: "
                     f"{fx.unknowns[0]}", source)
    for reach, ident in ((REACH_NETWORK, "code:network"), (REACH_DATABASE, "code:database")):
        if reach in fx.reaches:
            st.code_fact(ident, f"{who} code {reach}", source)
    for text in fx.shells:
        walker.run_text(text, scope.child(), None, source=f"{who} code")
    for argv in fx.argvs:
        if argv:
            d.run([Arg(a, DYN not in a) for a in argv], scope.child(), None, walker,
                  level=level + 1)
    for path in (p.replace(DYN_TEXT, DYN) for p in fx.writes):
        d.run([Arg("tee"), Arg("-a"), Arg(path)], scope, None, walker, level=level + 1)
    d.guard_paths([Arg(p.replace(DYN_TEXT, DYN)) for p in fx.opens], scope, source)
    for path in fx.reads:  # judged as the read it is: `cat PATH`
        d.run([Arg("cat"), Arg(path.replace(DYN_TEXT, DYN), DYN not in path)],
              scope, None, walker, level=level + 1)
    for path, recursive in fx.deletes:
        flags = "-rf" if recursive else "-f"
        d.run([Arg("rm"), Arg(flags), Arg(path, DYN not in path,
                                          any(c in path for c in "*?["))],
              scope, None, walker, level=level + 1)
    for dialect, sql in fx.sql:
        if sql.strip():
            st.embedded.append(st.ctx.embedded("sql", sql, {"dialect": dialect}, source))
    for request in fx.http:
        st.embedded.append(st.ctx.embedded("http", request, {}, source))
    for ident, effect, reason, suggestion in fx.orm:
        st.operation(Operation(ident, Effect.parse(effect), reason, source,
                               suggestion=suggestion or None))
