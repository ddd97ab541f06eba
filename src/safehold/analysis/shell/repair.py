"""Where tree-sitter-bash reads a command differently from bash, rewrite it the way bash reads it.

The grammar has shapes it gets wrong without reporting an error, and each of them would hide a
command from the walk: a line that starts with a backslash is glued onto the previous command
(`true` newline `\\rm -rf ~`), a three-stage pipeline followed later by a redirection folds the
next line into its last stage, a line continuation inside a word splits it in two (`r\\`
newline `m`), and `time`, `!` and `coproc` before a compound command turn `{`, `for` or `while`
into arguments. What bash does in each case is certain — an unescaped newline ends a simple
command, `\\`+newline is removed, the keyword prefix does not change what runs — so the text is
edited to say it plainly and parsed again. A shape still wrong after a few rounds, or one no
edit can fix, is returned as a problem the walker records as an unknown
(`shell:parse-anomaly`), never walked as if it were right.
"""

from __future__ import annotations

import re
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
MAX_ROUNDS = 4
#: `time X=1 cmd`: the keyword times a command that starts with an assignment.
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")


def _may_need(text: str) -> bool:
    return "\n" in text or "time" in text or "!" in text or "coproc" in text


def _word(node: Node | None) -> str | None:
    """The text of an unquoted plain word node (None for anything else)."""
    if node is None or node.type != "word" or node.text is None:
        return None
    return node.text.decode("utf-8", "replace")


def _opens_compound(node: Node | None) -> bool:
    """The node starts a compound command (the parser may have made the opener a word of its
    own, part of a word with a space in it, or an ERROR node)."""
    if node is None:
        return False
    if node.type in _COMPOUND_NODES:
        return True
    if node.type not in ("word", "ERROR") or not node.text:
        return False
    words = node.text.decode("utf-8", "replace").split(None, 1)
    return bool(words) and words[0] in _OPENERS


def _edits(root: Node, src: bytes,
           problems: list[str]) -> list[tuple[int, int, bytes]]:
    """(start, end, replacement) byte edits that make the text say what bash reads; shapes
    no edit can fix are added to `problems`."""
    edits: list[tuple[int, int, bytes]] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "command":
            _command_edits(node, src, edits)
        elif node.type == "for_statement":
            _newline_words(node, edits)
        elif node.type in ("redirected_statement", "file_redirect", "declaration_command",
                           "unset_command"):
            parts = [c for c in node.children if c.type not in ("heredoc_redirect", "comment")]
            if not _gaps(parts, src, edits) and node.type != "file_redirect":
                _newline_words(node, edits)
        elif node.type == "heredoc_redirect" and misread_heredoc(node) and \
                misread_body(node) is None:
            # No edit of the text keeps a here-document's meaning: the walker reads the body
            # from the source when the shape is simple, and this is reported otherwise.
            problems.append("a here-document whose first line the parser reads as words")
        elif node.type == "negated_command":
            inner = node.named_children[0] if node.named_children else None
            if inner is not None and inner.type == "command" and \
                    _word(_name_word(inner)) in RESERVED:
                bang = node.children[0]
                edits.append((bang.start_byte, bang.end_byte, b" "))
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
    # `time [-p] <compound>`, `time X=1 cmd`, `coproc [NAME] <compound>`, `coproc <simple
    # command>`: the prefix does not change what runs.
    if name is not None and name_text in ("time", "coproc"):
        rest = children[1:]
        blank = [name]
        if name_text == "time" and rest and (rest[0].text or b"").strip() == b"-p":
            blank.append(rest[0])
            rest = rest[1:]
        if name_text == "coproc" and len(rest) > 1 and _word(rest[0]) not in _OPENERS and \
                rest[0].type == "word" and _opens_compound(rest[1]):
            blank.append(rest[0])
            rest = rest[1:]
        if rest and (name_text == "coproc" or _opens_compound(rest[0]) or
                     _ASSIGNMENT.match(_word(rest[0]) or "")):
            for b in blank:
                edits.append((b.start_byte, b.end_byte, b" " * (b.end_byte - b.start_byte)))
            return
    if not _gaps(children, src, edits):
        _newline_words(cmd, edits)


def _gaps(children: list[Node], src: bytes, edits: list[tuple[int, int, bytes]]) -> bool:
    """Edits for the text between the parts of one command or redirection; True when the
    parser glued the next line on."""
    for prev, nxt in pairwise(children):
        gap = src[prev.end_byte:nxt.start_byte]
        if gap and gap.replace(b"\\\n", b"") == b"":
            # `r\`+newline+`m`: bash removes the continuation and reads one word.
            edits.append((prev.end_byte, nxt.start_byte, b""))
            continue
        if b"\n" in gap.replace(b"\\\n", b""):
            # An unescaped newline ends a simple command: the next line is a command of its own.
            edits.append((prev.end_byte, prev.end_byte, b";"))
            return True
    return False


def _newline_words(node: Node, edits: list[tuple[int, int, bytes]]) -> None:
    """A word holding an unescaped newline (an argument, a redirection's target): bash ends
    the command at that newline."""
    for c in node.children:
        for w in _plain_words(c):
            i = _unescaped_newline(w.text or b"")
            if i >= 0:
                at = w.start_byte + i
                edits.append((at, at, b";"))
                return


def _unescaped_newline(raw: bytes) -> int:
    i = raw.find(b"\n")
    while i >= 0:
        if i == 0 or raw[i - 1:i] != b"\\":
            return i
        i = raw.find(b"\n", i + 1)
    return -1


def misread_heredoc(node: Node) -> bool:
    """The parser took a here-document's first line (it starts with a backslash) for words."""
    return any(_unescaped_newline(w.text or b"") >= 0
               for c in node.children for w in _plain_words(c))


def misread_body(node: Node) -> str | None:
    """The body of a misread here-document, read from the source as bash reads it: from the
    line after `<<DELIM` to the delimiter line. None when the shape holds more than that
    (operators or redirections after the delimiter word), which cannot be read with certainty."""
    kinds = {c.type for c in node.named_children}
    if not kinds <= {"heredoc_start", "heredoc_body", "heredoc_end", "word", "string",
                     "raw_string", "ansi_c_string", "concatenation", "number",
                     "simple_expansion", "expansion", "command_substitution"}:
        return None
    start = next((c for c in node.children if c.type == "heredoc_start"), None)
    end = next((c for c in node.children if c.type == "heredoc_end"), None)
    raw = node.text
    if start is None or end is None or raw is None:
        return None
    first_word = next((c for c in node.children if c.type == "word"), None)
    if first_word is None or not (first_word.text or b"").startswith(b"\n"):
        return None
    body = raw[first_word.start_byte - node.start_byte + 1:end.start_byte - node.start_byte]
    return body.decode("utf-8", "replace")


def _plain_words(node: Node) -> list[Node]:
    """Unquoted word nodes of one command argument or redirection (not inside quotes or
    substitutions, whose commands are checked on their own)."""
    if node.type == "word":
        return [node]
    if node.type in ("concatenation", "file_redirect", "herestring_redirect", "command_name"):
        return [w for c in node.children for w in _plain_words(c)]
    return []


def _apply(src: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    out = bytearray(src)
    for start, end, repl in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        out[start:end] = repl
    return bytes(out)


def repaired(text: str, tree: Tree) -> tuple[str, Tree, list[str]]:
    """The text as bash reads it, its parse, and the shapes that could not be repaired."""
    if not _may_need(text):
        return text, tree, []
    src = source_bytes(text)
    for _ in range(MAX_ROUNDS):
        problems: list[str] = []
        edits = _edits(tree.root_node, src, problems)
        if not edits:
            return text, tree, problems
        src = _apply(src, edits)
        text = src.decode("utf-8", "surrogatepass")
        tree = parse(text)
    return text, tree, ["a command the parser still misreads after it was rewritten"]
