"""Run a command on a real pseudo-terminal and answer its prompts, as a person at a keyboard.

Password prompts read from the controlling terminal and flush what was typed ahead, so each
answer is written only once its prompt has appeared.
"""

from __future__ import annotations

import fcntl
import os
import select
import subprocess
import termios
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Typed:
    code: int
    output: str


def run_in_terminal(
    shell_command: str,
    answers: Sequence[tuple[str, str]],
    *,
    env: dict[str, str],
    cwd: Path,
    timeout: float = 120,
) -> Typed:
    """Run `shell_command` with `/bin/sh -c` on a new terminal; for each (prompt, answer),
    wait until `prompt` has been printed, then type `answer` and Enter."""
    master, slave = os.openpty()

    def take_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(["/bin/sh", "-c", shell_command], stdin=slave, stdout=slave,
                            stderr=slave, env=env, cwd=cwd, preexec_fn=take_terminal)
    os.close(slave)
    output = b""
    pending = list(answers)
    seen = 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the command ended and closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            at = output.find(pending[0][0].encode(), seen) if pending else -1
            if at >= 0:
                prompt, answer = pending.pop(0)
                seen = at + len(prompt)  # a later identical prompt must be printed anew
                os.write(master, answer.encode() + b"\r")
            if proc.poll() is not None and not ready:
                break
        else:
            proc.kill()
            raise AssertionError(f"{shell_command!r} did not finish:\n{output.decode()}")
        code = proc.wait(timeout=30)
    finally:
        os.close(master)
    return Typed(code, output.decode(errors="replace"))
