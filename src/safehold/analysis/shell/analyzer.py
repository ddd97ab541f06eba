"""The shell analyser: a command line in, the facts about what it would do out.

Parsing is tree-sitter's bash grammar; the walk follows everything that can run
(`walk.py`), each simple command is unwrapped and judged against the catalog (`dispatch.py`),
and paths are sorted into classes (`paths.py`). Nothing here raises on bad input: what cannot be
followed becomes an unknown finding, so the policy can refuse to allow it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from safehold.analysis.interface import AnalysisContext, Analyzer
from safehold.analysis.shell.dispatch import Dispatcher
from safehold.analysis.shell.normalize import normalize_text
from safehold.analysis.shell.paths import PathClassifier
from safehold.analysis.shell.state import State
from safehold.analysis.shell.walk import Walker
from safehold.analysis.shell.words import Scope
from safehold.catalog.connectiondata import load_connection_data
from safehold.catalog.credentialdata import load_credential_data
from safehold.catalog.loader import load_catalog
from safehold.catalog.pathdata import load_path_data
from safehold.model import Facts, Finding


class ShellAnalyzer(Analyzer):
    """Facts for one shell command line (any length: lists, pipelines, scripts)."""

    kind = "shell"

    def __init__(self, catalog_dirs: tuple[str, ...] = ()):
        self.catalog = load_catalog(catalog_dirs)
        self.path_data = load_path_data()
        self.credentials = load_credential_data()
        self.connections = load_connection_data()

    @classmethod
    def with_user_catalogs(cls, directories: Sequence[Path]) -> ShellAnalyzer:
        return cls(catalog_dirs=tuple(str(d) for d in directories))

    def describe(self, input: Any, options: Mapping[str, str]) -> str:
        from safehold.analysis.shell.describe import describe

        return describe(input if isinstance(input, str) else str(input))

    def analyze(self, input: Any, options: Mapping[str, str], ctx: AnalysisContext) -> Facts:
        if not isinstance(input, str):
            return Facts(kind="shell", unknowns=(Finding(
                "shell:not-understood", f"shell input must be text, not {type(input).__name__}"),))
        text = normalize_text(input)
        cwd = options.get("cwd") or ctx.cwd
        workspace = ctx.action.options.get("workspace") or ctx.cwd
        state = State(
            ctx=ctx,
            catalog=self.catalog,
            paths=PathClassifier(self.path_data, ctx.home.rstrip("/") or "/", ctx.tmpdir),
            credentials=self.credentials,
            max_depth=max(1, ctx.limits.max_depth - ctx.depth),
            connections=self.connections,
        )
        scope = Scope({}, cwd.rstrip("/") or "/" if cwd else None,
                      {"HOME": ctx.home, "TMPDIR": ctx.tmpdir},
                      workspace.rstrip("/") or "/" if workspace else None)
        walker = Walker(state, Dispatcher(state))
        walker.run_text(text, scope)
        facts = state.facts()
        env = next((f.environment for f in state.embedded if f.environment), None)
        if env is not None and facts.environment is None:
            facts = dataclasses.replace(facts, environment=env)
        return facts
