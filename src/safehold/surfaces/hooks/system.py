"""The hook in the system deployment: a thin client of the server that runs as safehold's user.

`safehold setup --system` writes `/etc/safehold/client.toml` (root-owned): the server's Unix
socket, the user id the server runs as, and an agent token that can request decisions but never
approve them. When that file exists the hook decides nothing itself: policy, configuration and
database files the agent's user could write play no part. It sends the call to the server and
accepts an answer only from a process the kernel says runs as the server's user (SO_PEERCRED),
so a listener the agent's user puts on the socket path is refused, never believed. A client file
someone other than root could have written, an unreachable server or a wrong peer are refusals.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass

from safehold.surfaces.approval import ServerSettings
from safehold.surfaces.hooks.main import SYSTEM_CLIENT_FILE

#: Where the system deployment's hook settings live; a hook command may name another file with
#: `--client` (installs under a `--root` prefix), which must be just as root-owned.
CLIENT_FILE = SYSTEM_CLIENT_FILE
DEFAULT_WAIT = 5.0


class SystemModeError(Exception):
    """The system deployment's client file cannot be trusted or read."""


@dataclass(frozen=True, slots=True)
class ClientConfig:
    path: str
    socket: str
    server_uid: int
    token: str
    url: str = ""
    wait_seconds: float = DEFAULT_WAIT

    def server(self) -> ServerSettings:
        return ServerSettings(
            url=self.url or "http://safehold",
            token=self.token,
            wait_seconds=self.wait_seconds,
            socket=self.socket,
            peer_uid=self.server_uid,
        )


def writable_by_others(path: str) -> str | None:
    """Why `path` (or a directory above it) could have been changed by a user other than root,
    or None. A sticky directory (/tmp) counts as safe: others cannot replace root's entries."""
    p = os.path.abspath(path)
    first = True
    while True:
        try:
            st = os.lstat(p)
        except OSError as exc:
            return f"{p}: {exc.strerror or exc}"
        if first and (st.st_mode & 0o170000) != 0o100000:
            return f"{p} is not a regular file"
        if st.st_uid != 0:
            return f"{p} is owned by uid {st.st_uid}, not root"
        sticky_dir = not first and st.st_mode & 0o1000
        if st.st_mode & 0o022 and not sticky_dir:
            return f"{p} is writable by group or others (mode {st.st_mode & 0o7777:04o})"
        if p == "/":
            return None
        p, first = os.path.dirname(p), False


def load(path: str = CLIENT_FILE) -> ClientConfig | None:
    """The client settings, None when there is no system deployment; SystemModeError when the
    file exists but cannot be trusted or read (the hook then refuses every call)."""
    if not os.path.lexists(path):
        return None
    problem = writable_by_others(path)
    if problem:
        raise SystemModeError(
            f"the system client file {path} cannot be trusted: {problem}; fix with "
            f"`chown root:root {path} && chmod 0644 {path}` (and the same for its directories)"
        )
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SystemModeError(f"{path}: cannot be read: {exc}") from None
    try:
        return ClientConfig(
            path=path,
            socket=_str(raw, "socket"),
            server_uid=_int(raw, "server_uid"),
            token=_str(raw, "token"),
            url=str(raw.get("url") or ""),
            wait_seconds=float(raw.get("approval_wait", DEFAULT_WAIT)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SystemModeError(f"{path}: {exc}") from None


def render(client: ClientConfig) -> str:
    """The file `load` reads, with a comment saying what it is for."""
    return (
        "# Written by `safehold setup --system`. Hooks read it to reach the safehold server,\n"
        "# which runs as its own user; keep it owned by root, mode 0644. The token can ask\n"
        "# for decisions but never approve them.\n"
        f"socket = {_toml(client.socket)}\n"
        f"server_uid = {client.server_uid}\n"
        f"token = {_toml(client.token)}\n"
        f"url = {_toml(client.url)}\n"
        f"approval_wait = {client.wait_seconds}\n"
    )


def _toml(value: str) -> str:
    import json

    return json.dumps(value)


def _str(raw: dict[str, object], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string")
    return value


def _int(raw: dict[str, object], key: str) -> int:
    value = raw.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{key} must be a user id (a whole number)")
    return value
