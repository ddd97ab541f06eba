"""Judge editor-tool writes by where they land, not by what they say.

Input is `{"changes": [{"op": "write" | "edit" | "delete", "path": "/abs/or/relative"}]}`; the
workspace root comes from the action option `workspace`, else the action's cwd. Three places make
a write more than routine: a database file (its data replaced by text), the internals of a git
repository (refs, objects, hooks: history corrupted or a hook planted), and anywhere outside the
workspace (dotfiles, other projects, system files). Everything else is an ordinary write.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from safehold.analysis.interface import AnalysisContext, Analyzer
from safehold.catalog.pathdata import load_path_data
from safehold.model import Effect, Facts, Finding, Operation, Target

_SQLITE_SIDECARS = ("-wal", "-shm", "-journal")
_OPS = {"write", "edit", "delete", "create", "move"}


class FileAnalyzer(Analyzer):
    kind = "file"

    def analyze(self, input: Any, options: Mapping[str, str], ctx: AnalysisContext) -> Facts:
        changes = input.get("changes") if isinstance(input, Mapping) else None
        if not isinstance(changes, list) or not changes:
            return _unknown("not-understood", "file change without a list of changes to judge")
        workspace = options.get("workspace") or ctx.cwd
        ops: list[Operation] = []
        unknowns: list[Finding] = []
        for change in changes:
            path = change.get("path") if isinstance(change, Mapping) else None
            op = change.get("op", "write") if isinstance(change, Mapping) else None
            if not isinstance(path, str) or not path.strip() or op not in _OPS:
                unknowns.append(Finding("file:not-understood", f"unreadable change {change!r}"))
                continue
            ops.append(judge(path, str(op), workspace=workspace, cwd=ctx.cwd, tmpdir=ctx.tmpdir,
                             home=ctx.home))
        return Facts(kind="file", operations=tuple(ops), unknowns=tuple(unknowns))


def judge(path: str, op: str, *, workspace: str, cwd: str, tmpdir: str = "/tmp",
          home: str | None = None) -> Operation:
    """The one operation a single change amounts to."""
    full = _resolve(path, cwd)
    root = _resolve(workspace, cwd)
    target = (Target("path", full),)
    verb = "deletes" if op == "delete" else "writes"
    if load_path_data().guard_re(home or os.path.expanduser("~")).match(full):
        return Operation(
            "safehold:guard-path",
            Effect.DESTRUCTIVE,
            f"{verb} {full}: safehold's own configuration, policy, data or an agent's hook "
            "installation, which would switch the guard off",
            source=path,
            targets=target,
            suggestion="ask the user to make this change themselves",
        )
    parts = full.split(os.sep)
    if ".git" in parts[:-1] or (parts[-1] == ".git" and op == "delete"):
        return Operation(
            "file:git-internals",
            Effect.DESTRUCTIVE,
            f"{verb} {full} inside a repository's .git internals (refs, objects, config, hooks)",
            source=path,
            targets=target,
            suggestion="change history with git commands (commit, revert), not by editing .git",
        )
    if _is_database(full):
        return Operation(
            "file:database-file",
            Effect.DESTRUCTIVE,
            f"{verb} {full}, a database file: the data it holds would be replaced",
            source=path,
            targets=target,
            suggestion="change the data through the database (SQL, a migration), not its file",
        )
    if not (_inside(full, root) or _inside(full, _resolve(tmpdir, cwd))):
        return Operation(
            "file:outside-workspace",
            Effect.DESTRUCTIVE,
            f"{verb} {full}, outside the workspace {root}",
            source=path,
            targets=target,
            suggestion=f"keep changes inside {root}; ask the user to make changes elsewhere",
        )
    return Operation(
        "file:delete" if op == "delete" else "file:write",
        Effect.WRITE,
        f"{verb} {full} inside the workspace",
        source=path,
        targets=target,
    )


def _resolve(path: str, cwd: str) -> str:
    expanded = os.path.expanduser(path)
    if not os.path.isabs(expanded):
        expanded = os.path.join(cwd, expanded)
    return os.path.realpath(expanded)


def _inside(path: str, root: str) -> bool:
    root = root.rstrip(os.sep) or os.sep
    return path == root or path.startswith(root + os.sep) or root == os.sep


def _is_database(path: str) -> bool:
    name = os.path.basename(path).lower()
    stem = name
    for sidecar in _SQLITE_SIDECARS:
        if name.endswith(sidecar):
            stem = name[: -len(sidecar)]
    if load_path_data().database_re.match(stem):  # the names in paths.yaml: database_names
        return True
    directory = os.path.dirname(path)
    for _ in range(4):  # a PostgreSQL cluster keeps PG_VERSION a few levels above its files
        if os.path.exists(os.path.join(directory, "PG_VERSION")):
            return True
        directory = os.path.dirname(directory)
    return _has_sqlite_header(path)


def _has_sqlite_header(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _unknown(rule: str, reason: str) -> Facts:
    return Facts(kind="file", unknowns=(Finding(f"file:{rule}", reason),))
