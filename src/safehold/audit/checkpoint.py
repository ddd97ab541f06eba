"""Signed checkpoints of the audit chain, kept outside the database (after CloudTrail's digests).

A hash chain shows an edit, but not a chain cut short or rewritten end to end by someone who
can write the database and recompute every hash with the project's own function. So the server
signs the chain head (seq, head hash, time) with its Ed25519 key on a schedule, on shutdown and
on demand, and appends each checkpoint to a JSON-lines file in another directory (and posts it
to webhooks subscribed to `audit.checkpoint`). Each checkpoint names the digest of the one
before it, so lines removed from the middle of the file show too.

`check_checkpoints` then needs no anchor from anyone: a chain shorter than a checkpoint was cut,
a record whose hash differs from the signed head hash at its seq was rewritten. The server
refuses to sign a head that contradicts the previous checkpoint, so a tampered log is never
blessed by a fresh signature.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from safehold.audit.log import GENESIS, AuditLog, VerifyResult, canonical_json
from safehold.audit.signing import Signer, Verifier, load_verifier
from safehold.config import AuditSettings
from safehold.errors import AuditError
from safehold.owner_only import FILE_MODE, private_dir
from safehold.store.models import AuditRecord

log = logging.getLogger(__name__)
VERSION = 1
_DOMAIN = b"safehold audit checkpoint v1\n"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One signed statement: "the chain had `seq` records ending in `head_hash` at `ts`"."""

    seq: int
    head_hash: str
    ts: str
    key_id: str
    prev: str
    signature: str = ""
    v: int = VERSION

    def message(self) -> bytes:
        """The signed bytes: every field but the signature, canonical, domain-separated."""
        body = {k: v for k, v in asdict(self).items() if k != "signature"}
        return _DOMAIN + canonical_json(body).encode("utf-8")

    def digest(self) -> str:
        """What the next checkpoint names as `prev`."""
        return hashlib.sha256(canonical_json(asdict(self)).encode("utf-8")).hexdigest()

    def line(self) -> str:
        return canonical_json(asdict(self))

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        try:
            data = json.loads(text)
            cp = cls(**data)
        except (ValueError, TypeError) as exc:
            raise AuditError(f"not a checkpoint ({exc})") from exc
        if not isinstance(cp.seq, int) or cp.seq < 0 or not isinstance(cp.head_hash, str):
            raise AuditError("not a checkpoint (bad seq or head_hash)")
        return cp


class CheckpointFile:
    """The append-only JSON-lines sink: one checkpoint per line, fsynced, mode 0600."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)

    def append(self, cp: Checkpoint) -> None:
        private_dir(self.path.parent, dedicated=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
        try:
            os.write(fd, (cp.line() + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def exists(self) -> bool:
        return self.path.exists()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the file's lock (a `.lock` file beside it, flock'd) while reading the last
        checkpoint and appending the next: two servers sharing one checkpoint file (on one
        machine, or on storage that honours flock) would otherwise both sign after the same
        line and fork the file's chain."""
        private_dir(self.path.parent, dedicated=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT,
                     FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def read(self) -> list[Checkpoint]:
        """Every checkpoint, oldest first; a line that is not one raises AuditError."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise AuditError(f"cannot read {self.path}: {exc.strerror}") from exc
        out = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    out.append(Checkpoint.parse(line))
                except AuditError as exc:
                    raise AuditError(f"{self.path} line {n}: {exc}") from exc
        return out

    def last(self) -> Checkpoint | None:
        """The newest checkpoint, read from the end of the file."""
        try:
            with self.path.open("rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - 8192))
                lines = [ln for ln in f.read().splitlines() if ln.strip()]
        except FileNotFoundError:
            return None
        return Checkpoint.parse(lines[-1].decode("utf-8")) if lines else None


class Checkpointer:
    """Signs the head of one audit log into one checkpoint file (and optional extra sinks)."""

    def __init__(
        self,
        audit: AuditLog,
        signer: Signer,
        sink: CheckpointFile,
        *,
        publish: Iterable[Callable[[Checkpoint], Any]] = (),
        clock: Callable[[], datetime] | None = None,
    ):
        self.audit = audit
        self.signer = signer
        self.sink = sink
        self.publish = tuple(publish)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._last_problem: str | None = None

    def sign_or_report(self) -> Checkpoint | None:
        """`checkpoint()` for the server's schedule: a refusal is logged and audited (once per
        distinct problem) instead of raised, so the server keeps deciding."""
        try:
            return self.checkpoint()
        except AuditError as exc:
            problem = str(exc)
            if problem != self._last_problem:
                self._last_problem = problem
                log.error("%s", problem)
                try:
                    self.audit.append("audit.checkpoint_refused", {"problem": problem})
                except AuditError:
                    log.exception("could not audit a refused checkpoint")
            return None

    def checkpoint(self) -> Checkpoint | None:
        """Sign the current head; None when the newest checkpoint already covers it. Raises
        AuditError, and signs nothing, when the log contradicts the previous checkpoint."""
        with self._lock, self.sink.locked():
            last = self.sink.last()
            head = self.audit.tail(1)
            seq, head_hash = (head[0].seq, head[0].hash) if head else (0, GENESIS)
            if last is not None:
                if (seq, head_hash) == (last.seq, last.head_hash):
                    return None
                problem = _contradiction(self.audit, last, seq)
                if problem:
                    raise AuditError(f"not signing the audit head: {problem}")
            cp = Checkpoint(
                seq=seq,
                head_hash=head_hash,
                ts=self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                key_id=self.signer.verifier.key_id,
                prev=last.digest() if last is not None else GENESIS,
            )
            cp = Checkpoint(**{**asdict(cp), "signature": self.signer.sign(cp.message())})
            self.sink.append(cp)
        for publish in self.publish:
            try:
                publish(cp)
            except Exception:  # another sink failing must not undo the file's copy
                log.exception("could not publish an audit checkpoint")
        return cp


def checkpointer_for(
    audit: AuditLog,
    settings: AuditSettings,
    publish: Iterable[Callable[[Checkpoint], Any]] = (),
) -> Checkpointer:
    """The server's checkpointer: its key (created on first use) and its checkpoint file."""
    from safehold.audit.signing import load_or_create_signer

    return Checkpointer(
        audit,
        load_or_create_signer(settings.signing_key_path),
        CheckpointFile(settings.checkpoints_path),
        publish=publish,
    )


@dataclass(frozen=True, slots=True)
class CheckpointReport:
    ok: bool
    checkpoints: int
    newest: Checkpoint | None = None
    problem: str | None = None


def check_checkpoints(
    audit: AuditLog, chain: VerifyResult, settings: AuditSettings
) -> CheckpointReport:
    """Check the (already verified) chain against every signed checkpoint on file."""
    sink = CheckpointFile(settings.checkpoints_path)
    verifier = load_verifier(settings.signing_key_path)
    try:
        checkpoints = sink.read()
    except AuditError as exc:
        return CheckpointReport(False, 0, problem=str(exc))
    if verifier is None:
        if checkpoints:
            return CheckpointReport(
                False,
                len(checkpoints),
                problem=f"{sink.path} holds checkpoints but the public key "
                f"{settings.signing_key_path}.pub is missing, so none can be checked",
            )
        return CheckpointReport(True, 0)
    if not checkpoints:
        return CheckpointReport(
            False,
            0,
            problem=f"a checkpoint key exists ({settings.signing_key_path}) but {sink.path} "
            "holds no checkpoint: the signed checkpoints were removed",
        )
    problem = _check_signatures(checkpoints, verifier, sink.path)
    newest = checkpoints[-1]
    if problem is None:
        problem = _check_chain(audit, chain, checkpoints)
    return CheckpointReport(problem is None, len(checkpoints), newest, problem)


def _check_signatures(checkpoints: list[Checkpoint], verifier: Verifier, path: Path) -> str | None:
    prev = GENESIS
    for n, cp in enumerate(checkpoints, 1):
        if cp.key_id != verifier.key_id:
            return f"{path} checkpoint {n} was signed with another key ({cp.key_id})"
        if not verifier.valid(cp.message(), cp.signature):
            return f"{path} checkpoint {n} has an invalid signature (forged or edited)"
        if cp.prev != prev:
            return f"{path} checkpoint {n} does not follow checkpoint {n - 1} (lines removed)"
        prev = cp.digest()
    return None


def _check_chain(
    audit: AuditLog, chain: VerifyResult, checkpoints: list[Checkpoint]
) -> str | None:
    head = chain.head_seq or 0
    beyond = [cp for cp in checkpoints if cp.seq > head]
    if beyond:
        cp = max(beyond, key=lambda c: c.seq)
        return (
            f"the log ends at record {head} but the checkpoint signed {cp.ts} covers record "
            f"{cp.seq}: records {head + 1}-{cp.seq} were removed (truncated)"
        )
    hashes = _hashes_at(audit, {cp.seq for cp in checkpoints if cp.seq > 0})
    for cp in checkpoints:
        if cp.seq > 0 and hashes.get(cp.seq) != cp.head_hash:
            return (
                f"record {cp.seq} differs from the checkpoint signed {cp.ts}: the log was "
                "rewritten and its hashes recomputed"
            )
    return None


def _contradiction(audit: AuditLog, last: Checkpoint, head_seq: int) -> str | None:
    if head_seq < last.seq:
        return (
            f"the log ends at record {head_seq} but the previous checkpoint covers record "
            f"{last.seq} (records were removed)"
        )
    if last.seq > 0 and _hashes_at(audit, {last.seq}).get(last.seq) != last.head_hash:
        return f"record {last.seq} differs from the previous checkpoint (the log was rewritten)"
    return None


def _hashes_at(audit: AuditLog, seqs: set[int]) -> dict[int, str]:
    wanted = sorted(seqs)
    found: dict[int, str] = {}
    with audit.store.session() as s:
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            q = select(AuditRecord.seq, AuditRecord.hash).where(AuditRecord.seq.in_(chunk))
            found.update({seq: h for seq, h in s.execute(q)})
    return found
