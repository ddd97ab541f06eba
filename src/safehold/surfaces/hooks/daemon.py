"""The resident hook daemon: the decision path loaded once, answering hook calls over a socket.

Started in the background by a hook that found none (`python -m safehold.surfaces.hooks.daemon
SOCKET`), it preloads the policy, parsers and catalogs, then serves each call exactly as the
in-process path would (`runner.respond`), with the caller's SAFEHOLD_* settings, never its own.
Policies are re-read when their files change; audit records are written by one background
thread so the answer never waits for the database. It exits after an idle period, when the
installed code changes, or when asked to stop; one daemon per socket, guarded by a lock file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from safehold.surfaces.hooks import client
from safehold.surfaces.hooks.main import PROTOCOLS, protocol_for
from safehold.surfaces.hooks.settings import HookSettings

IDLE_SECONDS = 900.0


class Guards:
    """Guards by policy and configuration, rebuilt when a file they were built from changes.
    Decisions are serialised: the analysers and the policy engine are shared."""

    def __init__(self, build: Callable[[HookSettings], Any]):
        self._build = build
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def __call__(self, settings: HookSettings) -> Any:
        files = list(settings.policy_paths)
        if settings.config is not None and settings.config.path:
            files.append(settings.config.path)
        key = (
            tuple((f, _mtime(f)) for f in files),
            settings.config.environments if settings.config is not None else (),
        )
        with self._lock:
            guard = self._cache.get(key)
            if guard is None:
                if len(self._cache) > 32:
                    self._cache.clear()
                guard = _Serialised(self._build(settings), self._lock)
                self._cache[key] = guard
        return guard


class _Serialised:
    def __init__(self, guard: Any, lock: threading.Lock):
        self._guard = guard
        self._lock = lock

    def decide(self, action: Any) -> Any:
        with self._lock:
            return self._guard.decide(action)


class Recorder:
    """Writes records on one thread, keeping one open store per database."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str | None, Any]] = queue.Queue()
        self._sinks: dict[str, Any] = {}
        threading.Thread(target=self._loop, name="audit", daemon=True).start()

    def put(self, database_url: str | None, record: Any) -> None:
        self._queue.put((database_url, record))

    def drain(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def _loop(self) -> None:
        from safehold.surfaces.record import append, spool

        while True:
            url, record = self._queue.get()
            try:
                if not url:
                    raise RuntimeError("no database configured")
                sink = self._sinks.get(url)
                if sink is None:
                    from safehold.audit import AuditLog
                    from safehold.store.db import open_store

                    sink = self._sinks[url] = AuditLog(open_store(url))
                append(sink, record)
            except Exception as exc:
                with contextlib.suppress(Exception):
                    spool(record, None, error=f"{type(exc).__name__}: {exc}")
            finally:
                self._queue.task_done()


class Daemon(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, idle_seconds: float):
        from safehold.surfaces.hooks.runner import build_guard

        self.path = path
        self.build = client.build_id()
        self.idle_seconds = idle_seconds
        self.last_used = time.monotonic()
        self.guards = Guards(build_guard)
        self.recorder = Recorder()
        super().__init__(path, Handler)
        os.chmod(path, 0o600)

    def serve_one(self, header: Mapping[str, str], raw: bytes) -> tuple[str, tuple[Any, ...]]:
        """(status, frames) for one request: `ok` with exit status, stdout and stderr."""
        from safehold.surfaces.hooks.runner import respond

        self.last_used = time.monotonic()
        if header.get("op") == "stop":
            return "stopped", ()
        if header.get("v") != client.PROTOCOL_VERSION or header.get("build") != self.build:
            return "stale", ()
        agent = header.get("agent")
        if agent not in PROTOCOLS:
            return "stale", ()
        environ = client.call_environ(os.environ, client.forwarded(header))
        seconds = float(header.get("seconds") or 1.0)
        deadline = time.monotonic() + seconds
        result = respond(protocol_for(agent, environ), raw, environ, deadline, self.guards)
        if result.record is not None and environ.get("SAFEHOLD_HOOK_RECORD", "1") != "0":
            self.recorder.put(result.database_url or _database_url(environ), result.record)
        a = result.answer
        return "ok", (str(a.exit_code), a.stdout, a.stderr)

    def watch_idle(self) -> None:
        while True:
            time.sleep(min(5.0, self.idle_seconds))
            if time.monotonic() - self.last_used > self.idle_seconds:
                self.shutdown()
                return


class Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(30)
        peer = client.peer_uid(sock)
        if peer is not None and peer != os.getuid():
            return  # another user's process: no answer, and no stop either
        try:
            header = client.decode_header(client.recv_frame(sock, 1 << 20))
            raw = client.recv_frame(sock) if header.get("op") != "stop" else b""
            status, frames = self.server.serve_one(header, raw)  # type: ignore[attr-defined]
            client.send_frame(sock, status.encode())
            for frame in frames:
                client.send_frame(sock, frame.encode("utf-8", "replace"))
        except Exception:  # the client falls back to judging in-process
            return
        if status != "ok":  # exit only once the reply is out
            threading.Thread(target=self.server.shutdown, daemon=True).start()


def prewarm() -> None:
    """Load and exercise what the first call would otherwise wait for (analysers, catalogs,
    parsers, compiled patterns), so no call pays it inside its analysis time budget."""
    from safehold.analysis.registry import ANALYZERS, get_analyzer
    from safehold.decide import Guard
    from safehold.model import Action

    for kind in ANALYZERS:
        with contextlib.suppress(Exception):
            get_analyzer(kind)
    samples = (
        Action("shell", "git status && psql -c 'select 1' | grep x > /dev/null", cwd="/"),
        Action("sql", "DELETE FROM t WHERE id = 1"),
        Action("http", {"method": "GET", "url": "https://example.com/"}),
        Action("mcp", {"server": "s", "tool": "read", "arguments": {"query": "select 1"}}),
        Action("file", {"changes": [{"op": "write", "path": "/tmp/x"}]}, cwd="/tmp"),
    )
    with contextlib.suppress(Exception):
        guard = Guard.load()
        for action in samples:
            guard.decide(action)


def run(path: str, idle_seconds: float = IDLE_SECONDS) -> int:
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    lock = open(path + ".lock", "a")  # noqa: SIM115 - held for the daemon's lifetime
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return 0  # another daemon owns this socket
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    prewarm()
    server = Daemon(path, idle_seconds)
    threading.Thread(target=server.watch_idle, daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        server.recorder.drain()
        lock.close()
    return 0


def stop(path: str) -> bool:
    """Ask the daemon at `path` to exit; False when none answered."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(path)
            client.send_frame(sock, client.encode_header({"op": "stop"}))
            return client.recv_frame(sock) == b"stopped"
    except (OSError, ValueError):
        return False


def _database_url(environ: Mapping[str, str]) -> str | None:
    """Where a failure is recorded when the call's configuration was never read."""
    try:
        from safehold.config import load_config

        return load_config(environ=environ).database_url
    except Exception:  # the record then goes to the spool file
        return None


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


if __name__ == "__main__":
    idle = float(os.environ.get("SAFEHOLD_HOOKD_IDLE") or IDLE_SECONDS)
    sys.exit(run(sys.argv[1], idle))

