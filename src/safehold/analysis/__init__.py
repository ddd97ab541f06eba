"""Analysis: turn an Action into Facts with a real parser per kind.

`analyze()` is the only entry point surfaces and the decision path use. One package per kind
(`shell/`, `sql/`, `http/`, `mcp/`); `interface.py` holds what they share.
"""

from safehold.analysis.interface import AnalysisContext, Analyzer, Limits
from safehold.analysis.registry import analyze

__all__ = ["AnalysisContext", "Analyzer", "Limits", "analyze"]
