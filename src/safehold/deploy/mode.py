"""Which deployment a server runs in, so the dashboard can say so honestly.

The system deployment is recognised by its evidence, not by a setting anyone could write: a
root-owned client file (the one hooks read) naming this process's user as the server's. Without
it the server is in same-user mode: the agents' Unix user may own the same policy, database and
configuration, and the dashboard says that changes there are not out of the agent's reach.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from safehold.surfaces.hooks.main import SYSTEM_CLIENT_FILE

SAME_USER_NOTE = (
    "Same-user mode: this server's policy, approvals and audit log are files an agent running "
    "as the same Unix user can change. It stops mistakes, not a determined agent; "
    "`safehold setup --system` puts them out of the agent's reach (docs/security.md)."
)


def is_system_deployment(config_path: str | None) -> bool:
    """Whether a root-owned client file names this process's user as safehold's server."""
    from safehold.surfaces.hooks.system import writable_by_others

    candidates = [Path(SYSTEM_CLIENT_FILE)]
    if config_path:  # <root>/etc/safehold/server/safehold.toml -> <root>/etc/safehold/client.toml
        candidates.append(Path(config_path).resolve().parent.parent / "client.toml")
    uid = os.getuid()
    for client in candidates:
        if not client.is_file() or writable_by_others(str(client)) is not None:
            continue
        try:
            with open(client, "rb") as fh:
                server_uid = tomllib.load(fh).get("server_uid")
        except (OSError, tomllib.TOMLDecodeError):
            continue
        if server_uid == uid and uid != 0:
            return True
    return False
