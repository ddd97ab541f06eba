"""Text an agent wrote, shown as what it is: invisible and look-alike characters made visible.

A command can say one thing and display another: a right-to-left override turns `main` into
`niam` on screen, a zero-width space hides inside a branch name, a Cyrillic `а` passes for a
Latin `a` in a host name. Before any agent-supplied text reaches an approver it goes through
`reveal`, which replaces every such character with a visible marker naming its code point
(`⟦U+202E⟧`) and reports what it found, so the card can warn.

Two strengths. Commands (and the targets and directories taken from them) are `strict`: any
letter from a script that imitates Latin (Cyrillic, Greek, Armenian, Cherokee) and any
character that Unicode folds into a different one (fullwidth `ｍ`, mathematical `𝐦`) is marked,
since a command is read as code. Prose (the agent's reason) marks only words that mix scripts,
so a reason written in Russian reads as Russian.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from markupsafe import Markup, escape

#: Characters that reorder or hide text: bidi embeddings, overrides and isolates, marks,
#: zero-width characters, word joiners and the byte-order mark.
_INVISIBLE = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
    "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\u00ad\u034f\u115f\u1160"
    "\u3164\uffa0"
)
_LOOKALIKE_SCRIPTS = ("CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE")
_ALLOWED_CONTROLS = frozenset("\n\t")


@dataclass(frozen=True, slots=True)
class Finding:
    """One suspicious character: its code point label and what it is."""

    code: str
    name: str
    why: str

    def line(self) -> str:
        return f"{self.code} {self.name} ({self.why})"


def _name(ch: str) -> str:
    return unicodedata.name(ch, "UNNAMED CHARACTER")


def _code(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def _script(ch: str) -> str | None:
    """The script of a letter, from its Unicode name (LATIN, CYRILLIC, …); None otherwise."""
    if not ch.isalpha():
        return None
    if ch.isascii():
        return "LATIN"
    return _name(ch).split(" ", 1)[0]


def _invisible(ch: str) -> str | None:
    if ch in _INVISIBLE:
        return "invisible; changes how the text around it displays"
    cat = unicodedata.category(ch)
    if cat == "Cf":
        return "invisible formatting character"
    if cat in ("Cc", "Co", "Cn", "Cs") and ch not in _ALLOWED_CONTROLS:
        return "control or unassigned character"
    if cat in ("Zl", "Zp") or (cat == "Zs" and ch != " "):
        return "unusual space or line separator"
    return None


def _suspicious(text: str, strict: bool) -> dict[int, str]:
    """Positions in `text` to mark, each with the reason."""
    marks: dict[int, str] = {}
    for i, ch in enumerate(text):
        why = _invisible(ch)
        if why:
            marks[i] = why
        elif strict and not ch.isascii():
            if _script(ch) in _LOOKALIKE_SCRIPTS:
                marks[i] = f"{_script(ch).lower()} letter that can pass for a Latin one"
            elif unicodedata.normalize("NFKC", ch) != ch and ch.isalnum():
                marks[i] = f"displays like {unicodedata.normalize('NFKC', ch)!r}"
    # words that mix scripts, in any text
    start = None
    for i, ch in enumerate(text + " "):
        if ch.isalnum() and i < len(text):
            start = i if start is None else start
            continue
        if start is not None:
            word = range(start, i)
            scripts = {_script(text[j]) for j in word} - {None}
            if len(scripts) > 1:
                for j in word:
                    s = _script(text[j])
                    if s not in (None, "LATIN") and j not in marks:
                        marks[j] = f"{s.lower()} letter inside a word of other scripts"
            start = None
    return marks


def findings(text: str | None, *, strict: bool = True) -> list[Finding]:
    """Each distinct suspicious character of `text`, in order of first appearance."""
    if not text:
        return []
    seen: dict[str, Finding] = {}
    for i, why in sorted(_suspicious(text, strict).items()):
        ch = text[i]
        seen.setdefault(ch, Finding(_code(ch), _name(ch), why))
    return list(seen.values())


def reveal(text: object, *, strict: bool = True) -> Markup:
    """`text` HTML-escaped, every suspicious character replaced by a visible marker."""
    if text is None:
        return Markup("")
    text = str(text)
    marks = _suspicious(text, strict)
    if not marks:
        return escape(text)
    out = []
    for i, ch in enumerate(text):
        if i in marks:
            label = f"{_code(ch)} {_name(ch)}: {marks[i]}"
            out.append(Markup('<mark class="hidden-char" title="{}">⟦{}⟧</mark>').format(
                label, _code(ch)))
        else:
            out.append(escape(ch))
    return Markup("").join(out)


def reveal_plain(text: object) -> str:
    """`reveal` for places that take no markup (a page title): the markers as plain text."""
    if text is None:
        return ""
    text = str(text)
    marks = _suspicious(text, True)
    return "".join(f"⟦{_code(ch)}⟧" if i in marks else ch for i, ch in enumerate(text))


def reveal_prose(text: object) -> Markup:
    return reveal(text, strict=False)


def summarize(parts: Iterable[tuple[str, str | None, bool]]) -> list[str]:
    """Warning lines for a card: `parts` are (where, text, strict)."""
    lines = []
    for where, text, strict in parts:
        found = findings(text, strict=strict)
        if found:
            lines.append(f"{where}: " + "; ".join(f.line() for f in found))
    return lines
