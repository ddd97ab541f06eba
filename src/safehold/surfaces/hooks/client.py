"""The thin side of the resident hook daemon: find it, hand it the call, relay its answer.

A hook process that loads the decision path itself pays for the interpreter, the parsers and
the catalogs on every tool call. With a daemon running, `safehold hook` imports only this module,
which uses the interpreter's C modules directly (`_socket`, `_sha256`) and a plain frame format
instead of JSON: with `json`, `socket` and `hashlib` come `re`, `enum`, `selectors` and OpenSSL,
a third of the process's start-up. When no daemon answers, the hook judges in-process as before
and starts one for the next call.

The socket lives in a per-user directory that must be owned by the user and closed to others;
anything else means "no daemon", never trusting a socket someone else could have put there.
The daemon is keyed by the environment its judgement depends on (home, temp and data dirs,
interpreter), so a call is never judged by a daemon living in a different world.

Wire format: length-prefixed frames (4-byte big-endian). A request is a header frame of
NUL-separated key/value pairs, then the agent's bytes. A reply is a status frame (`ok`, `stale`,
`stopped`), then for `ok` the exit status, stdout and stderr frames.
"""

from __future__ import annotations

import os
import sys

try:  # the C modules: the Python wrappers import enum, selectors, OpenSSL
    import _socket as _sock
except ImportError:  # pragma: no cover - other interpreters
    import socket as _sock  # type: ignore[no-redef]
try:
    from _sha256 import sha256
except ImportError:  # pragma: no cover - Python 3.12+ names it _sha2
    from hashlib import sha256

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing itself costs a few ms of every hook call's start-up
    from collections.abc import Mapping

PROTOCOL_VERSION = "2"
#: variables a request carries: what a judgement may read from the hook's environment
FORWARDED = ("CLAUDE_PROJECT_DIR", "GEMINI_PROJECT_DIR", "CODEX_PROJECT_DIR")
#: variables the daemon's identity depends on (it inherits them when it is started)
IDENTITY = ("HOME", "TMPDIR", "XDG_DATA_HOME", "XDG_CONFIG_HOME")
_ENV = "env:"


class DaemonUnavailable(Exception):
    """No trustworthy daemon answered; judge in-process."""


def socket_path(environ: Mapping[str, str]) -> str | None:
    """Where this environment's daemon listens, or None if the directory is not safe to use."""
    uid = os.getuid()
    base = environ.get("XDG_RUNTIME_DIR") or "/tmp"
    directory = os.path.join(base, f"safehold-{uid}")
    key = "\0".join([sys.prefix, *(environ.get(k, "") for k in IDENTITY)])
    name = "hookd-" + sha256(key.encode()).hexdigest()[:12] + ".sock"
    try:
        st = os.lstat(directory)
    except FileNotFoundError:
        return os.path.join(directory, name)
    except OSError:
        return None
    is_dir = (st.st_mode & 0o170000) == 0o040000
    if not is_dir or st.st_uid != uid or st.st_mode & 0o077:
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


def encode_header(fields: Mapping[str, str]) -> bytes:
    """Key/value pairs as NUL-separated text; no key or value may contain NUL."""
    return "\0".join(f"{k}\0{v}" for k, v in fields.items()).encode("utf-8", "surrogateescape")


def decode_header(data: bytes) -> dict[str, str]:
    parts = data.decode("utf-8", "surrogateescape").split("\0")
    if len(parts) % 2:
        raise ValueError("malformed header")
    return dict(zip(parts[::2], parts[1::2], strict=True))


def forwarded(header: Mapping[str, str]) -> dict[str, str]:
    """The caller's variables carried in a request header."""
    return {k[len(_ENV):]: v for k, v in header.items() if k.startswith(_ENV)}


def ask_daemon(
    path: str, agent: str, payload: bytes, environ: Mapping[str, str], seconds: float
) -> tuple[str, str, int]:
    """The daemon's answer (stdout, stderr, exit status); DaemonUnavailable if it gave none."""
    fields = {"v": PROTOCOL_VERSION, "build": build_id(), "agent": agent, "seconds": f"{seconds}"}
    for k, v in environ.items():
        if (k.startswith("SAFEHOLD_") or k in FORWARDED) and "\0" not in v:
            fields[_ENV + k] = v
    sock = _sock.socket(_sock.AF_UNIX, _sock.SOCK_STREAM)
    try:
        sock.settimeout(max(seconds, 0.1))
        sock.connect(path)
        peer = peer_uid(sock)
        if peer is not None and peer != os.getuid():
            raise DaemonUnavailable(f"the process on {path} runs as uid {peer}, not as you")
        send_frame(sock, encode_header(fields))
        send_frame(sock, payload)
        if recv_frame(sock) != b"ok":
            raise DaemonUnavailable("the daemon declined the call")
        code = int(recv_frame(sock))
        stdout = recv_frame(sock).decode("utf-8", "replace")
        stderr = recv_frame(sock).decode("utf-8", "replace")
    except (OSError, ValueError) as exc:
        raise DaemonUnavailable(str(exc)) from None
    finally:
        sock.close()
    return stdout, stderr, code


def peer_uid(sock: object) -> int | None:
    """The user id of the process at the other end of a Unix socket (Linux SO_PEERCRED), or
    None where the platform cannot say. Only the same user's daemon is believed; in the
    same-user mode that user is also the agent's, so this stops mistakes and other users,
    not a determined agent (docs/security.md)."""
    option = getattr(_sock, "SO_PEERCRED", None)
    if option is None:
        return None
    creds = sock.getsockopt(_sock.SOL_SOCKET, option, 12)  # type: ignore[attr-defined]
    return int.from_bytes(creds[4:8], sys.byteorder)


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


def send_frame(sock: object, data: bytes) -> None:
    sock.sendall(len(data).to_bytes(4, "big") + data)  # type: ignore[attr-defined]


def recv_frame(sock: object, limit: int = 64 * 1024 * 1024) -> bytes:
    size = int.from_bytes(_exactly(sock, 4), "big")
    if size > limit:
        raise ConnectionError(f"frame of {size} bytes is over the limit")
    return _exactly(sock, size)


def _exactly(sock: object, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(min(n, 1 << 20))  # type: ignore[attr-defined]
        if not chunk:
            raise ConnectionError("connection closed mid-frame")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)
