"""Ask bash how it reads a command, without running it: the oracle the shell analysis is
checked against.

bash 5.2's `--pretty-print` mode parses its script and prints each command in bash's own
canonical form instead of executing it: line continuations are joined, each command is on its
own line, compound commands are laid out. Nothing in the script runs — not `$(…)`, not a
here-document, not `exit` — as long as three things hold, and this module holds them:

- the script comes on stdin, never through `-c` (bash runs a `-c` string even in this mode);
- the environment is empty but for PATH (a `BASH_ENV` file would be sourced at start-up), and
  PATH names no directory, so even a start-up file could find no program;
- `--noprofile --norc`, so no profile or rc file is read.

`canonical()` starts one bash per call (~3–6 ms); `ResidentOracle` keeps one bash reading
from a pipe and separates inputs with a sentinel command carrying a random nonce (~25 µs per
call), restarting it when an input leaves a construct open (the sentinel never comes back) or
ends in a syntax error (bash exits). Neither is on the decision path: docs/shell-analysis.md
says why, and the test suite and `bench/fuzz_decide.py --oracle` use them to find where the
analysis reads a command differently from bash.
"""

from __future__ import annotations

import os
import secrets
import select
import shutil
import subprocess
import time
from dataclasses import dataclass
from functools import lru_cache

_ENV = {"PATH": "/nonexistent", "LC_ALL": "C"}
_ARGS = ("--noprofile", "--norc", "--pretty-print")


@dataclass(frozen=True, slots=True)
class Reading:
    """bash's reading of one input: its canonical text, or the syntax error it reported."""

    ok: bool
    text: str = ""
    error: str = ""


@lru_cache(maxsize=1)
def bash_path() -> str | None:
    """A bash that has `--pretty-print` (5.2 or later), or None."""
    path = shutil.which("bash")
    if path is None:
        return None
    try:
        probe = subprocess.run([path, *_ARGS], input=b":\n", capture_output=True, env=_ENV,
                               timeout=5, cwd="/")
    except (OSError, subprocess.TimeoutExpired):
        return None
    return path if probe.returncode == 0 and probe.stdout.strip() == b":" else None


def canonical(text: str, timeout: float = 5.0) -> Reading:
    """bash's canonical form of `text`, from a fresh bash that runs none of it."""
    path = bash_path()
    if path is None:
        raise RuntimeError("no bash with --pretty-print (bash 5.2 or later) on PATH")
    try:
        done = subprocess.run([path, *_ARGS], input=text.encode("utf-8", "surrogatepass"),
                              capture_output=True, env=_ENV, timeout=timeout, cwd="/")
    except subprocess.TimeoutExpired:
        return Reading(False, error="bash did not finish reading the input")
    err = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0 or "syntax error" in err or "unexpected end of file" in err:
        return Reading(False, error=err.strip())
    return Reading(True, done.stdout.decode("utf-8", "replace"), err.strip())


class ResidentOracle:
    """One long-lived bash in pretty-print mode; `read()` is `canonical()` without the start-up.

    An input that leaves a quote, here-document or compound command open swallows the
    sentinel: after `timeout` the process is replaced and the input reported as unreadable.
    """

    def __init__(self, timeout: float = 0.5):
        path = bash_path()
        if path is None:
            raise RuntimeError("no bash with --pretty-print (bash 5.2 or later) on PATH")
        self.path = path
        self.timeout = timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def _start(self) -> subprocess.Popen[bytes]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen([self.path, *_ARGS], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         env=_ENV, cwd="/")
            if self.proc.stderr is not None:
                os.set_blocking(self.proc.stderr.fileno(), False)
        return self.proc

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                if f is not None:
                    f.close()
            self.proc = None

    def _restart(self) -> None:
        self.close()
        self.restarts += 1

    def read(self, text: str) -> Reading:
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        nonce = secrets.token_hex(8)
        marker = f": __safehold_oracle_{nonce}__".encode()
        try:
            proc.stdin.write(text.encode("utf-8", "surrogatepass") + b"\n" + marker + b"\n")
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self._restart()
            return Reading(False, error="bash stopped reading")
        out = b""
        deadline = time.monotonic() + self.timeout
        fd = proc.stdout.fileno()
        while marker not in out:
            left = deadline - time.monotonic()
            ready = select.select([fd], [], [], max(left, 0))[0] if left > 0 else []
            chunk = os.read(fd, 65536) if ready else b""
            if not chunk:
                err = self._stderr(proc)
                self._restart()
                if not ready:
                    return Reading(False, error="input left a construct open; bash waited "
                                   "for more")
                return Reading(False, error=err or "bash stopped reading")
            out += chunk
        err = self._stderr(proc)
        if "syntax error" in err:
            self._restart()
            return Reading(False, error=err)
        body = out[:out.index(marker)]
        return Reading(True, body.decode("utf-8", "replace"), err)

    @staticmethod
    def _stderr(proc: subprocess.Popen[bytes]) -> str:
        assert proc.stderr is not None
        try:
            data = proc.stderr.read() or b""
        except (BlockingIOError, OSError):
            data = b""
        return data.decode("utf-8", "replace").strip()
