"""Remember the files a command line writes, so a later part of it reads what was written.

`cat > x.sh <<'EOF' … EOF; bash x.sh` runs the here-doc, not whatever `x.sh` held before.
Recorded: redirections (`>` replaces, `>>` appends) with what the command printed when that is
known, `tee`, `cp`/`mv` from a file whose text is known, and `npm pkg set scripts.<name>=…`.
Whatever else writes a file a later step may run (a download, `sed -i`) records it as written
with content only known at run time, so running it afterwards is not judged by stale text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from safehold.analysis.scripts.files import read_script, resolve
from safehold.analysis.shell.normalize import command_name
from safehold.analysis.shell.paths import DYN, DYN_TEXT
from safehold.analysis.shell.words import Arg, Output, Scope

if TYPE_CHECKING:
    from safehold.analysis.shell.state import State

#: Programs that write a file named by an option: (option names, program).
_OUTPUT_OPTS = {"curl": ("-o", "--output"), "wget": ("-O", "--output-document")}
_IN_PLACE = {"sed": ("-i", "--in-place"), "perl": ("-i", "-pi", "-pie")}
_MAX_WRITTEN = 64
#: Programs whose arguments name a file they write (besides redirections).
_WRITERS = frozenset({"tee", "cp", "mv", "install", "ln", "npm", "pnpm", *_OUTPUT_OPTS,
                      *_IN_PLACE})


def _put(state: State, path: str | None, content: str | None, append: bool = False) -> None:
    if path is None:
        return
    if len(state.written) >= _MAX_WRITTEN and path not in state.written:
        return
    if append:
        before = state.written[path] if path in state.written else read_script(path, {}).text
        content = None if before is None or content is None else before + content
    state.written[path] = content


def record(state: State, argv: Sequence[Arg], outputs: Sequence[tuple[Arg, bool]],
           out: Output, stdin: Output | None, scope: Scope) -> None:
    """Record what one simple command (its argv and redirections) leaves in files."""
    if not outputs and (not argv or command_name(argv[0].text) not in _WRITERS):
        return
    home = state.home
    for target, truncates in outputs:
        if target.procsub or target.text in ("/dev/null", "/dev/stdout", "/dev/stderr"):
            continue
        text = out.text.replace(DYN_TEXT, DYN) if out.text is not None else None
        _put(state, resolve(target.text, scope.cwd, home) if target.static else None,
             None if text is None or DYN in text else text, append=not truncates)
    if not argv or not argv[0].static:
        return
    name = command_name(argv[0].text)
    args = [a for a in argv[1:]]
    texts = [a.text for a in args]
    if name == "tee":
        content = stdin.text if stdin is not None else None
        append = any(t in ("-a", "--append") for t in texts)
        for a in args:
            if not a.text.startswith("-") and a.static:
                _put(state, resolve(a.text, scope.cwd, home), content, append)
    elif name in ("cp", "mv", "install", "ln") and len(args) >= 2:
        files = [a for a in args if not a.text.startswith("-")]
        if len(files) == 2 and all(f.static for f in files):
            src = resolve(files[0].text, scope.cwd, home)
            known = read_script(src, state.written).text if src else None
            _put(state, resolve(files[1].text, scope.cwd, home), known)
    elif name in _OUTPUT_OPTS:
        opts = _OUTPUT_OPTS[name]
        for i, t in enumerate(texts[:-1]):
            if t in opts and args[i + 1].static:
                _put(state, resolve(texts[i + 1], scope.cwd, home), None)
    elif name in _IN_PLACE and any(t.startswith(_IN_PLACE[name]) for t in texts):
        for a in args[1:]:
            if a.static and not a.text.startswith("-"):
                p = resolve(a.text, scope.cwd, home)
                if p is not None and (p in state.written or read_script(p, {}).text):
                    _put(state, p, None)
    elif name in ("npm", "pnpm") and texts[:2] == ["pkg", "set"]:
        _npm_pkg_set(state, args[2:], scope)


def _npm_pkg_set(state: State, args: Sequence[Arg], scope: Scope) -> None:
    path = resolve("package.json", scope.cwd, state.home)
    if path is None:
        return
    current = read_script(path, state.written).text
    try:
        data = json.loads(current) if current else {}
    except ValueError:
        data = None
    for a in args:
        key, eq, value = a.text.partition("=")
        if not eq or key.startswith("-"):
            continue
        if not a.static or data is None or not isinstance(data, dict):
            state.written[path] = None
            return
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value
    if data is not None:
        state.written[path] = json.dumps(data)
