"""The append-only, hash-chained audit log.

Each record's hash is the SHA-256 of the canonical JSON of all its fields, including the hash
of the record before it, so changing, removing or reordering any record breaks the chain at
that record and `verify()` names it. Appends are serialised through `Store.write()` (a lock
on PostgreSQL, BEGIN IMMEDIATE on SQLite), so concurrent writers in several processes still
build one unbroken chain. Payloads are redacted before they are hashed and written.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from safehold.audit.redact import redact
from safehold.errors import AuditError, SafeholdError
from safehold.store.db import Store
from safehold.store.models import AuditRecord

GENESIS = "0" * 64
#: The PostgreSQL advisory lock key every append holds from reading the head to commit.
AUDIT_CHAIN_LOCK = 0x5AFE0A0D
COLUMNS = (
    "actor",
    "agent",
    "session",
    "tool_use_id",
    "parent_session",
    "environment",
    "decision",
)
_LIMITS = {
    "actor": 200,
    "agent": 100,
    "session": 200,
    "tool_use_id": 200,
    "parent_session": 200,
    "environment": 100,
    "decision": 16,
}


def canonical_json(value: Any) -> str:
    """The one serialisation that is hashed: sorted keys, no spaces, UTF-8 as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One record as written (payload is the canonical JSON text that was hashed)."""

    seq: int
    ts: datetime
    type: str
    actor: str | None
    agent: str | None
    session: str | None
    tool_use_id: str | None
    parent_session: str | None
    environment: str | None
    decision: str | None
    payload: str
    prev_hash: str
    hash: str

    @property
    def data(self) -> Any:
        return json.loads(self.payload)

    def row(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in _FIELDS}

    def canonical(self) -> str:
        values = {f: getattr(self, f) for f in HASHED_FIELDS}
        return canonical_json({f: _ts(v) if isinstance(v, datetime) else v
                               for f, v in values.items()})

    def computed_hash(self) -> str:
        return hashlib.sha256(self.canonical().encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """The exported form: every hashed field, with the payload parsed for readers."""
        d = self.row()
        d["ts"] = _ts(self.ts)
        d["payload"] = self.data
        return d

    @classmethod
    def from_row(cls, row: AuditRecord) -> AuditEntry:
        return cls(**{f: getattr(row, f) for f in _FIELDS})


_FIELDS = tuple(f.name for f in fields(AuditEntry))
#: The columns a record's hash covers: every field but the hash itself. The tamper tests edit
#: each of these one at a time, so a column added to AuditEntry is covered the day it is added.
HASHED_FIELDS = tuple(f for f in _FIELDS if f != "hash")


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    records: int
    first_bad_seq: int | None = None
    problem: str | None = None
    head_seq: int | None = None
    head_hash: str | None = None


def _ts(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AuditLog:
    """Append, read back and verify the chain held in one store."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime] | None = None,
        redactor: Callable[[Any], Any] = redact,
    ):
        self.store = store
        self._clock = clock or (lambda: datetime.now(UTC))
        self._redact = redactor
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()
        self._leader = threading.Lock()

    def append(
        self,
        type: str,
        payload: Mapping[str, Any] | None = None,
        *,
        within: Session | None = None,
        recheck: Recheck | None = None,
        **columns: str | None,
    ) -> AuditEntry:
        """Add one record. `within` joins a caller's `Store.write()` transaction, so a state
        change and its audit record commit together or not at all. `recheck` runs inside the
        transaction that makes the record durable; when it no longer holds, the record it
        names is written instead and `Refused` is raised."""
        unknown = set(columns) - set(COLUMNS)
        if unknown:
            raise AuditError(f"unknown audit columns: {', '.join(sorted(unknown))}")
        if not type or len(type) > 64:
            raise AuditError(f"audit record type must be 1-64 characters, got {type!r}")
        text = canonical_json(self._redact(dict(payload or {})))
        values = {k: _clip(k, v) for k, v in columns.items()}
        if within is not None:
            if recheck is not None:
                raise AuditError("recheck applies to group-committed records, not within=")
            return self._append(within, type, text, values)
        return self._group_commit(_Pending(type, text, values, recheck))

    def _group_commit(self, mine: _Pending) -> AuditEntry:
        """Write `mine`, together with whatever other threads queued meanwhile, in one
        transaction: one durable commit (one fsync) serves the whole batch, which is what
        lets concurrent writers reach thousands of records per second."""
        with self._queue_lock:
            self._queue.append(mine)
        with self._leader:
            if not mine.done.is_set():
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                try:
                    with self.store.write() as s:
                        self._recheck(s, batch)
                        entries = self._append_many(s, batch)
                    for p, e in zip(batch, entries, strict=True):
                        p.entry = e
                except SQLAlchemyError as exc:
                    error = AuditError(f"cannot write audit record ({batch[0].type}): {exc}")
                    for p in batch:
                        p.error = error
                except BaseException as exc:
                    for p in batch:
                        p.error = exc
                finally:
                    for p in batch:
                        p.done.set()
        mine.done.wait()
        if mine.error is not None:
            raise mine.error
        assert mine.entry is not None
        if mine.refused is not None:
            raise Refused(mine.refused, mine.entry)
        return mine.entry

    def _recheck(self, s: Session, batch: list[_Pending]) -> None:
        """Run each pending record's recheck inside the batch's transaction (once per key:
        a batch from one caller pays for one check) and swap in the refusal record where
        the check no longer holds."""
        seen: dict[str, tuple[str, Mapping[str, Any]] | None] = {}
        for p in batch:
            if p.recheck is None:
                continue
            if p.recheck.key not in seen:
                seen[p.recheck.key] = p.recheck.check(s)
            instead = seen[p.recheck.key]
            if instead is not None:
                p.type, payload = instead
                p.payload = canonical_json(self._redact(dict(payload)))
                p.columns = {**p.columns, "decision": None}
                p.refused = str(payload.get("problem", p.type))

    def _append(
        self, s: Session, type: str, payload: str, columns: dict[str, str | None]
    ) -> AuditEntry:
        return self._append_many(s, [_Pending(type, payload, columns)])[0]

    def _append_many(self, s: Session, batch: list[_Pending]) -> list[AuditEntry]:
        """Chain and insert records in order, with one read of the head and one insert.

        The chain is serialised in the database, not in this process: on PostgreSQL the
        transaction first takes the chain's advisory lock (held to commit), so every server
        sharing the database reads the head only after the previous append committed, and the
        chain stays one line however many servers write it. On SQLite the caller's
        `Store.write()` (BEGIN IMMEDIATE) already holds the only write lock there is."""
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_CHAIN_LOCK})
        last = s.execute(
            select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)
        ).first()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        ts = self._clock().astimezone(UTC)
        entries = []
        for p in batch:
            entry = AuditEntry(
                seq=seq,
                ts=ts,
                type=p.type,
                payload=p.payload,
                prev_hash=prev,
                hash="",
                **{k: p.columns.get(k) for k in COLUMNS},
            )
            entry = replace(entry, hash=entry.computed_hash())
            entries.append(entry)
            seq, prev = seq + 1, entry.hash
        s.execute(insert(AuditRecord), [e.row() for e in entries])
        return entries

    def get(self, seq: int) -> AuditEntry | None:
        with self.store.session() as s:
            row = s.get(AuditRecord, seq)
            return AuditEntry.from_row(row) if row else None

    def tail(self, n: int = 20, **filters: str | int | None) -> list[AuditEntry]:
        """The newest `n` records matching the filters (column=value, `since_seq`), oldest first."""
        q = select(AuditRecord)
        for key, value in filters.items():
            if value is None:
                continue
            if key == "since_seq":
                q = q.where(AuditRecord.seq > int(value))
            elif key in COLUMNS or key == "type":
                q = q.where(getattr(AuditRecord, key) == value)
            else:
                raise AuditError(f"unknown audit filter {key!r}")
        q = q.order_by(AuditRecord.seq.desc()).limit(max(0, n))
        with self.store.session() as s:
            rows = s.scalars(q).all()
            return [AuditEntry.from_row(r) for r in reversed(rows)]

    def entries(self, start: int = 1, batch: int = 1000) -> Iterator[AuditEntry]:
        """Every record from `start` in order, read in batches (the log may be large)."""
        after = start - 1
        while True:
            with self.store.session() as s:
                rows = s.scalars(
                    select(AuditRecord)
                    .where(AuditRecord.seq > after)
                    .order_by(AuditRecord.seq)
                    .limit(batch)
                ).all()
                entries = [AuditEntry.from_row(r) for r in rows]
            yield from entries
            if len(entries) < batch:
                return
            after = entries[-1].seq

    def export(self, format: str = "jsonl") -> Iterator[str]:
        """Lines of the whole log: `jsonl` is one record per line with every hashed field;
        `otlp` is OpenTelemetry logs requests (OTLP/JSON), one per line."""
        if format == "otlp":
            from safehold.audit.otlp import otlp_lines

            return otlp_lines(self.entries())
        if format != "jsonl":
            raise AuditError(f"unknown export format {format!r}; supported: jsonl, otlp")
        return (json.dumps(e.to_dict(), ensure_ascii=False, sort_keys=True) for e in self.entries())

    def verify(self, *, anchor: tuple[int, str] | None = None) -> VerifyResult:
        """Walk the chain and name the first record that was edited, removed or moved.

        A chain cannot show that records were cut from its end; `anchor` (a seq and hash
        noted earlier, e.g. from a previous verify) catches that."""
        try:
            return verify_entries(self.entries(), anchor=anchor)
        except SQLAlchemyError as exc:
            raise AuditError(f"cannot read the audit log: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Recheck:
    """A condition a record's writer relied on (a token still valid, say), checked again in
    the transaction that makes the record durable. `check` returns None while it holds, else
    the record `(type, payload)` to write instead; `payload["problem"]` says why. Records with
    the same `key` in one batch share one check."""

    key: str
    check: Callable[[Session], tuple[str, Mapping[str, Any]] | None]


class Refused(SafeholdError):
    """A record's recheck failed: `entry` is the refusal that was written in its place."""

    def __init__(self, problem: str, entry: AuditEntry):
        super().__init__(problem)
        self.problem = problem
        self.entry = entry


@dataclass(slots=True)
class _Pending:
    type: str
    payload: str
    columns: dict[str, str | None]
    recheck: Recheck | None = None
    refused: str | None = None
    done: threading.Event = field(default_factory=threading.Event)
    entry: AuditEntry | None = None
    error: BaseException | None = None


def _clip(key: str, value: str | None) -> str | None:
    if value is None:
        return None
    value = str(value)
    return value[: _LIMITS[key]]


def verify_entries(
    entries: Iterator[AuditEntry] | list[AuditEntry], *, anchor: tuple[int, str] | None = None
) -> VerifyResult:
    """Check sequence, links and hashes of records given in the order they are stored."""
    expected_seq, prev_hash, count = 1, GENESIS, 0
    anchor_seen = anchor is None
    last: AuditEntry | None = None
    for e in entries:
        count += 1
        if e.seq != expected_seq:
            if e.seq > expected_seq:
                missing = (
                    f"record {expected_seq} is missing"
                    if e.seq == expected_seq + 1
                    else f"records {expected_seq}-{e.seq - 1} are missing"
                )
                return _bad(count, e.seq, f"{missing} (sequence jumps to {e.seq})")
            return _bad(count, e.seq, f"record {e.seq} is out of order (expected {expected_seq})")
        if e.prev_hash != prev_hash:
            return _bad(
                count, e.seq, f"record {e.seq} does not link to record {e.seq - 1} (chain broken)"
            )
        if e.computed_hash() != e.hash:
            return _bad(count, e.seq, f"record {e.seq} was altered (its hash does not match)")
        if anchor is not None and e.seq == anchor[0]:
            if e.hash != anchor[1]:
                return _bad(count, e.seq, f"record {e.seq} differs from the anchor")
            anchor_seen = True
        prev_hash, expected_seq, last = e.hash, e.seq + 1, e
    if not anchor_seen:
        assert anchor is not None
        return _bad(
            count,
            expected_seq,
            f"the log ends at record {expected_seq - 1} but the anchor names record {anchor[0]}"
            " (records were removed from the end)",
        )
    return VerifyResult(
        ok=True,
        records=count,
        head_seq=last.seq if last else None,
        head_hash=last.hash if last else None,
    )


def entries_from_export(lines: Iterable[str]) -> Iterator[AuditEntry]:
    """Records read back from `export()` output, so an exported copy can be verified offline
    (`safehold audit verify --file`). A line that is not a record raises AuditError."""
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            row["ts"] = datetime.fromisoformat(row["ts"].replace("Z", "+00:00"))
            row["payload"] = canonical_json(row["payload"])
            yield AuditEntry(**row)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise AuditError(f"line {n}: not an exported audit record ({exc})") from exc


def _bad(count: int, seq: int, problem: str) -> VerifyResult:
    return VerifyResult(ok=False, records=count, first_bad_seq=seq, problem=problem)
