"""`safehold hook <agent>`: the process an agent starts before every tool call.

It must answer, and the answer must never be an accidental allow. Every agent treats a crashed
or timed-out hook as "no objection", so this entry point catches everything, and a watchdog
(SIGALRM) answers a refusal before the agent's own hook timeout would let the call through.
The decision is written to the audit log after the answer is out, by a detached child.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Mapping

from safehold.surfaces.hooks.protocol import Answer, HookInputError, Protocol

#: agent name -> "module:Class"; imported on demand so each hook loads only its own dialect.
PROTOCOLS: dict[str, str] = {
    "claude-code": "safehold.surfaces.hooks.claude_code:ClaudeCode",
    "cursor": "safehold.surfaces.hooks.cursor:Cursor",
    "codex": "safehold.surfaces.hooks.codex:Codex",
    "gemini": "safehold.surfaces.hooks.gemini:Gemini",
    "copilot": "safehold.surfaces.hooks.copilot:Copilot",
}

USAGE = "usage: safehold hook {" + "|".join(PROTOCOLS) + "}  (reads the agent's JSON on stdin)"


def protocol_for(name: str, environ: Mapping[str, str] | None = None) -> Protocol:
    import importlib

    ref = PROTOCOLS.get(name)
    if ref is None:
        raise KeyError(name)
    module_name, _, cls_name = ref.partition(":")
    return getattr(importlib.import_module(module_name), cls_name)(environ)


def main(argv: list[str]) -> int:
    """Run one hook call; returns the exit status and never raises."""
    if not argv or argv[0] in ("-h", "--help"):
        sys.stderr.write(USAGE + "\n")
        return 0 if argv else 2
    try:
        protocol = protocol_for(argv[0], os.environ)
    except Exception:  # an unknown dialect still has to block
        sys.stderr.write(f"safehold: unknown agent {argv[0]!r}; refusing. {USAGE}\n")
        return 2
    try:
        return _run(protocol, os.environ)
    except BaseException as exc:  # last line of defence: answer, never crash
        from safehold.surfaces import messages

        return _emit(protocol.refuse(messages.failure(f"{type(exc).__name__}: {exc}")))


def _run(protocol: Protocol, environ: Mapping[str, str]) -> int:
    from safehold.surfaces import messages
    from safehold.surfaces.hooks import runner, settings
    from safehold.surfaces.record import Record, write_detached

    try:
        limits = settings.Limits.from_environ(environ)
    except ValueError as exc:
        return _emit(protocol.refuse(messages.failure(str(exc))))
    deadline = time.monotonic() + limits.timeout_seconds
    _arm_watchdog(protocol, limits.timeout_seconds)
    agent = protocol.name
    try:
        payload = runner.read_payload(sys.stdin.buffer, limits.max_input_bytes)
        result = runner.judge(
            protocol, payload, lambda cwd: settings.load(environ, cwd), deadline
        )
    except HookInputError as exc:
        result = runner.Result(
            protocol.refuse(messages.failure(str(exc))),
            Record("hook", "deny", agent=agent, failure=str(exc)),
        )
    except Exception as exc:  # policy, config, server, analysis: all refuse
        what = f"{type(exc).__name__}: {exc}"
        result = runner.Result(
            protocol.refuse(messages.failure(what)),
            Record("hook", "deny", agent=agent, failure=what),
        )
    signal.setitimer(signal.ITIMER_REAL, 0)
    code = _emit(result.answer)
    if result.record is not None and environ.get("SAFEHOLD_HOOK_RECORD", "1") != "0":
        database_url = result.database_url or _database_url(environ)
        write_detached(database_url, result.record)
    return code


def _database_url(environ: Mapping[str, str]) -> str | None:
    """Where a failure is recorded when the configuration was never read (or is broken)."""
    try:
        from safehold.config import load_config

        return load_config(environ=environ).database_url
    except Exception:  # the record then goes to the spool file
        return None


def _arm_watchdog(protocol: Protocol, seconds: float) -> None:
    """After `seconds`, write the refusal and exit, whatever the main path is doing."""
    if seconds <= 0 or not hasattr(signal, "SIGALRM"):
        return
    from safehold.surfaces import messages

    answer = protocol.refuse(messages.failure(f"no decision within {seconds:g} s"))

    def fire(_signum: int, _frame: object) -> None:
        _write(1, answer.stdout)
        _write(2, answer.stderr)
        os._exit(answer.exit_code)

    signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def _emit(answer: Answer) -> int:
    _write(1, answer.stdout)
    _write(2, answer.stderr)
    return answer.exit_code


def _write(fd: int, text: str) -> None:
    if not text:
        return
    data = (text if text.endswith("\n") else text + "\n").encode("utf-8", "replace")
    try:
        while data:
            data = data[os.write(fd, data):]
    except OSError:
        pass
