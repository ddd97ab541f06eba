"""The audit chain's health for the banner on every dashboard page, kept current cheaply.

A broken chain must be seen by whoever signs in, on whatever page, not only by someone who
opens the Audit page. Walking the whole chain on every page would cost a read of the entire log
per click, so the watch remembers the head it last verified and, on each page, checks only
that this head is still there unaltered and that every record written since links onto it.
Edits deeper in the log are caught by a full walk (with the signed checkpoints) at most every
`full_every` seconds, and by every visit to the Audit page. Once broken, the banner stays until
a full walk passes again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from safehold.audit.log import AuditEntry
from safehold.store.models import AuditRecord


class ChainWatch:
    def __init__(
        self,
        sh: Any,
        full_check: Callable[[Any], dict[str, Any]],
        *,
        full_every: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._sh = sh
        self._full_check = full_check
        self._full_every = full_every
        self._clock = clock
        self._lock = threading.Lock()
        self._head: tuple[int, str] | None = None
        self._problem: str | None = None
        self._last_full: float | None = None

    def problem(self) -> str | None:
        """None while the chain holds; otherwise what is wrong with it."""
        with self._lock:
            if self._problem is not None:
                return self._problem
            due = self._last_full is None or self._clock() - self._last_full >= self._full_every
            if due:
                self._note_full(self._full_check(self._sh))
            else:
                self._problem = self._check_since_head()
            return self._problem

    def note_full(self, result: dict[str, Any]) -> None:
        """Take the outcome of a full walk made elsewhere (the Audit page)."""
        with self._lock:
            self._note_full(result)

    def _note_full(self, result: dict[str, Any]) -> None:
        self._last_full = self._clock()
        if result.get("ok"):
            self._problem = None
            seq, digest = result.get("head_seq"), result.get("head_hash")
            self._head = (int(seq), str(digest)) if seq is not None and digest else None
        else:
            self._problem = str(result.get("message") or "the audit chain does not verify")

    def _check_since_head(self) -> str | None:
        start = self._head[0] if self._head else 0
        q = (select(AuditRecord).where(AuditRecord.seq >= max(start, 1))
             .order_by(AuditRecord.seq).limit(5000))
        with self._sh.store.session() as s:
            entries = [AuditEntry.from_row(r) for r in s.scalars(q)]
        prev_seq, prev_hash = 0, None
        if self._head is not None:
            if not entries or entries[0].seq != self._head[0]:
                return (f"record {self._head[0]}, verified earlier, is gone "
                        "(records were removed from the end)")
            head = entries.pop(0)
            if head.hash != self._head[1] or head.computed_hash() != head.hash:
                return f"record {head.seq} was altered after it was verified"
            prev_seq, prev_hash = head.seq, head.hash
        for e in entries:
            if e.seq != prev_seq + 1:
                return f"record {prev_seq + 1} is missing (sequence jumps to {e.seq})"
            if prev_hash is not None and e.prev_hash != prev_hash:
                return f"record {e.seq} does not link to record {prev_seq} (chain broken)"
            if e.computed_hash() != e.hash:
                return f"record {e.seq} was altered (its hash does not match)"
            prev_seq, prev_hash = e.seq, e.hash
        if prev_hash is not None:
            self._head = (prev_seq, prev_hash)
        return None
