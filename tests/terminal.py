"""Run a command on a real pseudo-terminal and answer its prompts, as a person at a keyboard.

Password prompts read from the controlling terminal and flush what was typed ahead, so each
answer is written only once its prompt has appeared.
"""

from __future__ import annotations

import os
import select
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


class Terminal:
    """A process on its own pseudo-terminal (its controlling terminal), read as it runs."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path | str):
        self.master, slave = os.openpty()

        def take_terminal() -> None:
            import fcntl
            import termios

            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     cwd=cwd, preexec_fn=take_terminal)
        os.close(slave)
        self.output = ""

    def read(self, seconds: float) -> bool:
        """Read what arrives for `seconds`; False once the terminal is closed."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:
                    return False
                if not chunk:
                    return False
                self.output += chunk.decode(errors="replace")
        return True

    def wait_for(self, text: str, timeout: float = 180, start: int = 0) -> int:
        """Wait until `text` is printed (after position `start`); where it ends."""
        end = time.monotonic() + timeout
        while (at := self.output.find(text, start)) < 0:
            if time.monotonic() > end or self.proc.poll() is not None:
                self.read(0.5)
                raise AssertionError(f"never printed {text!r}:\n{self.output}")
            self.read(0.2)
        return at + len(text)

    def type(self, answer: str) -> None:
        os.write(self.master, answer.encode() + b"\r")


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
    term = Terminal(["/bin/sh", "-c", shell_command], env, cwd)
    try:
        seen = 0
        for prompt, answer in answers:
            seen = term.wait_for(prompt, timeout, start=seen)
            term.type(answer)
        end = time.monotonic() + timeout
        while term.read(0.2) and term.proc.poll() is None:
            if time.monotonic() > end:
                term.proc.kill()
                raise AssertionError(f"{shell_command!r} did not finish:\n{term.output}")
        code = term.proc.wait(timeout=30)
        term.read(0.2)
    finally:
        os.close(term.master)
    return Typed(code, term.output)
