"""Which release of an agent is installed here, and what of the hook protocol it supports.

Some protections exist only from a given release on (Claude Code's `"onFailure": "block"`, which
makes a hook that crashes, cannot start or times out block the call instead of letting it
through). Writing such a field for an older release is not safe: settings it does not know may
be rejected, so install writes it only when the release that will read it is known to support it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping

#: Claude Code's first release that honours `"onFailure": "block"` on a command hook
CLAUDE_FAIL_CLOSED = (2, 1, 295)

_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def claude_version(environ: Mapping[str, str] | None = None) -> tuple[int, int, int] | None:
    """The release `claude --version` reports on this PATH, or None when there is none."""
    path = (environ or {}).get("PATH")
    exe = shutil.which("claude", path=path)
    if exe is None:
        return None
    try:
        proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = _VERSION.search(proc.stdout or "")
    if proc.returncode != 0 or m is None:
        return None
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)))


def claude_fails_closed(version: tuple[int, int, int] | None) -> bool:
    return version is not None and version >= CLAUDE_FAIL_CLOSED


def shown(version: tuple[int, int, int] | None) -> str:
    return ".".join(map(str, version)) if version else "unknown"
