"""A restore as the policy sees it: which snapshot goes where, and whether it replaces data.

Input is `{"snapshot": ID, "source": WHAT_IT_CAPTURED, "target": URL_OR_PATH, "target_kind":
"database" | "path", "replace": bool}`, built by `safehold restore` (a person's command; the
decision API does not accept this kind, and an agent's own `safehold restore` is a shell
command safehold refuses). Restoring over existing data (`replace`) is destructive: it loses
what is there now, so the policy decides who must approve it, and, in a protected environment,
that what is there is captured first. A restore into a new target is a write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from safehold.analysis.interface import AnalysisContext, Analyzer
from safehold.model import Effect, Facts, Finding, Operation, Target

TARGET_KINDS = ("database", "path")


class RestoreAnalyzer(Analyzer):
    kind = "restore"

    def analyze(self, input: Any, options: Mapping[str, str], ctx: AnalysisContext) -> Facts:
        if not isinstance(input, Mapping):
            return _unknown(f"a restore must be a mapping, not {type(input).__name__}")
        snapshot, target = input.get("snapshot"), input.get("target")
        kind, replace = input.get("target_kind"), input.get("replace")
        if not (isinstance(snapshot, str) and snapshot and isinstance(target, str) and target
                and kind in TARGET_KINDS and isinstance(replace, bool)):
            return _unknown("a restore needs snapshot, target, target_kind (database or path) "
                            "and replace (true or false)")
        source = str(input.get("source") or "?")
        if replace:
            op = Operation("restore:replace", Effect.DESTRUCTIVE,
                           f"restores snapshot {snapshot} (of {source}) over {target}: what is "
                           "there now is replaced", source=f"restore {snapshot} --replace",
                           targets=(Target(str(kind), target),),
                           suggestion="restore into a new target (--to NEW) and compare first")
        else:
            op = Operation("restore:new", Effect.WRITE,
                           f"restores snapshot {snapshot} (of {source}) into a new {kind} "
                           f"{target}", source=f"restore {snapshot}",
                           targets=(Target(str(kind), target),))
        return Facts(kind="restore", operations=(op,))


def _unknown(reason: str) -> Facts:
    return Facts(kind="restore", unknowns=(Finding("restore:not-understood", reason),))
