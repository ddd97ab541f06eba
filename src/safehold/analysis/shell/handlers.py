"""Commands the shell analyser handles itself, because what they do is shell semantics.

`echo`/`printf` print known text (so `echo … | sh` can be read), `cd` moves the working
directory paths are resolved against, `read` makes variables unknown, `eval`/`source`/`trap` run
shell code, and xargs / parallel / find run command templates. Each handler gets the dispatcher
and returns what the command prints, when that can be known.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from safehold.analysis.scripts import follow
from safehold.analysis.shell import decode, templates
from safehold.analysis.shell.words import Arg, Output, Scope

if TYPE_CHECKING:
    from safehold.analysis.shell.dispatch import Dispatcher
    from safehold.analysis.shell.walk import Walker

#: Programs that fetch from the network: code read from them is code nobody has seen.
NETWORK = frozenset({"curl", "wget", "http", "https", "xh", "xhs", "fetch", "aria2c", "lynx",
                     "links", "nc", "ncat", "socat", "ftp", "tftp"})


def _echo(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope, stdin: Output | None,
          walker: Walker, inputs: Sequence[Arg], level: int, source: str) -> Output:
    if not all(a.static for a in args):
        return Output(None, (name,))
    if name == "printf":
        words = [a.text for a in args]
        if words[:1] == ["--"]:
            words = words[1:]
        if not words or words[0].startswith("-"):
            return Output(None, (name,))
        text = decode.printf(words[0], words[1:])
        return Output(text) if text is not None else Output(None, (name,))
    words = [a.text for a in args]
    newline, interpret = True, False
    while words and re.fullmatch(r"-[neE]+", words[0]):
        newline = newline and "n" not in words[0]
        interpret = "e" in words[0] if "e" in words[0] or "E" in words[0] else interpret
        words.pop(0)
    text = " ".join(words)
    if interpret:
        decoded = decode.escapes(text, octal_needs_zero=True)
        if decoded is None:
            return Output(None, (name,))
        text = decoded
    return Output(text + ("\n" if newline else ""))


def _cat(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope, stdin: Output | None,
         walker: Walker, inputs: Sequence[Arg], level: int, source: str) -> Output:
    files = [a for a in args if not a.text.startswith("-") or a.text == "-"]
    if not files or [a.text for a in files] == ["-"]:
        return stdin if stdin is not None else Output(None, (name,))
    return Output(None, (name,))


def _cd(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope, stdin: Output | None,
        walker: Walker, inputs: Sequence[Arg], level: int, source: str) -> Output:
    targets = [a for a in args if not a.text.startswith("-") or a.text == "-"]
    if name == "popd" or (targets and targets[0].text == "-"):
        scope.cwd = None
    elif not targets:
        scope.cwd = d.state.home
    else:
        scope.cwd = d.state.paths.resolve(targets[0].text, scope.cwd)
    return Output()


def _read(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope, stdin: Output | None,
          walker: Walker, inputs: Sequence[Arg], level: int, source: str) -> Output:
    for a in args:
        if not a.text.startswith("-") and a.text.replace("_", "a").isalnum():
            scope.env[a.text] = None
    return Output()


def _eval(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope, stdin: Output | None,
          walker: Walker, inputs: Sequence[Arg], level: int, source: str) -> Output:
    if not args:
        return Output()
    text = Arg(" ".join(a.text for a in args), all(a.static for a in args), False,
               tuple(s for a in args for s in a.sources))
    return d.shell_string(text, scope, stdin, walker, "eval", source, new_process=False)


def _source(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope, stdin: Output | None,
            walker: Walker, inputs: Sequence[Arg], level: int, source: str) -> Output:
    files = [a for a in args if not a.text.startswith("-")]
    if any(a.text == "-p" for a in args):
        d.state.unknown("shell:opaque-string", f"{name} -p searches a path chosen at run time",
                        source)
        return Output()
    if not files:
        return Output()
    f = files[0]
    if f.procsub or f.text in ("/dev/stdin", "/dev/fd/0"):
        producers = f.sources if f.procsub else (stdin.producers if stdin else ())
        if any(p in NETWORK for p in producers):
            d.construct("source-remote", source)
        d.state.unknown("shell:opaque-string", f"{name} runs commands only known at run time",
                        source)
    elif not f.static:
        d.state.unknown("shell:opaque-string", f"{name} runs a file whose name is only known at "
                        "run time", source)
    else:
        follow.run_file(d, f, "shell", files[1:], scope, walker, level, source,
                        same_process=True)
    return Output()


def _xargs(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope, stdin: Output | None,
           walker: Walker, inputs: Sequence[Arg], level: int, source: str) -> Output:
    plan = templates.xargs(args, stdin) if name == "xargs" else templates.parallel(args, stdin)
    for argv in plan.argvs:
        if argv:
            d.run(argv, scope.child(), None, walker, level=level + 1)
    for sh in plan.shells:
        d.shell_string(sh, scope.child(), None, walker, name, source)
    return Output(None, (name,))


def _find(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope, stdin: Output | None,
          walker: Walker, inputs: Sequence[Arg], level: int, source: str) -> Output:
    plan = templates.find(args)
    if plan.dynamic_expression and (plan.delete or plan.execs):
        d.state.unknown("shell:find-dynamic", "find's expression contains values only known at "
                        "run time", source)
    if plan.delete:
        for entry in d.state.catalog.construct("find-delete"):
            d.emit_paths(entry, plan.targets(), scope, source)
    for line in templates.exec_lines(plan):
        if line:
            d.run(line, scope.child(), None, walker, level=level + 1)
    for target in plan.written:
        for entry in d.state.catalog.construct("redirect-truncate"):
            d.emit_paths(entry, [(target, False)], scope, source)
    if plan.delete or plan.execs or plan.dynamic_expression or plan.follows_links:
        return Output(None, (name,))
    return Output(None, (name,), tuple(target for target, _ in plan.targets()))


def _mktemp(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope, stdin: Output | None,
            walker: Walker, inputs: Sequence[Arg], level: int, source: str) -> Output:
    """mktemp prints a fresh path it just created: under the temp directory unless a template
    without -t/-p/--tmpdir names another place."""
    base: str | None = None
    template: Arg | None = None
    i = 0
    while i < len(args):
        t = args[i].text
        if t in ("-p", "--tmpdir") and i + 1 < len(args):
            base = args[i + 1].text if args[i + 1].static else None
            if base is None:
                return Output(None, (name,))
            i += 2
            continue
        if t.startswith("--tmpdir=") or (t.startswith("-p") and len(t) > 2):
            base = t.split("=", 1)[1] if "=" in t else t[2:]
        elif t == "-t" or t == "--tmpdir":
            base = base or d.state.ctx.tmpdir
        elif not t.startswith("-"):
            template = args[i]
        i += 1
    if template is not None and not template.static:
        return Output(None, (name,))
    leaf = (template.text.rsplit("/", 1)[-1] if template else "tmp.XXXXXXXXXX") or "tmp"
    if template is not None and base is None:
        return Output(template.text + "\n")
    return Output(f"{(base or d.state.ctx.tmpdir).rstrip('/')}/{leaf}\n")


def _trap(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope, stdin: Output | None,
          walker: Walker, inputs: Sequence[Arg], level: int, source: str) -> Output:
    words = [a for a in args if a.text not in ("--",)]
    if not words or words[0].text.startswith("-") or len(words) < 2:
        return Output()
    return d.shell_string(words[0], scope.child(), None, walker, "trap", source,
                          new_process=False)


def _path_of(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope, stdin: Output | None,
             walker: Walker, inputs: Sequence[Arg], level: int, source: str) -> Output:
    """dirname / basename / realpath print a path computed from their argument, so
    `cd "$(dirname "$0")"` moves to a known directory when the argument is known."""
    words = [a for a in args if not a.text.startswith("-")]
    if len(words) != 1 or not words[0].static or len(words) != len(args):
        return Output(None, (name,))
    text = words[0].text
    if name == "dirname":
        out = posixpath.dirname(text.rstrip("/") or "/") or "."
    elif name == "basename":
        out = posixpath.basename(text.rstrip("/")) or "/"
    else:
        resolved = d.state.paths.resolve(text, scope.cwd)
        if resolved is None:
            return Output(None, (name,))
        out = resolved
    return Output(out + "\n")


Handler = Callable[["Dispatcher", str, Sequence[Arg], Scope, "Output | None", "Walker",
                    Sequence[Arg], int, str], "Output | None"]

HANDLERS: dict[str, Handler] = {
    "trap": _trap,
    "mktemp": _mktemp,
    "dirname": _path_of, "basename": _path_of, "realpath": _path_of,
    "echo": _echo, "printf": _echo, "cat": _cat, "cd": _cd, "pushd": _cd, "popd": _cd,
    "read": _read, "mapfile": _read, "readarray": _read, "eval": _eval, "source": _source,
    ".": _source, "xargs": _xargs, "parallel": _xargs, "find": _find,
}
