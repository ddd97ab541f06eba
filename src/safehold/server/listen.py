"""Serve the app on its TCP address and on a Unix socket at once (the system deployment).

The hooks of the system deployment reach the server over a Unix socket in a directory only
safehold's user can write, and check with SO_PEERCRED that the process answering runs as that
user. Both listeners are bound here and handed to one uvicorn server.
"""

from __future__ import annotations

import contextlib
import os
import socket
from typing import Any


def bind_unix(path: str) -> socket.socket:
    """A listening socket at `path`, replacing a stale one; connectable by every local user
    (who may connect is the directory's business, what they may do is their token's)."""
    with contextlib.suppress(FileNotFoundError):
        if not os.path.exists(path) or _is_socket(path):
            os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    os.chmod(path, 0o666)
    sock.listen(128)
    return sock


def bind_tcp(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def serve_sockets(app: Any, host: str, port: int, unix_path: str) -> None:
    import uvicorn

    sockets = [bind_tcp(host, port), bind_unix(unix_path)]
    # X-Forwarded-For is believed only from [server] trusted_proxies, inside the app
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", proxy_headers=False))
    try:
        server.run(sockets=sockets)
    finally:
        for sock in sockets:
            sock.close()
        with contextlib.suppress(OSError):
            if _is_socket(unix_path):
                os.unlink(unix_path)


def _is_socket(path: str) -> bool:
    import stat

    try:
        return stat.S_ISSOCK(os.lstat(path).st_mode)
    except OSError:
        return False
