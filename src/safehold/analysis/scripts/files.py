"""Read a workspace file a command will run, as it will be when the command reaches it.

A file written earlier in the same command line (`cat > x.sh <<EOF`, `printf … > x.py`,
`npm pkg set scripts.test=…`) is read from what that command wrote, not from the disk: the
shell analyser records such writes in its state (`written`), with `None` for content it could
not know (a download, a copy of something unknown). Files on disk are read size-bounded; what
cannot be read is said, never guessed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass

#: The largest script safehold reads; a bigger one is not followed (and says so).
MAX_SCRIPT_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class ScriptText:
    """One file's text, or why it is not available. `missing` = does not exist (the command
    will fail on it); `problem` = exists or will exist, but its content cannot be known."""

    path: str
    text: str | None = None
    problem: str | None = None
    missing: bool = False
    binary: bool = False


def read_script(path: str, written: Mapping[str, str | None]) -> ScriptText:
    """The text the command will find at the absolute `path`."""
    if path in written:
        content = written[path]
        if content is None:
            return ScriptText(path, problem="it is written earlier in this command with content "
                              "only known at run time")
        return ScriptText(path, content)
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            return ScriptText(path, missing=True)
        if not stat.S_ISREG(mode):  # a FIFO or device would block or never end
            return ScriptText(path, problem="it is not a regular file")
        with open(path, "rb") as fh:
            data = fh.read(8192)
            if b"\0" in data:
                return ScriptText(path, binary=True,
                                  problem="it is a compiled program, not a script")
            if len(data) == 8192:
                data += fh.read(MAX_SCRIPT_BYTES + 1 - len(data))
    except FileNotFoundError:
        return ScriptText(path, missing=True)
    except IsADirectoryError:
        return ScriptText(path, missing=True)
    except OSError as exc:
        return ScriptText(path, problem=f"it cannot be read ({exc.strerror or type(exc).__name__})")
    if len(data) > MAX_SCRIPT_BYTES:
        return ScriptText(path, problem=f"it is larger than {MAX_SCRIPT_BYTES} bytes")
    return ScriptText(path, data.decode("utf-8", "replace"))


def resolve(path_text: str, cwd: str | None, home: str) -> str | None:
    """The absolute path a script argument names, or None when it is not known statically."""
    if not path_text or "\x00" in path_text:
        return None
    if path_text == "~" or path_text.startswith("~/"):
        path_text = home + path_text[1:]
    if not path_text.startswith("/"):
        if cwd is None:
            return None
        path_text = os.path.join(cwd, path_text)
    return os.path.normpath(path_text)
