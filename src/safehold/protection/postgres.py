"""PostgreSQL snapshots with the machine's own tools: `pg_dump -Fc` for a database or a set of
tables, and psycopg's `COPY (SELECT … WHERE …) TO STDOUT` for exactly the rows a `DELETE` or
`UPDATE` will touch (with the table's definition from `pg_dump --schema-only`).

The row query runs in a READ ONLY transaction: the predicate came from the agent's statement
(re-generated from its parse, never pasted), and must not be able to write. Passwords travel
in PGPASSWORD, never on a command line. Restores use `pg_restore --single-transaction
--exit-on-error` or one COPY transaction, so a failure writes nothing.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from safehold.errors import SnapshotError
from safehold.protection.interface import CHUNK, Capture, Manifest, PartOpener, SnapshotDriver

LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1"})


def pg_tool(name: str) -> str:
    """`pg_dump`/`pg_restore`/`psql`: $SAFEHOLD_PG_BIN, else the newest installed major
    version's own binary (Debian's wrapper adds a Perl start-up), else PATH."""
    override = os.environ.get("SAFEHOLD_PG_BIN")
    candidates = [os.path.join(override, name)] if override else []
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                      key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    candidates += reversed(versions)
    found = shutil.which(name)
    if found:
        candidates.append(found)
    for c in candidates:
        if os.access(c, os.X_OK):
            return c
    raise SnapshotError(f"{name} is not installed on this machine (install the PostgreSQL "
                        "client, or set SAFEHOLD_PG_BIN to its bin directory)")


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without its password, and the environment that carries the password."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in ("postgresql", "postgres"):
        raise SnapshotError(f"not a PostgreSQL URL: {parts.scheme}://…")
    env = dict(os.environ)
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit(("postgresql", netloc, parts.path, parts.query, "")), env


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def database_name(url: str) -> str:
    name = unquote(urlsplit(url).path.lstrip("/"))
    if not name:
        raise SnapshotError("the PostgreSQL URL names no database")
    return name


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def qualified(table: str) -> str:
    """`schema.table` (or `table`) as a quoted identifier; the snapshot stores names as
    the analysis gave them, already free of quotes."""
    schema, dot, rel = table.rpartition(".")
    return f"{quote_ident(schema)}.{quote_ident(rel)}" if dot else quote_ident(rel)


class PostgresDriver(SnapshotDriver):
    name = "postgresql"

    def local_paths(self, capture: Capture) -> list[str]:
        """The cluster's data directory when it runs here and we may read it."""
        host = (urlsplit(capture.source).hostname or "").lower()
        if host not in LOCAL_HOSTS and not host.startswith("/"):
            return []
        try:
            import psycopg

            conninfo, env = libpq(capture.source)
            with psycopg.connect(conninfo, password=env.get("PGPASSWORD"),
                                 connect_timeout=10) as conn:
                row = conn.execute("SELECT current_setting('data_directory', true)").fetchone()
        except Exception:
            return []
        return [row[0]] if row and row[0] else []

    def capture(self, capture: Capture, open_part: PartOpener) -> dict[str, Any]:
        if capture.scope == "database":
            self._dump(capture.source, ["--format=custom"], open_part, "database.pgdump")
            return {"database": database_name(capture.source)}
        if capture.scope == "tables":
            args = ["--format=custom", "--strict-names"]
            args += [f"--table={qualified(t)}" for t in capture.tables]
            self._dump(capture.source, args, open_part, "tables.pgdump")
            return {"database": database_name(capture.source)}
        if capture.scope == "rows":
            return self._rows(capture, open_part)
        raise SnapshotError(f"the PostgreSQL driver cannot capture {capture.scope!r}")

    def _dump(self, url: str, args: list[str], open_part: PartOpener, part: str) -> None:
        conninfo, env = libpq(url)
        argv = [pg_tool("pg_dump"), *args, f"--dbname={conninfo}"]
        with open_part(part) as sink:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    stdin=subprocess.DEVNULL, env=env)
            assert proc.stdout is not None and proc.stderr is not None
            try:
                while chunk := proc.stdout.read(CHUNK):
                    sink.write(chunk)
            except BaseException:
                proc.kill()
                proc.wait()
                raise
            err = proc.stderr.read().decode(errors="replace").strip()
            if proc.wait() != 0:
                raise SnapshotError(f"pg_dump failed ({proc.returncode}): {err[-800:]}")

    def _rows(self, capture: Capture, open_part: PartOpener) -> dict[str, Any]:

        if len(capture.tables) != 1 or not capture.where:
            raise SnapshotError("a row snapshot needs one table and its WHERE predicate")
        table = capture.tables[0]
        conninfo, env = libpq(capture.source)
        # the table's definition is dumped while the rows are copied (pg_dump's start-up
        # would otherwise dominate a small row snapshot)
        with tempfile.TemporaryDirectory(prefix="safehold-schema-") as work:
            schema = Path(work) / "schema.pgdump"
            dump = subprocess.Popen(
                [pg_tool("pg_dump"), "--format=custom", "--schema-only", "--strict-names",
                 f"--table={qualified(table)}", f"--dbname={conninfo}", f"--file={schema}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                env=env)
            try:
                details = self._copy_rows(capture, table, conninfo, env, open_part)
            finally:
                _, err = dump.communicate()
            if dump.returncode != 0:
                raise SnapshotError(f"pg_dump of the definition of {table} failed "
                                    f"({dump.returncode}): {err.decode(errors='replace')[-800:]}")
            with open_part("schema.pgdump") as sink, schema.open("rb") as f:
                while chunk := f.read(CHUNK):
                    sink.write(chunk)
        return details

    def _copy_rows(self, capture: Capture, table: str, conninfo: str, env: dict[str, str],
                   open_part: PartOpener) -> dict[str, Any]:
        import psycopg

        query = f"SELECT * FROM {qualified(table)} WHERE {capture.where}"
        try:
            with psycopg.connect(conninfo, password=env.get("PGPASSWORD")) as conn:
                conn.execute("SET TRANSACTION READ ONLY")
                cur = conn.cursor()
                found = cur.execute(
                    "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n "
                    "ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)", (qualified(table),)
                ).fetchone()
                if found is None:
                    raise SnapshotError(f"table {table} does not exist: nothing to capture")
                columns = [r[0] for r in cur.execute(
                    f"SELECT * FROM {qualified(table)} LIMIT 0").description or ()]
                with open_part("rows.copy") as sink, cur.copy(
                    f"COPY ({query}) TO STDOUT (FORMAT binary)"  # type: ignore[arg-type]
                ) as copy:
                    batch = bytearray()  # COPY yields a row at a time: write in big batches
                    for data in copy:
                        batch += data
                        if len(batch) >= CHUNK:
                            sink.write(batch)
                            batch.clear()
                    sink.write(batch)
                count = cur.rowcount
                conn.rollback()
        except psycopg.Error as exc:
            raise SnapshotError(f"COPY of the rows of {table} failed: {exc}") from exc
        return {"database": database_name(capture.source), "columns": columns,
                "table": found[0], "query": query, "rows": count}

    # -- restore ----------------------------------------------------------------------------

    def restore(
        self, manifest: Manifest, parts: Mapping[str, Path], to: str, *, replace: bool
    ) -> str:
        _, env = libpq(to)
        created = _ensure_database(to, env, may_exist=manifest.scope != "database" or replace)
        try:
            return self._restore(manifest, parts, to, replace=replace, created=created)
        except BaseException:
            if created:
                drop_database(to, env)
            raise

    def _restore(
        self, manifest: Manifest, parts: Mapping[str, Path], to: str, *, replace: bool,
        created: bool,
    ) -> str:
        import psycopg

        conninfo, env = libpq(to)
        target = database_name(to)
        if manifest.scope in ("database", "tables"):
            part = parts["database.pgdump" if manifest.scope == "database" else "tables.pgdump"]
            if manifest.scope == "tables" and not created and not replace:
                present = _existing_tables(conninfo, env, manifest.tables)
                if present:
                    raise SnapshotError(
                        f"{', '.join(present)} already exist in {target}; restore to another "
                        "database, or pass --replace to replace them")
            _pg_restore(conninfo, env, part,
                        ["--clean", "--if-exists"] if replace and not created else [])
            what = "database" if manifest.scope == "database" else ", ".join(manifest.tables)
            return f"restored {what} into {target}{' (created)' if created else ''}"
        if manifest.scope != "rows":
            raise SnapshotError(f"cannot restore a PostgreSQL {manifest.scope!r} snapshot")
        table = str(manifest.details.get("table") or manifest.tables[0])
        columns = ", ".join(quote_ident(c) for c in manifest.details.get("columns", ()))
        exists = bool(_existing_tables(conninfo, env, (table,)))
        if exists and not replace and not created:
            raise SnapshotError(
                f"{table} exists in {target}: pass --replace to insert the captured rows into "
                "it (one transaction; a conflicting key writes nothing)")
        if not exists:
            _pg_restore(conninfo, env, parts["schema.pgdump"], [])
        try:
            with psycopg.connect(conninfo, password=env.get("PGPASSWORD")) as conn:
                cur = conn.cursor()
                with cur.copy(f"COPY {qualified(table)} ({columns}) "  # type: ignore[arg-type]
                              "FROM STDIN (FORMAT binary)") as copy, \
                        parts["rows.copy"].open("rb") as f:
                    while chunk := f.read(CHUNK):
                        copy.write(chunk)
                count = cur.rowcount
        except psycopg.Error as exc:
            raise SnapshotError(f"restoring the rows of {table} failed, nothing written: "
                                f"{exc}") from exc
        return f"restored {count} rows into {table} in {target}"


def _pg_restore(conninfo: str, env: dict[str, str], part: Path, extra: list[str]) -> None:
    """pg_restore in one transaction that stops at the first error: all or nothing."""
    argv = [pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
            "--single-transaction", *extra, f"--dbname={conninfo}", str(part)]
    result = subprocess.run(argv, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SnapshotError(f"pg_restore failed, nothing written: {result.stderr.strip()[-800:]}")


def _maintenance(url: str) -> str:
    return with_database(url, "postgres")


def _ensure_database(url: str, env: dict[str, str], *, may_exist: bool) -> bool:
    """Create the target database if it is missing; True when created."""
    import psycopg

    name = database_name(url)
    conninfo, _ = libpq(_maintenance(url))
    try:
        with psycopg.connect(conninfo, password=env.get("PGPASSWORD"), autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                if not may_exist:
                    raise SnapshotError(
                        f"database {name} exists; restore to a new database, or pass --replace "
                        "to restore over it")
                return False
            conn.execute(f"CREATE DATABASE {quote_ident(name)}")  # type: ignore[arg-type]
            return True
    except psycopg.Error as exc:
        raise SnapshotError(f"cannot create database {name}: {exc}") from exc


def drop_database(url: str, env: dict[str, str]) -> None:
    """Remove a database this restore created and could not fill."""
    import psycopg

    conninfo, _ = libpq(_maintenance(url))
    try:
        with psycopg.connect(conninfo, password=env.get("PGPASSWORD"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(database_name(url))}")  # type: ignore[arg-type]
    except psycopg.Error:
        return


def _existing_tables(conninfo: str, env: dict[str, str], tables: tuple[str, ...]) -> list[str]:
    import psycopg

    with psycopg.connect(conninfo, password=env.get("PGPASSWORD")) as conn:
        return [t for t in tables
                if conn.execute("SELECT to_regclass(%s)", (qualified(t),)).fetchone()[0]]
