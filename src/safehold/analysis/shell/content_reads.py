"""Reads whose output is history or a whole tree, judged by what they would print.

`git show REV:path` prints a file as it was; `git log -p` / `git show` print the changes of
past commits; `grep -r PATTERN DIR` prints the lines of every file below DIR that match. A
credential committed and later removed, or sitting in any file of the tree, is handed to the
agent by these commands whatever they are called, so what they would print is scanned for
live-format credentials (`scan/detect.py`), like a single file read is (`scan/judge.py`).

The agent's own arguments are never run: history is read with a fixed, read-only `git`
invocation (no pager, no external diff or text conversion programs, bounded commits, bytes and
time), trees through the scan cache (bounded files). History that cannot be read in time is
unknown, and so is a tree outside the working directory larger than the bound; inside it, the
first MAX_FILES files are checked and `safehold scan` sweeps the rest.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from safehold.analysis.shell.words import Arg, Scope
from safehold.scan.detect import Secret, find
from safehold.scan.workspace import CACHE, SKIP_DIRS

if TYPE_CHECKING:
    from safehold.analysis.shell.state import State

MAX_BYTES = 2 * 1024 * 1024
MAX_COMMITS = 200
MAX_FILES = 300
MAX_DIRS = 200
#: Seconds a tree search may spend reading files, well inside the analysis's own budget.
TREE_SECONDS = 0.5
TIMEOUT = 2.0
FINDING = "cred:file-content"
_GIT_SAFE = ["-c", "core.pager=cat", "-c", "diff.external=", "-c", "core.fsmonitor=",
             "--no-pager"]
_cache: OrderedDict[tuple[str, ...], tuple[Secret, ...] | None] = OrderedDict()


def _git(cwd: str, argv: list[str]) -> str | None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0")
    try:
        proc = subprocess.run(["git", *_GIT_SAFE, "-C", cwd, *argv], capture_output=True,
                              timeout=TIMEOUT, env=env, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return ""
    return proc.stdout[:MAX_BYTES].decode("utf-8", "replace")


def _head(cwd: str) -> str | None:
    """The newest commit; "" outside a repository (the command prints nothing), None when git
    could not be asked."""
    out = _git(cwd, ["rev-parse", "HEAD"])
    return None if out is None else out.strip()


def _remember(key: tuple[str, ...], found: tuple[Secret, ...] | None) -> None:
    _cache[key] = found
    _cache.move_to_end(key)
    while len(_cache) > 64:
        _cache.popitem(last=False)


def _history(cwd: str) -> tuple[Secret, ...] | None:
    """Credentials in the changes of the newest commits (None: history could not be read)."""
    head = _head(cwd)
    if not head:
        return None if head is None else ()
    key = ("log", cwd, head)
    if key in _cache:
        return _cache[key]
    text = _git(cwd, ["log", "-p", "--all", f"--max-count={MAX_COMMITS}", "--no-ext-diff",
                      "--no-textconv", "--no-color", "--format=%H"])
    found = None if text is None else tuple(find(text))
    _remember(key, found)
    return found


def _commit(cwd: str, rev: str) -> tuple[Secret, ...] | None:
    """Credentials in the changes one commit made, as `git show REV` prints them."""
    head = _head(cwd)
    if not head:
        return None if head is None else ()
    key = ("commit", cwd, head, rev)
    if key in _cache:
        return _cache[key]
    text = _git(cwd, ["show", "--no-ext-diff", "--no-textconv", "--no-color", "--format=%H",
                      "--end-of-options", rev])
    found = None if text is None else tuple(find(text))
    _remember(key, found)
    return found


def _blob(cwd: str, spec: str) -> tuple[Secret, ...] | None:
    """Credentials in `REV:path` as git would print it."""
    head = _head(cwd)
    if not head:
        return None if head is None else ()
    key = ("show", cwd, head, spec)
    if key in _cache:
        return _cache[key]
    text = _git(cwd, ["cat-file", "-p", spec])
    found = None if text is None else tuple(find(text, os.path.basename(spec.split(":", 1)[1])))
    _remember(key, found)
    return found


def check_git(state: State, args: Sequence[Arg], scope: Scope, source: str) -> None:
    """`git show REV:path`, `git log -p`, `git show [REV]`, `git log -S/-G`: history's content."""
    texts = [a.text for a in args if a.static]
    if not texts or scope.cwd is None:
        return
    i = 0
    while i < len(texts) and texts[i].startswith("-"):  # git's own options: -C DIR, -c K=V
        i += 2 if texts[i] in ("-C", "-c") else 1
    cwd = scope.cwd
    if i >= len(texts):
        return
    verb, rest = texts[i], texts[i + 1:]
    specs = [t for t in rest if ":" in t and not t.startswith("-") and "://" not in t]
    if verb == "show":
        for spec in specs:
            _report(state, _blob(cwd, spec), f"git show {spec} prints a file", source)
        revs = [t for t in rest if not t.startswith("-") and ":" not in t] or ([] if specs
                                                                           else ["HEAD"])
        for rev in revs[:4]:
            _report(state, _commit(cwd, rev), f"git show {rev} prints a commit's changes",
                    source)
        return
    patch = verb in ("log", "whatchanged") and any(
        t in ("-p", "-u", "--patch") or t.startswith(("-S", "-G")) for t in rest)
    if patch:
        found = _history(cwd)
        _report(state, found, f"git {verb} prints past changes of this repository", source)


def check_tree_search(state: State, name: str, args: Sequence[Arg], scope: Scope,
                      source: str) -> None:
    """`grep -r PATTERN DIR` (and rg, ag, ack, which always recurse): the lines it would print
    from files that hold a live credential."""
    texts = [a.text for a in args if a.static]
    flags = [t for t in texts if t.startswith("-")]
    recursive = name in ("rg", "ag", "ack") or any(
        t in ("-r", "-R", "--recursive", "--dereference-recursive")
        or (not t.startswith("--") and ("r" in t[1:] or "R" in t[1:])) for t in flags)
    words = [t for t in texts if not t.startswith("-")]
    if not recursive or not words:
        return
    pattern, roots = words[0], words[1:] or ["."]
    nocase = any(t in ("-i", "--ignore-case") or (not t.startswith("--") and "i" in t[1:])
                 for t in flags)
    try:
        matcher = re.compile(pattern, re.IGNORECASE if nocase else 0)
    except re.error:
        matcher = None  # a pattern Python cannot read may match anything
    for root in roots:
        path = state.paths.resolve(root, scope.cwd)
        if path is None or not os.path.isdir(path):
            continue
        hit = _tree_hit(Path(path), matcher, state)
        inside = scope.cwd is not None and (path == scope.cwd
                                            or path.startswith(scope.cwd.rstrip("/") + "/"))
        if hit is None and not inside:  # a large workspace is `safehold scan`'s to sweep
            state.unknown("shell:script-not-followed", f"{name} searches more files under "
                          f"{root} than can be checked for credentials", source)
        elif hit:
            state.credential(FINDING, f"{name} prints matching lines of {hit[0]}, which holds "
                             f"a live credential ({hit[1]})", source)


def _tree_hit(root: Path, matcher: re.Pattern[str] | None, state: State
              ) -> tuple[str, str] | tuple[()] | None:
    """(file, what) of the first credential a search could print; () for none; None when the
    tree is larger than is checked (files, directories, or the analysis's time)."""
    seen = 0
    deadline = time.monotonic() + TREE_SECONDS
    for walked, (dirpath, dirnames, filenames) in enumerate(os.walk(root)):
        if walked >= MAX_DIRS or state.expired() or time.monotonic() > deadline:
            return None
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for fname in sorted(filenames):
            seen += 1
            if seen > MAX_FILES or time.monotonic() > deadline:
                return None
            p = Path(dirpath) / fname
            if p.is_symlink():
                continue
            for secret in CACHE.secrets_in(p) or ():
                line = _line(p, secret.line)
                if matcher is None or line is None or matcher.search(line):
                    return (str(p.relative_to(root)) or fname, secret.describe())
    return ()


def _line(path: Path, number: int) -> str | None:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as f:
            for k, text in enumerate(f, start=1):
                if k == number:
                    return text
    except OSError:
        return None
    return None


def _report(state: State, found: tuple[Secret, ...] | None, what: str, source: str) -> None:
    if found is None:
        state.unknown("shell:script-not-followed", f"{what}, which could not be read in time "
                      "to check it for credentials", source)
    elif found:
        state.credential(FINDING, f"{what} that holds a live credential "
                         f"({found[0].describe()})", source)
