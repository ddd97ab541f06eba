"""How a person types this installation's `safehold`, for the commands safehold suggests.

A suggested command that fails when pasted (`safehold: command not found`, because the
virtualenv's `bin` is not on PATH, or another installation answering) sends people hunting at
the worst moment. So suggestions name plain `safehold` only when that is this installation on
PATH, and this installation's full path otherwise.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path


def program() -> str:
    """`safehold` when PATH finds this installation, else its absolute path (quoted)."""
    own = Path(sys.executable).with_name("safehold")
    if not own.exists():
        return "safehold"  # not an installed console script (a source tree): nothing better
    found = shutil.which("safehold", path=os.environ.get("PATH"))
    if found is not None and _same(Path(found), own):
        return "safehold"
    return shlex.quote(str(own))


def command(*args: str) -> str:
    """A whole suggested command line: `program()` and the arguments, quoted for a shell."""
    return " ".join([program(), *(shlex.quote(a) for a in args)])


def _same(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False
