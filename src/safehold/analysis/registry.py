"""Which analyser handles which kind, and the guard rails around every call.

Analysers are imported lazily (a hook that only sees shell commands never imports the SQL
parser). Whatever goes wrong here — unknown kind, oversized input, an analyser that raises or
overruns its time budget — comes back as an unknown Finding, so the policy sees it and the
result can never be allow.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from safehold.analysis.interface import AnalysisContext, Analyzer, Budget, Limits
from safehold.errors import CatalogError
from safehold.model import Action, Facts, Finding

#: kind -> "module:Class". One line per kind; a new kind is a new package plus a line here.
ANALYZERS: dict[str, str] = {
    "shell": "safehold.analysis.shell.analyzer:ShellAnalyzer",
    "sql": "safehold.analysis.sql.analyzer:SqlAnalyzer",
    "http": "safehold.analysis.http.analyzer:HttpAnalyzer",
    "mcp": "safehold.analysis.mcp.analyzer:McpAnalyzer",
    "file": "safehold.analysis.file.analyzer:FileAnalyzer",
    "restore": "safehold.analysis.restore.analyzer:RestoreAnalyzer",
}

class Registry:
    """The analysers one Guard uses, each built once, with the user catalog directories they
    extend the built-in catalogs with (`<dir>/shell/`, `<dir>/http/`, `<dir>/mcp/`)."""

    def __init__(self, catalog_dirs: Sequence[str | Path] = ()):
        self.catalog_dirs = tuple(Path(d) for d in catalog_dirs)
        for d in self.catalog_dirs:
            if not d.is_dir():
                raise CatalogError(f"{d}: catalog directory does not exist")
        self._instances: dict[str, Analyzer] = {}

    def get(self, kind: str) -> Analyzer | None:
        """The analyser for `kind`, built on first use; None when safehold has none."""
        inst = self._instances.get(kind)
        if inst is not None:
            return inst
        ref = ANALYZERS.get(kind)
        if ref is None:
            return None
        module_name, _, cls_name = ref.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                return None  # this kind's analyser is not part of this build
            raise
        cls = getattr(module, cls_name)
        user = [d / kind for d in self.catalog_dirs if (d / kind).is_dir()]
        inst = cls.with_user_catalogs(user) if user else cls()
        self._instances[kind] = inst
        return inst

    def preload(self) -> None:
        """Build every analyser now, so a broken user catalog fails loudly at start-up."""
        for kind in ANALYZERS:
            self.get(kind)

    def run(self, kind: str, input: Any, options: Mapping[str, str],
            ctx: AnalysisContext) -> Facts:
        return _run(self, kind, input, options, ctx)


DEFAULT = Registry()


def get_analyzer(kind: str) -> Analyzer | None:
    """The built-in analyser for `kind` (no user catalogs), built once per process."""
    return DEFAULT.get(kind)


def _unknown(kind: str, rule: str, reason: str, source: str = "") -> Facts:
    return Facts(kind=kind, unknowns=(Finding(f"{kind}:{rule}", reason, source),))


def _size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, bytes):
        return len(value)
    import json

    try:
        return len(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return 0


def _run(registry: Registry, kind: str, input: Any, options: Mapping[str, str],
         ctx: AnalysisContext) -> Facts:
    loading_started = time.monotonic()
    analyzer = registry.get(kind)
    ctx.budget.extend(time.monotonic() - loading_started)
    if analyzer is None:
        return _unknown(kind, "not-understood", f"safehold has no analyser for {kind!r} input")
    if _size(input) > ctx.limits.max_input_bytes:
        return _unknown(
            kind,
            "too-large",
            f"input is larger than {ctx.limits.max_input_bytes} bytes; not analysed",
        )
    try:
        facts = analyzer.analyze(input, options, ctx)
    except RecursionError:
        return _unknown(kind, "too-deep", "input nests too deeply to analyse")
    except Exception as exc:  # any analyser failure becomes an unknown
        return _unknown(
            kind, "internal-error", f"analysis failed: {type(exc).__name__}: {exc}"
        )
    if ctx.expired():
        facts = facts.merged(
            _unknown(
                kind,
                "timeout",
                f"analysis exceeded its {ctx.limits.time_budget_s}s budget; result incomplete",
            )
        )
    return facts


def analyze(action: Action, limits: Limits | None = None,
            registry: Registry | None = None) -> Facts:
    """Facts for one action. Never raises for bad input; failures are unknown findings."""
    limits = limits or Limits()
    registry = registry or DEFAULT
    ctx = AnalysisContext(
        action=action,
        limits=limits,
        budget=Budget(time.monotonic() + limits.time_budget_s),
        _embed=registry.run,
    )
    if action.options.get("home"):  # the agent's home, when a server judges for another user
        ctx.home = action.options["home"]
    return registry.run(action.kind, action.input, action.options, ctx)
