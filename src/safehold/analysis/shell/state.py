"""What one shell analysis has found so far, and the bounds it runs under.

Nested shells (`bash -c`, `ssh host '…'`, `python -c "os.system(…)"`) share one `State`, so
every operation, credential and unknown lands in the same `Facts`, and depth and time limits
hold across the whole action rather than per level.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from safehold.analysis.interface import AnalysisContext
from safehold.analysis.shell.paths import PathClassifier
from safehold.catalog.connectiondata import ConnectionData
from safehold.catalog.credentialdata import CredentialData
from safehold.catalog.loader import Catalog
from safehold.model import Facts, Finding, Operation

MAX_FINDINGS = 200


@dataclass(slots=True)
class State:
    ctx: AnalysisContext
    catalog: Catalog
    paths: PathClassifier
    credentials: CredentialData
    max_depth: int
    depth: int = 0
    operations: list[Operation] = field(default_factory=list)
    creds: list[Finding] = field(default_factory=list)
    unknowns: list[Finding] = field(default_factory=list)
    #: Code followed only in part, or reaching the network or a database (`Facts.code`).
    code: list[Finding] = field(default_factory=list)
    embedded: list[Facts] = field(default_factory=list)
    #: Files this command writes before later parts of it run (path -> content, None when the
    #: content is only known at run time); scripts are read from here first.
    written: dict[str, str | None] = field(default_factory=dict)
    #: Script files being followed right now, so a script that runs itself is not re-entered.
    following: set[str] = field(default_factory=set)
    #: Aliases defined earlier in the command (`alias x='rm -rf'`), expanded where used.
    aliases: dict[str, str] = field(default_factory=dict)
    _seen: set[tuple[str, str, str]] = field(default_factory=set)
    _timed_out: bool = False
    connections: ConnectionData | None = None
    _full: bool = False

    @property
    def home(self) -> str:
        return self.ctx.home

    def expired(self) -> bool:
        return self._timed_out or self.ctx.expired()

    def timed_out(self) -> None:
        if not self._timed_out:
            self._timed_out = True
            self.unknown("shell:timeout", "analysis ran out of time; the rest of the command "
                         "was not examined")

    def _fresh(self, kind: str, ident: str, source: str) -> bool:
        """True for a finding not recorded yet; past the cap nothing more is recorded, and that
        itself is recorded once as an unknown, so a long harmless prefix cannot hide the rest."""
        key = (kind, ident, source)
        if key in self._seen:
            return False
        if len(self._seen) >= MAX_FINDINGS:
            if not self._full:
                self._full = True
                self.unknowns.append(Finding(
                    "shell:too-many-findings",
                    f"the command holds more than {MAX_FINDINGS} distinct operations; the rest "
                    "were not recorded, so what they do cannot be shown", source[:200]))
            return False
        self._seen.add(key)
        return True

    def unknown(self, ident: str, reason: str, source: str = "") -> None:
        if self._fresh("u", ident, source + reason):
            self.unknowns.append(Finding(ident, reason, source))

    def credential(self, ident: str, reason: str, source: str = "") -> None:
        if self._fresh("c", ident, source):
            self.creds.append(Finding(ident, reason, source))

    def code_fact(self, ident: str, reason: str, source: str = "") -> None:
        if self._fresh("k", ident, source):
            self.code.append(Finding(ident, reason, source))

    def operation(self, op: Operation) -> None:
        key = op.source + "\0".join(t.name for t in op.targets)
        if self._fresh("o", op.id, key):
            self.operations.append(op)
        elif self._full and all(op.effect > o.effect for o in self.operations):
            # Past the cap, an operation worse than all recorded ones still counts: the
            # decision must see the worst effect even when its details are cut.
            self.operations.append(op)

    def mark(self) -> tuple[int, int]:
        """Where the findings of the command about to be judged will start."""
        return len(self.operations), len(self.embedded)

    def since(self, mark: tuple[int, int], op: Callable[[Operation], Operation],
              facts: Callable[[Facts], Facts]) -> None:
        """Rewrite the operations and embedded facts found since `mark`."""
        for i in range(mark[0], len(self.operations)):
            self.operations[i] = op(self.operations[i])
        for j in range(mark[1], len(self.embedded)):
            self.embedded[j] = facts(self.embedded[j])

    def facts(self) -> Facts:
        base = Facts(
            kind="shell",
            operations=tuple(self.operations),
            credentials=tuple(self.creds),
            unknowns=tuple(self.unknowns),
            code=tuple(self.code),
        )
        return base.merged(*self.embedded) if self.embedded else base
