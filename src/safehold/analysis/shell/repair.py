"""Where tree-sitter-bash reads a command differently from bash, rewrite it the way bash reads it.

The grammar has shapes it gets wrong without reporting an error, and each of them would hide a
command from the walk: a line that starts with a backslash is glued onto the previous command
(`true` newline `\\rm -rf ~`), a three-stage pipeline followed later by a redirection folds the
next line into its last stage, a line continuation inside a word splits it in two (`r\\`
newline `m`), and `time`, `!` and `coproc` before a compound command turn `{`, `for` or `while`
into arguments. What bash does in each case is certain — an unescaped newline ends a simple
command, `\\`+newline is removed, the keyword prefix does not change what runs — so the text is
edited to say it plainly and parsed again. A shape still wrong after a few rounds is reported
by the walker as an unknown (`anomalies`), never walked as if it were right.
"""

from __future__ import annotations

from itertools import pairwise

from safehold.analysis.shell.parser import Node, Tree, parse, source_bytes

#: Words bash reads as reserved words in command position; a command with such a name is
#: a misreading of the parse, never a program bash would run.
RESERVED = frozenset({"!", "{", "}", "[[", "]]", "case", "coproc", "do", "done", "elif", "else",
                      "esac", "fi", "for", "function", "if", "in", "select", "then", "time",
                      "until", "while"})
#: What may follow `time`, `!` or `coproc` to start a compound command.
_OPENERS = frozenset({"{", "(", "((", "[[", "for", "if", "while", "until", "case", "select",
                      "function", "!", "time", "coproc"})
_COMPOUND_NODES = frozenset({"subshell", "compound_statement", "for_statement",
                             "c_style_for_statement", "while_statement", "if_statement",
                             "case_statement", "test_command", "negated_command",
                             "function_definition", "arithmetic_expansion"})
_PREFIXES = frozenset({"time", "coproc", "!"})
MAX_ROUNDS = 4


def _may_need(text: str) -> bool:
    return "\n" in text or "time" in text or "!" in text or "coproc" in text


def _word(node: Node | None) -> str | None:
    """The text of an unquoted plain word node (None for anything else)."""
    if node is None or node.type != "word" or node.text is None:
        return None
    return node.text.decode("utf-8", "replace")


def _opens_compound(node: Node | None) -> bool:
    if node is None:
        return False
    if node.type in _COMPOUND_NODES:
        return True
    return _word(node) in _OPENERS


def _edits(root: Node, src: bytes) -> list[tuple[int, int, bytes]]:
    """(start, end, replacement) byte edits that make the text say what bash reads."""
    edits: list[tuple[int, int, bytes]] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "command":
            _command_edits(node, src, edits)
        elif node.type == "negated_command":
            inner = node.named_children[0] if node.named_children else None
            if inner is not None and inner.type == "command" and \
                    _word(_name_word(inner)) in RESERVED:
                bang = node.children[0]
                edits.append((bang.start_byte, bang.end_byte, b" "))
        if node.type in ("string", "raw_string", "heredoc_body", "comment", "ansi_c_string"):
            continue
        stack.extend(node.children)
    return edits


def _name_word(cmd: Node) -> Node | None:
    for c in cmd.named_children:
        if c.type == "command_name":
            return c.named_children[0] if c.named_children else None
    return None


def _command_edits(cmd: Node, src: bytes, edits: list[tuple[int, int, bytes]]) -> None:
    children = [c for c in cmd.children if c.type not in ("heredoc_redirect", "comment")]
    name = _name_word(cmd)
    name_text = _word(name)
    # `time [-p] <compound>`, `coproc [NAME] <compound>`, `coproc <simple command>`: the
    # prefix does not change what runs.
    if name is not None and name_text in ("time", "coproc"):
        rest = children[1:]
        blank = [name]
        if name_text == "time" and rest and _word(rest[0]) == "-p":
            blank.append(rest[0])
            rest = rest[1:]
        if name_text == "coproc" and len(rest) > 1 and _word(rest[0]) not in _OPENERS and \
                rest[0].type == "word" and _opens_compound(rest[1]):
            blank.append(rest[0])
            rest = rest[1:]
        if rest and (name_text == "coproc" or _opens_compound(rest[0])):
            for b in blank:
                edits.append((b.start_byte, b.end_byte, b" " * (b.end_byte - b.start_byte)))
            return
    for prev, nxt in pairwise(children):
        gap = src[prev.end_byte:nxt.start_byte]
        if gap and gap.replace(b"\\\n", b"") == b"":
            # `r\`+newline+`m`: bash removes the continuation and reads one word.
            edits.append((prev.end_byte, nxt.start_byte, b""))
            continue
        if b"\n" in gap.replace(b"\\\n", b""):
            # An unescaped newline ends a simple command: the next line is a command of its own.
            edits.append((prev.end_byte, prev.end_byte, b";"))
            return
    for c in children:
        if c.type != "word" or c.text is None:
            continue
        raw = c.text
        i = raw.find(b"\n")
        while i >= 0:
            if i == 0 or raw[i - 1:i] != b"\\":
                # A word holding an unescaped newline: bash ends the command there.
                at = c.start_byte + i
                edits.append((at, at, b";"))
                return
            i = raw.find(b"\n", i + 1)


def _apply(src: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    out = bytearray(src)
    for start, end, repl in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        out[start:end] = repl
    return bytes(out)


def repaired(text: str, tree: Tree) -> tuple[str, Tree]:
    """The text as bash reads it and its parse; unchanged when nothing needed repair."""
    if not _may_need(text):
        return text, tree
    src = source_bytes(text)
    for _ in range(MAX_ROUNDS):
        edits = _edits(tree.root_node, src)
        if not edits:
            break
        src = _apply(src, edits)
        text = src.decode("utf-8", "surrogatepass")
        tree = parse(text)
    return text, tree
