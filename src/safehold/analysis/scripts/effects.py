"""What a piece of program code was found to do, in one shape for every language.

The Python reader (`python_code.py`), the tokenizer for JavaScript, Ruby, Perl, PHP and awk
(`analysis/shell/interpreters.py`) and the script followers all fill a `CodeEffects`; one
function (`follow.apply_effects`) hands each effect to the analyser of its kind, so a shell
command found in a script gets exactly the verdict it would get typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: What code can reach that makes an unreadable part of it matter (issue-free wording for the
#: reasons shown to people): a process, the network, a database, a deletion, code built at run
#: time.
REACH_PROCESS = "runs programs"
REACH_NETWORK = "uses the network"
REACH_DATABASE = "uses a database driver"
REACH_DELETE = "deletes files"
REACH_DYNAMIC = "runs code built at run time"


@dataclass(slots=True)
class CodeEffects:
    """What a piece of interpreter code was found to do."""

    shells: list[str] = field(default_factory=list)
    argvs: list[list[str]] = field(default_factory=list)
    deletes: list[tuple[str, bool]] = field(default_factory=list)
    unknowns: list[str] = field(default_factory=list)
    #: files written (opened for writing, copied or moved onto, linked, chmod-ed)
    writes: list[str] = field(default_factory=list)
    #: files opened by a client that may write them (a database, a socket bound on a path)
    opens: list[str] = field(default_factory=list)
    #: files read (what they hold can be a secret)
    reads: list[str] = field(default_factory=list)
    sql: list[tuple[str, str]] = field(default_factory=list)  # (dialect, statement text)
    http: list[dict[str, Any]] = field(default_factory=list)  # requests for the HTTP analyser
    reaches: set[str] = field(default_factory=set)
    imports: set[str] = field(default_factory=set)  # top-level names of local modules used
    #: ORM calls that wipe a table: (id, effect, reason, suggestion) from `orm_calls.yaml`
    orm: list[tuple[str, str, str, str]] = field(default_factory=list)


def merge(into: CodeEffects, other: CodeEffects) -> None:
    into.shells += other.shells
    into.argvs += other.argvs
    into.deletes += other.deletes
    into.unknowns += other.unknowns
    into.writes += other.writes
    into.opens += other.opens
    into.reads += other.reads
    into.sql += other.sql
    into.http += other.http
    into.reaches |= other.reaches
    into.imports |= other.imports
    into.orm += other.orm
