"""What every analyser implements and receives.

An analyser gets the raw input of one kind and an `AnalysisContext`; it returns `Facts`. When
it meets something it cannot follow it records an unknown `Finding` and carries on, so one
opaque fragment never hides the understood ones. Embedded input of another kind (SQL inside
`psql -c`, an HTTP call inside `curl`) goes back through `ctx.embedded()`, so it gets the same
analyser a direct action of that kind would.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from safehold.model import Action, Facts, Finding


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds that keep analysis finite on hostile input. Exceeding one is an unknown."""

    max_input_bytes: int = 256 * 1024
    max_depth: int = 8
    time_budget_s: float = 2.0


@dataclass(slots=True)
class Budget:
    """The time one action's analysis may take, shared by every nested analysis of it.

    Loading an analyser (imports, catalogs) happens once per process and is not the input's
    fault, so the registry extends the budget by the time that took."""

    deadline: float = 0.0

    def expired(self) -> bool:
        return self.deadline > 0 and time.monotonic() > self.deadline

    def extend(self, seconds: float) -> None:
        if self.deadline > 0:
            self.deadline += seconds


@dataclass(slots=True)
class AnalysisContext:
    """Per-action state shared by the analysers that look at it (and at what it embeds)."""

    action: Action
    limits: Limits = field(default_factory=Limits)
    depth: int = 0
    budget: Budget = field(default_factory=Budget)
    home: str = field(default_factory=lambda: os.path.expanduser("~"))
    tmpdir: str = field(default_factory=lambda: os.environ.get("TMPDIR", "/tmp"))
    _embed: Callable[[str, Any, Mapping[str, str], AnalysisContext], Facts] | None = None

    @property
    def cwd(self) -> str:
        return self.action.cwd or os.getcwd()

    def expired(self) -> bool:
        return self.budget.expired()

    def embedded(
        self,
        kind: str,
        input: Any,
        options: Mapping[str, str] | None = None,
        source: str = "",
    ) -> Facts:
        """Analyse input of another kind found inside this one, one level deeper."""
        if self.depth + 1 > self.limits.max_depth:
            return Facts(
                kind=kind,
                unknowns=(
                    Finding(
                        f"{kind}:too-deep",
                        f"nested more than {self.limits.max_depth} levels deep; not followed",
                        source,
                    ),
                ),
            )
        if self._embed is None:  # pragma: no cover - the registry always sets it
            raise RuntimeError("AnalysisContext built without a registry")
        return self._embed(kind, input, options or {}, self.deeper())

    def deeper(self) -> AnalysisContext:
        return AnalysisContext(
            action=self.action,
            limits=self.limits,
            depth=self.depth + 1,
            budget=self.budget,
            home=self.home,
            tmpdir=self.tmpdir,
            _embed=self._embed,
        )


class Analyzer(ABC):
    """Turns the raw input of one kind into Facts. Must not raise on bad input: a parse error
    is a Finding in `unknowns`. Exceptions that escape are caught by the registry and become
    an unknown, never an allow."""

    kind: ClassVar[str]

    @abstractmethod
    def analyze(self, input: Any, options: Mapping[str, str], ctx: AnalysisContext) -> Facts:
        """Analyse one input; `options` carries per-kind settings such as an SQL dialect."""

    @classmethod
    def with_user_catalogs(cls, directories: Sequence[Path]) -> Analyzer:
        """An analyser whose built-in catalog is extended by the files in `directories`.
        Kinds without a catalog users can extend ignore them."""
        return cls()

    def describe(self, input: Any, options: Mapping[str, str]) -> str:
        """How the parser sees the input, for people (`safehold explain`); never raises."""
        return repr(input)
