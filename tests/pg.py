"""A real PostgreSQL for tests and benchmarks, started from the machine's binaries.

The server binaries are found the same way by the tests, the benchmarks and `scripts/test`
(which runs this file): `SAFEHOLD_PG_BINDIR` when set (then nothing else is tried), else
`pg_config --bindir`, the Debian layout `/usr/lib/postgresql/<version>/bin` (newest first), and
`initdb` on PATH. `python tests/pg.py` prints the directory, or says what is missing and exits 1.

initdb and postgres refuse to run as root, so under root (CI containers) the cluster is
created and run as an unprivileged system user (`postgres` if present, else a `safehold-test`
user created on first use). The server listens on a free port on 127.0.0.1 with trust
authentication inside a temp dir, and is stopped and removed at the end.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

BINDIR_ENV = "SAFEHOLD_PG_BINDIR"
DEBIAN_ROOT = Path("/usr/lib/postgresql")
SERVER_PROGRAMS = ("initdb", "pg_ctl", "postgres")
SUPERUSER = "safehold"


def has_server(bindir: Path) -> bool:
    """True when every program a throw-away cluster needs is an executable file in `bindir`."""
    return all(
        (bindir / name).is_file() and os.access(bindir / name, os.X_OK) for name in SERVER_PROGRAMS
    )


def _version_key(bindir: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", bindir.parent.name)) or (-1,)


def candidates(
    environ: Mapping[str, str] = os.environ, debian_root: Path = DEBIAN_ROOT
) -> Iterator[Path]:
    """Every directory worth looking in, in the order they are tried (no override here)."""
    path = environ.get("PATH", os.defpath)
    pg_config = shutil.which("pg_config", path=path)
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            yield Path(out.stdout.strip())
    yield from sorted(debian_root.glob("*/bin"), key=_version_key, reverse=True)
    initdb = shutil.which("initdb", path=path)
    if initdb:
        yield Path(initdb).resolve().parent


def find_bindir(
    environ: Mapping[str, str] = os.environ, debian_root: Path = DEBIAN_ROOT
) -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, or None. An explicit
    `SAFEHOLD_PG_BINDIR` is the only place looked at, so a wrong one is never papered over."""
    override = environ.get(BINDIR_ENV)
    if override is not None:
        return Path(override) if has_server(Path(override)) else None
    return next((d for d in candidates(environ, debian_root) if has_server(d)), None)


def missing_reason(environ: Mapping[str, str] = os.environ) -> str:
    """What is missing and how to get it, for a skip, a failure or scripts/test."""
    needs = ", ".join(SERVER_PROGRAMS)
    override = environ.get(BINDIR_ENV)
    if override is not None:
        return (
            f"PostgreSQL server programs ({needs}) not found in {BINDIR_ENV}={override}; "
            f"point it at a PostgreSQL bin directory or unset it"
        )
    return (
        f"PostgreSQL server programs ({needs}) not found (looked at pg_config --bindir, "
        f"{DEBIAN_ROOT}/*/bin and PATH); install them with ./scripts/install-postgres "
        f"(apt-get install postgresql) or set {BINDIR_ENV}"
    )


PG_BIN = find_bindir()


def available() -> bool:
    return PG_BIN is not None


def _bin(name: str) -> str:
    if PG_BIN is None:
        raise RuntimeError(missing_reason())
    return str(PG_BIN / name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as() -> list[str]:
    """The command prefix that drops root, or nothing when not root."""
    if os.geteuid() != 0:
        return []
    for name in ("postgres", "safehold-test"):
        try:
            pwd.getpwnam(name)
            break
        except KeyError:
            continue
    else:
        name = "safehold-test"
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
    return [
        "setpriv",
        f"--reuid={name}",
        f"--regid={pwd.getpwnam(name).pw_gid}",
        "--init-groups",
        "--",
    ]


class PostgresServer:
    """One throw-away cluster. `url(db)` gives a SQLAlchemy URL; `create_database()` a fresh db."""

    def __init__(self, *, fsync: bool = False):
        self.fsync = fsync
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="safehold-pg-"))
        self.data = self.root / "data"
        self.prefix = _run_as()
        self.started = False

    def start(self) -> PostgresServer:
        if self.prefix:
            user = self.prefix[1].split("=", 1)[1]
            entry = pwd.getpwnam(user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run(
            [
                _bin("initdb"),
                "-D",
                str(self.data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-instructions",
                "-N",
            ]
        )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            f"-c fsync={'on' if self.fsync else 'off'} -c max_connections=100"
        )
        if not self.fsync:
            options += " -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            [
                _bin("pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.root / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
        self.started = True
        return self

    def _run(self, argv: list[str]) -> None:
        result = subprocess.run([*self.prefix, *argv], capture_output=True, text=True)
        if result.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{' '.join(argv[:2])} failed ({result.returncode}): {result.stderr}{tail}"
            )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        name = f"t_{secrets.token_hex(6)}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.started:
            subprocess.run(
                [
                    *self.prefix,
                    _bin("pg_ctl"),
                    "-D",
                    str(self.data),
                    "-m",
                    "fast",
                    "-w",
                    "stop",
                ],
                capture_output=True,
            )
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    if PG_BIN is None:
        print(missing_reason(), file=sys.stderr)
        sys.exit(1)
    print(PG_BIN)
