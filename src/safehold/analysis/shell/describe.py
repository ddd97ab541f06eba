"""The parse tree of a shell command as indented text, for `safehold explain`: what the
analysis walked, with the spots tree-sitter could not parse marked."""

from __future__ import annotations

from safehold.analysis.shell.parser import Node, node_text, parse

MAX_LINES = 400


def describe(text: str) -> str:
    lines: list[str] = []

    def walk(node: Node, depth: int, field: str | None) -> None:
        if len(lines) >= MAX_LINES:
            return
        label = f"{field}: " if field else ""
        if node.is_missing:
            lines.append(f"{'  ' * depth}{label}MISSING {node.type!r}  <- not parsed")
            return
        kind = "ERROR  <- not parsed" if node.is_error else node.type
        children = [(c, node.field_name_for_child(i)) for i, c in enumerate(node.children)
                    if c.is_named or c.is_missing]
        if not children:
            lines.append(f"{'  ' * depth}{label}{kind} {node_text(node)!r}")
            return
        lines.append(f"{'  ' * depth}{label}{kind}")
        for child, child_field in children:
            walk(child, depth + 1, child_field)

    walk(parse(text).root_node, 0, None)
    if len(lines) >= MAX_LINES:
        lines.append(f"… (cut at {MAX_LINES} lines)")
    return "\n".join(lines)
