"""Files only their owner may read: the database, keys, secrets and signed checkpoints.

Whatever the process umask, safehold creates its own directories 0700 and files 0600, so in
the system deployment nothing the server writes is readable by the agent's user, and in the
same-user mode nothing is readable by other users of the machine. A file or directory found
with group or other bits is tightened when this process owns it.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: str | os.PathLike[str], *, dedicated: bool = False) -> Path:
    """`path` as a directory, creating it and any missing parents 0700. An existing directory
    is tightened only when `dedicated` (safehold's own key or checkpoint directory), never a
    shared one such as the one a database file was put in."""
    p = Path(path)
    missing = []
    d = p
    while not d.exists():
        missing.append(d)
        if d.parent == d:
            break
        d = d.parent
    for m in reversed(missing):
        with contextlib.suppress(FileExistsError):
            m.mkdir(mode=DIR_MODE)
        tighten(m, DIR_MODE)
    if dedicated and not missing:
        tighten(p, DIR_MODE)
    return p


def private_file(path: str | os.PathLike[str], *, dedicated_dir: bool = False) -> Path:
    """Create `path` empty and 0600 (missing directories 0700) unless it exists; an existing
    file is tightened."""
    p = Path(path)
    private_dir(p.parent, dedicated=dedicated_dir)
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        tighten(p, FILE_MODE)
    else:
        os.close(fd)
    return p


def tighten(path: str | os.PathLike[str], mode: int) -> None:
    """Drop group and other permission bits from a file this process owns."""
    try:
        st = os.stat(path)
    except OSError:
        return
    if st.st_uid != os.geteuid() or not stat.S_IMODE(st.st_mode) & 0o077:
        return
    with contextlib.suppress(OSError):
        os.chmod(path, stat.S_IMODE(st.st_mode) & mode)


def readable_by_others(path: str | os.PathLike[str]) -> bool:
    try:
        return bool(stat.S_IMODE(os.stat(path).st_mode) & 0o077)
    except OSError:
        return False
