"""Undo the spellings that hide a command: Unicode dashes and spaces, paths and case.

Quotes and backslashes (`r''m`, `\\rm`, `"rm"`) are undone by word evaluation, which reads the
parse tree; what is left here is text-level folding before the parse and the reduction of a
command word to the name the catalog knows.
"""

from __future__ import annotations

import re

_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_SPACES = ("\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
           "\u202f\u205f\u3000")
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_TABLE = str.maketrans(
    {**{c: "-" for c in _DASHES}, **{c: " " for c in _SPACES}, **{c: None for c in _ZERO_WIDTH}}
)
_FOLDABLE = re.compile(f"[{_DASHES}{_SPACES}{_ZERO_WIDTH}]")


def normalize_text(text: str) -> str:
    """Fold look-alike dashes to `-`, odd spaces to ` `, and drop zero-width characters."""
    if not _FOLDABLE.search(text):
        return text
    return text.translate(_TABLE)


def command_name(word: str) -> str:
    """`/usr/bin/git` -> `git`, `C:\\...\\git.exe` -> `git`, `GIT` -> `git`."""
    name = word.rsplit("/", 1)[-1]
    if "\\" in name:
        name = name.rsplit("\\", 1)[-1]
    name = name.lower()
    if name.endswith(".exe"):
        name = name[:-4]
    return name
