"""A ceiling on the CPU time one call may burn, for tests that guard against blow-ups
(catastrophic regex backtracking, quadratic nesting) on hostile input.

It counts this thread's CPU time, not the wall clock: other processes on a loaded machine do not
count against it. Every ceiling sits at least ten times above what the call takes, so only a
change in complexity trips one. How fast things are is measured in bench/, never asserted here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def at_most(seconds: float) -> Iterator[None]:
    start = time.thread_time()
    yield
    used = time.thread_time() - start
    assert used < seconds, f"{used:.2f} s of CPU where {seconds} s is the ceiling: a blow-up"
