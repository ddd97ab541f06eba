"""Evaluate shell words to the strings a command will receive.

Quotes, backslashes, `~` and variables whose value is known are resolved statically; what only
exists at run time (an unknown variable, a command substitution whose output cannot be folded)
becomes the `DYN` marker, so later stages know exactly which part of an argument is unknown and
where it came from. Command substitutions are analysed as commands on the way.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from safehold.analysis.shell.parser import Node, node_text
from safehold.analysis.shell.paths import DYN, DYN_TEXT

_GLOB = re.compile(r"[*?\[]")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_ANSI = re.compile(r"\\(x[0-9A-Fa-f]{1,2}|u[0-9A-Fa-f]{1,4}|U[0-9A-Fa-f]{1,8}|[0-7]{1,3}|.)",
                   re.DOTALL)
_SIMPLE_ANSI = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v",
                "e": "\x1b", "E": "\x1b", "\\": "\\", "'": "'", '"': '"', "?": "?"}


@dataclass(slots=True)
class Arg:
    """One argument as the command will see it; `DYN` in `text` marks run-time parts."""

    text: str
    static: bool = True
    glob: bool = False
    sources: tuple[str, ...] = ()
    procsub: bool = False


@dataclass(slots=True)
class Output:
    """What a command writes to stdout: static text when it can be known, else its producers."""

    text: str | None = None
    producers: tuple[str, ...] = ()
    items: tuple[Arg, ...] | None = None  # what each output line is known to be (find's paths)


@dataclass(slots=True)
class Scope:
    """Variables and working directory as the shell would have them at this point.

    `cwd` moves with `cd`, `pushd` and subshells and only says where relative paths resolve;
    `workspace` is the session's project root, fixed for the whole action (None on another
    machine, where there is no workspace of ours)."""

    env: dict[str, str | None] = field(default_factory=dict)
    cwd: str | None = None
    defaults: dict[str, str] = field(default_factory=dict)
    workspace: str | None = None

    def child(self) -> Scope:
        return Scope(dict(self.env), self.cwd, self.defaults, self.workspace)

    def lookup(self, name: str) -> str | None:
        if name in self.env:
            return self.env[name]
        if name == "PWD":
            return self.cwd
        return self.defaults.get(name)


#: Runs a command substitution's body and returns what it prints.
Substitute = Callable[[Node, Scope], Output]


def _ansi(body: str) -> str:
    def repl(m: re.Match[str]) -> str:
        s = m.group(1)
        if s[0] in "xuU" and len(s) > 1:
            return chr(int(s[1:], 16)) if int(s[1:], 16) < 0x110000 else ""
        if s[0].isdigit():
            return chr(int(s, 8))
        return _SIMPLE_ANSI.get(s, "\\" + s)

    return _ANSI.sub(repl, body)


class WordEvaluator:
    """Turns word nodes into `Arg`s within a scope, running substitutions through `substitute`."""

    def __init__(self, substitute: Substitute, home: str):
        self.substitute = substitute
        self.home = home

    def args(self, node: Node, scope: Scope) -> list[Arg]:
        """The arguments one word node becomes (an unquoted known `$X` may split in several)."""
        if node.type == "simple_expansion" or node.type == "expansion":
            value, sources = self._expansion(node, scope)
            if value is not None and DYN not in value:
                ifs = scope.lookup("IFS")
                if ifs:
                    parts = [p for p in re.split("[" + re.escape(ifs) + "]+", value) if p]
                else:
                    parts = value.split()
                return [Arg(p, True, bool(_GLOB.search(p))) for p in parts]
            return [Arg(value if value is not None else DYN, False, False, sources)]
        if node.type == "process_substitution":
            out = self._run(node, scope)
            return [Arg(DYN, False, False, out.producers, procsub=True)]
        if node.type == "command_substitution":
            out = self._run(node, scope)
            if out.text is not None:
                return [Arg(p) for p in out.text.split()]
            return [Arg(DYN, False, False, out.producers)]
        return [self.arg(node, scope)]

    def arg(self, node: Node, scope: Scope) -> Arg:
        """One word node as a single argument (no splitting)."""
        parts: list[str] = []
        sources: list[str] = []
        state = {"glob": False, "static": True}
        self._collect(node, scope, parts, sources, state, quoted=False, top=True)
        text = "".join(parts)
        return Arg(text, state["static"], state["glob"], tuple(sources))

    def _run(self, node: Node, scope: Scope) -> Output:
        return self.substitute(node, scope.child())

    def _expansion(self, node: Node, scope: Scope) -> tuple[str | None, tuple[str, ...]]:
        sources: tuple[str, ...] = ()
        names = [c for c in node.named_children
                 if c.type in ("variable_name", "special_variable_name")]
        if not names:
            for c in node.named_children:
                self._walk_subs(c, scope)
            return None, sources
        name = node_text(names[0])
        if names[0].type == "special_variable_name" and name not in ("@", "*"):
            return None, sources
        children = node.children
        ops = [node_text(c) for c in children
               if not c.is_named and node_text(c) not in ("${", "}", "$")]
        value = scope.lookup(name)
        if value is None:
            sources = (f"${name}",)  # which variable, so a secret's name can be recognised
        if not ops:
            return value, sources
        op = ops[0]
        rest = [c for c in node.named_children if c is not names[0]]
        if op in (":-", "-", ":=", "="):
            if value:
                return value, sources
            default = "".join(self.arg(c, scope).text for c in rest) if rest else ""
            if value is None and op in ("-", "="):
                return None, sources
            return default, sources
        for c in rest:
            self._walk_subs(c, scope)
        return None, sources

    def _walk_subs(self, node: Node, scope: Scope) -> None:
        if node.type in ("command_substitution", "process_substitution"):
            self._run(node, scope)
            return
        for c in node.named_children:
            self._walk_subs(c, scope)

    def _collect(self, node: Node, scope: Scope, parts: list[str], sources: list[str],
                 state: dict[str, bool], quoted: bool, top: bool = False) -> None:
        t = node.type
        if t == "word" or t == "number" or t == "string_content" or t == "heredoc_content":
            text = node_text(node)
            if DYN_TEXT in text or DYN in text:
                text = text.replace(DYN_TEXT, DYN)
                state["static"] = False
            if not quoted:
                if _GLOB.search(text):
                    state["glob"] = True
                if top and text.startswith("~") and not parts:
                    slash = text.find("/")
                    text = self.home + (text[slash:] if slash > 0 else "")
                text = _ESCAPE.sub(lambda m: "" if m.group(1) == "\n" else m.group(1), text)
            else:
                text = re.sub(r"\\([$`\"\\\n])", lambda m: "" if m.group(1) == "\n"
                              else m.group(1), text)
            parts.append(text)
        elif t == "raw_string":
            parts.append(node_text(node)[1:-1])
        elif t == "ansi_c_string":
            parts.append(_ansi(node_text(node)[2:-1]))
        elif t in ("string", "translated_string"):
            for c in node.named_children:
                self._collect(c, scope, parts, sources, state, quoted=True)
        elif t == "concatenation":
            for i, c in enumerate(node.children):
                self._collect(c, scope, parts, sources, state, quoted, top=top and i == 0)
        elif t in ("simple_expansion", "expansion"):
            value, srcs = self._expansion(node, scope)
            if value is None:
                parts.append(DYN)
                state["static"] = False
                sources.extend(srcs)
            else:
                parts.append(value)
        elif t in ("command_substitution", "process_substitution"):
            out = self._run(node, scope)
            if out.text is not None and t == "command_substitution":
                parts.append(out.text.rstrip("\n"))
            else:
                parts.append(DYN)
                state["static"] = False
                sources.extend(out.producers)
        elif t == "arithmetic_expansion":
            self._walk_subs(node, scope)
            parts.append(DYN)
            state["static"] = False
        elif t == "heredoc_body":
            raw = node.text or b""
            base = node.start_byte
            pos = 0
            for c in node.children:
                start = c.start_byte - base
                if start > pos:
                    parts.append(raw[pos:start].decode("utf-8", "replace"))
                if c.type == "heredoc_content":
                    parts.append(node_text(c))
                else:
                    self._collect(c, scope, parts, sources, state, quoted=True)
                pos = c.end_byte - base
            if pos < len(raw):
                parts.append(raw[pos:].decode("utf-8", "replace"))
        elif t == "brace_expression":
            parts.append(node_text(node))
            state["glob"] = True
        elif not node.is_named:
            text = node_text(node)
            if text not in ('"', "$\"") or not quoted:
                parts.append(text if text != '"' else "")
        else:
            self._walk_subs(node, scope)
            parts.append(node_text(node))


def decode_literal(text: str) -> str:
    """Decode a string literal body with backslash escapes (used for interpreter code)."""
    try:
        return codecs.decode(text, "unicode_escape")
    except (UnicodeDecodeError, ValueError):
        return text
