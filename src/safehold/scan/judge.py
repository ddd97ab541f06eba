"""Is reading this file credential access? Judged by what the file holds, not its name.

The shell analyser asks this for every file a command reads. A readable text file holding a
live-format credential is credential access whatever it is called (`notes.txt`, `fix.py`, a
notebook). A credential file judged by content (`.env*`, `.npmrc`: see `content_decides` in
secrets.yaml) that holds only settings or placeholders is an ordinary read. Everything else —
a file that does not exist yet, cannot be read, is binary or large — is judged by its name, as
before. Findings are cached per file and content hash (workspace.CACHE).
"""

from __future__ import annotations

from pathlib import Path

from safehold.scan.detect import rules
from safehold.scan.workspace import CACHE

FILE_CONTENT = "cred:file-content"


def judge_read(path: str, by_name: str | None) -> tuple[str, str] | None:
    """(finding id, reason) when reading `path` is credential access; None when it is not.
    `by_name` is the credential-file id its name matched, if any."""
    if not path.startswith("/"):
        return (by_name, "holds credentials") if by_name else None
    try:
        found = CACHE.secrets_in(Path(path))
    except Exception:  # a scanner failure falls back to the name, never to "no secret"
        found = None
    if found is None:
        return (by_name, "holds credentials") if by_name else None
    if found:
        first = found[0]
        return (FILE_CONTENT, f"holds a live credential ({first.describe()}, line {first.line})")
    if by_name and by_name not in rules().content_decides:
        return by_name, "holds credentials"
    return None
