"""`safehold hook <agent>`: the process an agent starts before every tool call.

It must answer, and the answer must never be an accidental allow. Every agent treats a crashed
or timed-out hook as "no objection", so this entry point catches everything, and a watchdog
(SIGALRM) answers a refusal before the agent's own hook timeout would let the call through.

Fast path: hand the call to the resident daemon (`client.py`), importing nothing heavier than
sockets and JSON. Slow path, when no daemon answers: judge in-process, answer, then record the
decision from a detached child and start a daemon for the next call. `SAFEHOLD_HOOKD=0` keeps
every call in-process.
"""

from __future__ import annotations

import os
import sys
import time

try:  # the C module: `signal` itself imports enum, a tenth of this process's start-up time
    import _signal as signal
except ImportError:  # pragma: no cover - other interpreters
    import signal  # type: ignore[no-redef]

from safehold.surfaces.hooks.refusal import failure_text, refuse

TYPE_CHECKING = False
if TYPE_CHECKING:  # collections.abc and typing cost start-up time on every call
    from collections.abc import Mapping

#: agent name -> "module:Class"; imported on demand so each hook loads only its own dialect.
PROTOCOLS: dict[str, str] = {
    "claude-code": "safehold.surfaces.hooks.claude_code:ClaudeCode",
    "cursor": "safehold.surfaces.hooks.cursor:Cursor",
    "codex": "safehold.surfaces.hooks.codex:Codex",
    "gemini": "safehold.surfaces.hooks.gemini:Gemini",
    "copilot": "safehold.surfaces.hooks.copilot:Copilot",
}

USAGE = (
    "usage: safehold hook {" + "|".join(PROTOCOLS) + "} [--client FILE]  (reads the agent's "
    "JSON on stdin)\n"
    "       safehold hook --stop-daemon   (stop this environment's resident hook daemon)"
)
#: the system deployment's client settings (surfaces/hooks/system.py); when present, the hook
#: is a thin client of the server running as safehold's own user
SYSTEM_CLIENT_FILE = "/etc/safehold/client.toml"
DEFAULT_MAX_INPUT = 4 * 1024 * 1024
DEFAULT_TIMEOUT = 20.0
_CHILD = [0]  # the forked decision process, for the watchdog to stop



def protocol_for(name: str, environ: Mapping[str, str] | None = None):  # type: ignore[no-untyped-def]
    import importlib

    module_name, _, cls_name = PROTOCOLS[name].partition(":")
    return getattr(importlib.import_module(module_name), cls_name)(environ)


def main(argv: list[str]) -> int:
    """Run one hook call; returns the exit status and never raises."""
    if not argv or argv[0] in ("-h", "--help"):
        sys.stderr.write(USAGE + "\n")
        return 0 if argv else 2
    agent = argv[0]
    if agent == "--stop-daemon":
        return _stop_daemon(os.environ)
    if agent not in PROTOCOLS:
        sys.stderr.write(f"safehold: unknown agent {agent!r}; refusing. {USAGE}\n")
        return 2
    client_file = SYSTEM_CLIENT_FILE
    if len(argv) == 3 and argv[1] == "--client":
        client_file = argv[2]
        if not os.path.lexists(client_file):  # named, so never a quiet fall-back
            return _emit(refuse(agent, failure_text(f"the client file {client_file} is gone")))
    elif len(argv) > 1:
        return _emit(refuse(agent, failure_text(f"unexpected arguments {argv[1:]!r}")))
    try:
        return _run(agent, os.environ, client_file)
    except BaseException as exc:  # last line of defence: answer, never crash
        return _emit(refuse(agent, failure_text(f"{type(exc).__name__}: {exc}")))


def _run(agent: str, environ: Mapping[str, str], client_file: str = "") -> int:
    try:
        max_input = int(_number(environ, "SAFEHOLD_HOOK_MAX_INPUT", DEFAULT_MAX_INPUT))
        timeout = _number(environ, "SAFEHOLD_HOOK_TIMEOUT", DEFAULT_TIMEOUT)
    except ValueError as exc:
        return _failed(agent, str(exc), environ)
    deadline = time.monotonic() + timeout
    _arm_watchdog(agent, timeout)
    raw = sys.stdin.buffer.read(max_input + 1)
    if len(raw) > max_input:
        return _failed(agent, f"the hook input is larger than {max_input} bytes", environ)

    if client_file and os.path.lexists(client_file):
        return _system(agent, raw, client_file, deadline, environ)

    path = None
    if environ.get("SAFEHOLD_HOOKD", "1") != "0":
        from safehold.surfaces.hooks import client

        path = client.socket_path(environ)
        if path is not None:
            try:
                reply = client.ask_daemon(path, agent, raw, environ, deadline - time.monotonic())
            except client.DaemonUnavailable:
                pass
            else:
                _disarm()
                return _emit(reply)

    if hasattr(os, "fork"):
        return _judge_in_child(agent, raw, environ, deadline, path)
    return _emit(_judge(agent, raw, environ, deadline, path, before_follow_up=_disarm))


def _system(agent: str, raw: bytes, client_file: str, deadline: float,
            environ: Mapping[str, str]) -> int:
    """The system deployment: the server running as safehold's user decides, alone."""
    from safehold.surfaces.hooks import runner, system

    try:
        client = system.load(client_file)
    except system.SystemModeError as exc:
        return _failed(agent, str(exc), environ)
    assert client is not None
    result = runner.judge_remote(protocol_for(agent, environ), raw, client.server(), deadline)
    _disarm()
    a = result.answer
    return _emit((a.stdout, a.stderr, a.exit_code))


def _judge(agent, raw, environ, deadline, path, before_follow_up):  # type: ignore[no-untyped-def]
    """Decide in this process; the answer is returned before recording and daemon start-up,
    which `before_follow_up` lets the caller put behind the agent's back."""
    from safehold.surfaces.hooks import runner

    result = runner.respond(protocol_for(agent, environ), raw, environ, deadline)
    answer = (result.answer.stdout, result.answer.stderr, result.answer.exit_code)
    before_follow_up(answer)
    if result.record is not None:
        _record(result.record, result.database_url, environ)
    if path is not None:
        from safehold.surfaces.hooks import client

        client.start_daemon(path)
    return answer


def _judge_in_child(agent, raw, environ, deadline, path) -> int:  # type: ignore[no-untyped-def]
    """Judge in a forked child, so a crash in native parsing code (a signal, not an
    exception) ends in a refusal from this parent instead of a dead hook the agent reads
    as "no objection"."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: answer through the pipe, then leave the agent's pipes alone
        os.close(read_fd)

        def hand_over(answer: tuple[str, str, int]) -> None:
            stdout, stderr, code = answer
            data = f"{code}\0{stdout}\0{stderr}".encode("utf-8", "replace")
            while data:
                data = data[os.write(write_fd, data):]
            os.close(write_fd)
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)

        try:
            _judge(agent, raw, environ, deadline, path, before_follow_up=hand_over)
        finally:
            os._exit(0)
    os.close(write_fd)
    _CHILD[0] = pid
    chunks = []
    while chunk := os.read(read_fd, 65536):
        chunks.append(chunk)
    os.close(read_fd)
    parts = b"".join(chunks).decode("utf-8", "replace").split("\0", 2)
    if len(parts) == 3 and parts[0].lstrip("-").isdigit():
        _disarm()
        return _emit((parts[1], parts[2], int(parts[0])))
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        what = f"the decision process was killed by signal {os.WTERMSIG(status)}"
    else:
        what = f"the decision process ended without an answer (status {status})"
    return _failed(agent, what, environ)


def _stop_daemon(environ: Mapping[str, str]) -> int:
    from safehold.surfaces.hooks import client, daemon

    path = client.socket_path(environ)
    stopped = path is not None and daemon.stop(path)
    sys.stdout.write("stopped the hook daemon\n" if stopped else "no hook daemon was running\n")
    return 0


def _failed(agent: str, what: str, environ: Mapping[str, str]) -> int:
    """Refuse before any decision was possible, and record that it happened."""
    _disarm()
    code = _emit(refuse(agent, failure_text(what)))
    from safehold.surfaces.record import Record

    _record(Record("hook", "deny", agent=agent, failure=what), None, environ)
    return code


def _record(record: object, database_url: str | None, environ: Mapping[str, str]) -> None:
    if environ.get("SAFEHOLD_HOOK_RECORD", "1") == "0":
        return
    from safehold.surfaces.record import write_detached

    write_detached(database_url or _database_url(environ), record)  # type: ignore[arg-type]


def _database_url(environ: Mapping[str, str]) -> str | None:
    """Where a failure is recorded when the configuration was never read (or is broken)."""
    try:
        from safehold.config import load_config

        return load_config(environ=environ).database_url
    except Exception:  # the record then goes to the spool file
        return None


def _arm_watchdog(agent: str, seconds: float) -> None:
    """After `seconds`, write the refusal and exit, whatever the main path is doing."""
    if seconds <= 0 or not hasattr(signal, "SIGALRM"):
        return
    stdout, stderr, code = refuse(agent, failure_text(f"no decision within {seconds:g} s"))

    def fire(_signum: int, _frame: object) -> None:
        if _CHILD[0]:
            try:  # noqa: SIM105 - contextlib is not loaded in the hook process
                os.kill(_CHILD[0], signal.SIGKILL)
            except OSError:
                pass
        _write(1, stdout)
        _write(2, stderr)
        os._exit(code)

    signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def _disarm() -> None:
    if hasattr(signal, "SIGALRM"):
        signal.setitimer(signal.ITIMER_REAL, 0)


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise ValueError(f"{name}={raw!r} must not be negative")
    return value


def _emit(reply: tuple[str, str, int]) -> int:
    stdout, stderr, code = reply
    _write(1, stdout)
    _write(2, stderr)
    return code


def _write(fd: int, text: str) -> None:
    if not text:
        return
    data = (text if text.endswith("\n") else text + "\n").encode("utf-8", "replace")
    try:
        while data:
            data = data[os.write(fd, data):]
    except OSError:
        pass
