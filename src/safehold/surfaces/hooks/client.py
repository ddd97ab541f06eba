"""The thin side of the resident hook daemon: find it, hand it the call, relay its answer.

A hook process that loads the decision path itself pays for the interpreter, the parsers and
the catalogs on every tool call. With a daemon running, `safehold hook` imports only this module
(stdlib sockets and JSON), so a call costs about one interpreter start. When no daemon answers,
the hook judges in-process as before and starts one for the next call.

The socket lives in a per-user directory that must be owned by the user and closed to others;
anything else means "no daemon", never trusting a socket someone else could have put there.
The daemon is keyed by the environment its judgement depends on (home, temp and data dirs,
interpreter), so a call is never judged by a daemon living in a different world.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
import struct
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # typing costs a few ms of every hook call's start-up
    from collections.abc import Mapping
    from typing import Any

PROTOCOL_VERSION = 1
#: variables a request carries: what a judgement may read from the hook's environment
FORWARDED = ("CLAUDE_PROJECT_DIR", "GEMINI_PROJECT_DIR", "CODEX_PROJECT_DIR")
#: variables the daemon's identity depends on (it inherits them when it is started)
IDENTITY = ("HOME", "TMPDIR", "XDG_DATA_HOME", "XDG_CONFIG_HOME")


class DaemonUnavailable(Exception):
    """No trustworthy daemon answered; judge in-process."""


def socket_path(environ: Mapping[str, str]) -> str | None:
    """Where this environment's daemon listens, or None if the directory is not safe to use."""
    uid = os.getuid()
    base = environ.get("XDG_RUNTIME_DIR") or "/tmp"
    directory = os.path.join(base, f"safehold-{uid}")
    key = "\0".join([sys.prefix, *(environ.get(k, "") for k in IDENTITY)])
    name = "hookd-" + hashlib.sha256(key.encode()).hexdigest()[:12] + ".sock"
    try:
        st = os.lstat(directory)
    except FileNotFoundError:
        return os.path.join(directory, name)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid or st.st_mode & 0o077:
        return None
    return os.path.join(directory, name)


def call_environ(own: Mapping[str, str], forwarded: Mapping[str, str]) -> dict[str, str]:
    """The environment a call is judged in: the daemon's identity variables (which equal the
    caller's, by the socket's key) with the caller's SAFEHOLD_* settings, never the daemon's."""
    base = {k: v for k, v in own.items() if not k.startswith("SAFEHOLD_") and k not in FORWARDED}
    base.update(forwarded)
    return base


def build_id() -> str:
    """Changes whenever the installed code does, so a daemon never outlives an upgrade."""
    import safehold

    root = os.path.dirname(safehold.__file__)
    stamps = []
    for rel in ("decide.py", "surfaces/hooks/runner.py", "surfaces/hooks/daemon.py"):
        try:
            stamps.append(str(os.stat(os.path.join(root, rel)).st_mtime_ns))
        except OSError:
            stamps.append("-")
    return f"{safehold.__version__}:{root}:{':'.join(stamps)}"


def ask_daemon(
    path: str, agent: str, payload: bytes, environ: Mapping[str, str], seconds: float
) -> dict[str, Any]:
    """The daemon's answer `{stdout, stderr, exit_code}`; DaemonUnavailable if it gave none."""
    header = {
        "v": PROTOCOL_VERSION,
        "build": build_id(),
        "agent": agent,
        "seconds": seconds,
        "environ": {
            k: v for k, v in environ.items() if k.startswith("SAFEHOLD_") or k in FORWARDED
        },
    }
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(max(seconds, 0.1))
            sock.connect(path)
            send_frame(sock, json.dumps(header).encode())
            send_frame(sock, payload)
            reply = json.loads(recv_frame(sock))
    except (OSError, ValueError, ConnectionError) as exc:
        raise DaemonUnavailable(str(exc)) from None
    if not isinstance(reply, dict) or reply.get("stale") or "exit_code" not in reply:
        raise DaemonUnavailable("the daemon declined the call")
    return reply


def start_daemon(path: str) -> None:
    """Start a daemon for this environment in the background; it outlives this hook."""
    import subprocess

    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        subprocess.Popen(
            [sys.executable, "-m", "safehold.surfaces.hooks.daemon", path],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
    except OSError:
        pass


def send_frame(sock: socket.socket, data: bytes) -> None:
    sock.sendall(struct.pack(">I", len(data)) + data)


def recv_frame(sock: socket.socket, limit: int = 64 * 1024 * 1024) -> bytes:
    size = struct.unpack(">I", _exactly(sock, 4))[0]
    if size > limit:
        raise ConnectionError(f"frame of {size} bytes is over the limit")
    return _exactly(sock, size)


def _exactly(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            raise ConnectionError("connection closed mid-frame")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)
