"""One tree-sitter bash parser per process.

Building a `Parser` costs far more than a parse (~8 µs for a typical command), so the parser is
created once and reused; tree-sitter parsers are not thread-safe, hence one per thread.
"""

from __future__ import annotations

import re
import threading

import tree_sitter_bash
from tree_sitter import Language, Node, Parser, Tree

_LANGUAGE = Language(tree_sitter_bash.language())
_local = threading.local()
#: Code points outside the Basic Multilingual Plane crash tree-sitter-bash's scanner in some
#: positions (`{` followed by U+C4FA5 or U+2D9F9 segfaults the process; fuzzing BMP-only text
#: found no crash). No command name or option is spelled with them, so every text is folded to
#: U+FFFD before it reaches the parser — including text decoded on the way ($'\U…', python
#: string literals, printf output).
_UNSAFE = re.compile("[\U00010000-\U0010ffff]")


def _parser() -> Parser:
    p = getattr(_local, "parser", None)
    if p is None:
        p = Parser(_LANGUAGE)
        _local.parser = p
    return p


def source_bytes(text: str) -> bytes:
    """The exact bytes `parse` hands the parser (node byte offsets index into these)."""
    if _UNSAFE.search(text):
        text = _UNSAFE.sub("\ufffd", text)
    return text.encode("utf-8", "surrogatepass")


def parse(text: str) -> Tree:
    """Parse shell text; errors show up as ERROR / MISSING nodes, never as exceptions."""
    return _parser().parse(source_bytes(text))


def node_text(node: Node) -> str:
    raw = node.text
    return raw.decode("utf-8", "replace") if raw is not None else ""


__all__ = ["Node", "Tree", "node_text", "parse", "source_bytes"]
