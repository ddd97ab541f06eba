"""Credential access as a fact of its own: secret files read, environments dumped, secrets hunted.

Which files hold credentials and which words a hunt looks for are data
(`catalog/data/credentials.yaml`); dumps such as `printenv` and `aws configure get` are catalog
entries of the `cred` family. This module applies the file patterns to every path a command
reads and recognises searches for secrets outside the working directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from safehold.analysis.shell.words import Arg, Scope
from safehold.scan.judge import judge_read

if TYPE_CHECKING:
    from safehold.analysis.shell.state import State

_DESTINATION_LAST = frozenset({"cp", "install", "ln", "tee"})
_SEARCH_SCOPES = frozenset({"outside", "critical", "protected"})
#: searches that walk the working directory when no path is given (grep only with -r)
_WALK_BY_DEFAULT = frozenset({"rg", "ag", "ack", "fd", "find"})


def _candidates(name: str, args: Sequence[Arg]) -> list[str]:
    out = []
    positional = [a for a in args if a.static and not a.text.startswith("-")]
    if name in _DESTINATION_LAST and len(positional) > 1:
        positional = positional[:-1]
    if name == "tee":
        positional = []
    for a in positional:
        out.append(a.text)
    for a in args:
        opt, eq, val = a.text.partition("=")
        if a.static and opt.startswith("-") and eq and val:
            out.append(val)
    return out


def check_paths(state: State, name: str, args: Sequence[Arg], scope: Scope, source: str) -> None:
    """A credential finding for each argument that names a credential file."""
    data = state.credentials
    if name in data.metadata_commands:
        return
    for text in _candidates(name, args):
        path = state.paths.resolve(text, scope.cwd)
        if path is None:
            continue
        judged = judge_read(path, data.match(path, state.home))
        if judged:
            state.credential(judged[0], f"{name} reads {text}, which {judged[1]}", source)


def check_inputs(state: State, inputs: Sequence[Arg], scope: Scope, source: str) -> None:
    for a in inputs:
        path = state.paths.resolve(a.text, scope.cwd) if a.static else None
        if path is None:
            continue
        judged = judge_read(path, state.credentials.match(path, state.home))
        if judged:
            state.credential(judged[0], f"input is read from {a.text}, which {judged[1]}",
                             source)


def check_search(state: State, name: str, args: Sequence[Arg], scope: Scope, source: str) -> None:
    """`grep -r token ~`, `find / -name '*.pem'`: looking for secrets beyond the workspace."""
    data = state.credentials
    if name not in data.search_commands:
        return
    texts = [a.text for a in args if a.static]
    if not any(data.search_words.search(t) for t in texts):
        return
    paths = [t for t in texts if not t.startswith("-") and not data.search_words.search(t)]
    if not paths and scope.cwd and _searches_cwd(name, texts):
        paths = ["."]  # `rg token`, `grep -r token`: the working directory, as `.` would be
    for t in paths:
        cls, _ = state.paths.classify(t, scope.cwd, workspace=scope.workspace)
        if cls in _SEARCH_SCOPES:
            state.credential("cred:secret-search",
                             f"{name} searches {t} for credentials (token, secret, key…)", source)
            return


def _searches_cwd(name: str, texts: Sequence[str]) -> bool:
    """Whether a search given no path searches the working directory (rather than stdin)."""
    if name in _WALK_BY_DEFAULT:
        return True
    return any(t in ("--recursive", "--dereference-recursive")
               or (t.startswith("-") and not t.startswith("--") and ("r" in t or "R" in t))
               for t in texts)
