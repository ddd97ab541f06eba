"""Restore drills: prove the newest snapshot of a resource comes back, and measure how long
that takes (RTO) and how old the newest independent copy is (RPO).

A drill restores into a scratch target — a new database on the same PostgreSQL server, or a
temp directory for files — checks it (every part's checksum on the way in, the row count of
every table, and a query the user names, which must succeed), and removes the scratch target.
"""

from __future__ import annotations

import secrets
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from safehold.errors import SnapshotError
from safehold.protection.interface import Manifest, SnapshotStore
from safehold.protection.snapshot import restore


@dataclass(frozen=True, slots=True)
class DrillResult:
    snapshot: str
    source: str
    ok: bool
    rto_seconds: float
    rpo_seconds: float
    checks: tuple[str, ...] = ()
    error: str | None = None
    store: str = ""
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["checks"] = list(self.checks)
        return d


def newest(stores: list[SnapshotStore], source: str | None = None) -> tuple[SnapshotStore,
                                                                             Manifest] | None:
    """The newest snapshot (of `source`, matched on the manifest's shown source)."""
    best: tuple[SnapshotStore, Manifest] | None = None
    for store in stores:
        for m in store.manifests():
            if source and m.source != source:
                continue
            if best is None or m.created_at > best[1].created_at:
                best = (store, m)
    return best


def run_drill(
    store: SnapshotStore,
    manifest: Manifest,
    *,
    connect_url: str | None = None,
    query: str | None = None,
    now: Callable[[], datetime] | None = None,
) -> DrillResult:
    """Restore `manifest` into scratch, check it, remove it. `connect_url` is the source's
    URL with credentials (PostgreSQL); the scratch database is created beside it."""
    clock = now or (lambda: datetime.now(UTC))
    rpo = (clock() - datetime.fromisoformat(manifest.created_at)).total_seconds()
    started = time.monotonic()
    checks: list[str] = []
    counts: dict[str, int] = {}
    work = Path(tempfile.mkdtemp(prefix="safehold-drill-"))
    scratch = ""
    try:
        if manifest.driver == "postgresql":
            from safehold.protection.postgres import with_database

            scratch = with_database(connect_url or manifest.source,
                                    f"safehold_drill_{secrets.token_hex(4)}")
        else:
            scratch = str(work / "restored")
        restore(store, manifest.id, scratch)
        checks.append(f"{len(manifest.parts)} part(s) match their sha256")
        counts = _counts(manifest, scratch)
        checks += [f"{t}: {n} rows" for t, n in sorted(counts.items())]
        expected = manifest.details.get("rows")
        if manifest.scope == "rows" and expected is not None:
            got = sum(counts.values())
            if got != expected:
                raise SnapshotError(f"restored {got} rows; the snapshot captured {expected}")
        if query:
            checks.append(f"query returned {_query(manifest, scratch, query)} row(s)")
        rto = time.monotonic() - started
        return DrillResult(manifest.id, manifest.source, True, rto, rpo, tuple(checks),
                           store=store.name, counts=counts)
    except Exception as exc:  # a drill reports any failure as its outcome
        return DrillResult(manifest.id, manifest.source, False, time.monotonic() - started,
                           rpo, tuple(checks), f"{type(exc).__name__}: {exc}", store.name,
                           counts)
    finally:
        if manifest.driver == "postgresql" and scratch:
            _drop(scratch)
        shutil.rmtree(work, ignore_errors=True)


def _counts(manifest: Manifest, scratch: str) -> dict[str, int]:
    if manifest.driver == "postgresql":
        import psycopg

        from safehold.protection.postgres import libpq

        conninfo, env = libpq(scratch)
        with psycopg.connect(conninfo, password=env.get("PGPASSWORD")) as c:
            tables = [r[0] for r in c.execute(
                "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
                "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")]
            return {t: int(c.execute(f"SELECT count(*) FROM {t}").fetchone()[0])  # type: ignore[index]
                    for t in tables}
    if manifest.driver == "sqlite":
        with sqlite3.connect(scratch) as c:
            tables = [r[0] for r in c.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {t: c.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    files = sum(1 for p in Path(scratch).rglob("*") if p.is_file()) if Path(
        scratch).is_dir() else 1
    return {"files": files}


def _query(manifest: Manifest, scratch: str, query: str) -> int:
    if manifest.driver == "postgresql":
        import psycopg

        from safehold.protection.postgres import libpq

        conninfo, env = libpq(scratch)
        with psycopg.connect(conninfo, password=env.get("PGPASSWORD")) as c:
            c.execute("SET TRANSACTION READ ONLY")
            return len(c.execute(query).fetchall())  # type: ignore[arg-type]
    if manifest.driver == "sqlite":
        with sqlite3.connect(f"file:{scratch}?mode=ro", uri=True) as c:
            return len(c.execute(query).fetchall())
    raise SnapshotError("a drill query needs a database snapshot")


def _drop(url: str) -> None:
    from safehold.protection.postgres import drop_database, libpq

    drop_database(url, libpq(url)[1])
