"""A command name that is a pattern: resolve it the way bash would, or say it cannot be.

bash expands braces (`r{m,}` is `rm r`) and pathname patterns (`/bin/r?` is `/bin/rm` on this
machine) before it looks the first word up, so the program that runs is whatever the expansion
puts first. Brace expansion is pure text and certain; a pathname pattern is resolved against
the filesystem as it is now (the words bash would produce, sorted), and a pattern that matches
nothing stays unknown, because a file created before it runs decides what it becomes.
"""

from __future__ import annotations

import glob
import os
import re

MAX_WORDS = 64
_SEQ = re.compile(r"^(-?\d+|[A-Za-z])\.\.(-?\d+|[A-Za-z])(?:\.\.(-?\d+))?$")


def _seq(body: str) -> list[str] | None:
    m = _SEQ.match(body)
    if not m:
        return None
    a, b, step_text = m.groups()
    step = abs(int(step_text)) if step_text else 1
    step = step or 1
    if a.lstrip("-").isdigit() and b.lstrip("-").isdigit():
        lo, hi = int(a), int(b)
        rng = range(lo, hi + 1, step) if lo <= hi else range(lo, hi - 1, -step)
        return [str(i) for i in list(rng)[:MAX_WORDS]]
    if a.isalpha() and b.isalpha():
        lo, hi = ord(a), ord(b)
        rng = range(lo, hi + 1, step) if lo <= hi else range(lo, hi - 1, -step)
        return [chr(i) for i in list(rng)[:MAX_WORDS]]
    return None


def _split_top(body: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(body):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    return parts


def expand_braces(word: str) -> list[str]:
    """bash's brace expansion of one word (`{a,b}`, `{1..3}`, nested); the word itself when it
    holds none."""
    depth = 0
    open_at = -1
    for i, ch in enumerate(word):
        if ch == "{":
            if depth == 0:
                open_at = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                body = word[open_at + 1:i]
                head, tail = word[:open_at], word[i + 1:]
                alts = _seq(body)
                if alts is None:
                    parts = _split_top(body)
                    if len(parts) < 2:
                        # `{x}` is literal; look for a later group.
                        rest = expand_braces(tail)
                        return [word[:i + 1] + r for r in rest][:MAX_WORDS]
                    alts = [w for p in parts for w in expand_braces(p)]
                out = [head + a + t for a in alts for t in expand_braces(tail)]
                return [w for w in out if w][:MAX_WORDS] or [""]
    return [word]


def has_braces(word: str) -> bool:
    return "{" in word and "}" in word and expand_braces(word) != [word]


def expand_glob(word: str, cwd: str | None) -> list[str] | None:
    """The words a pathname pattern becomes now, sorted as bash sorts them; None when it
    matches nothing (or is relative with no known working directory)."""
    if word.startswith("/"):
        matches = glob.glob(word)
    elif cwd is None:
        return None
    else:
        matches = [os.path.relpath(m, cwd) if not word.startswith("./") else
                   "./" + os.path.relpath(m, cwd) for m in glob.glob(os.path.join(cwd, word))]
    return sorted(matches)[:MAX_WORDS] or None
