"""A real PostgreSQL for tests and benchmarks, started from the machine's binaries.

initdb and postgres refuse to run as root, so under root (CI containers) the cluster is
created and run as an unprivileged system user (`postgres` if present, else a `safehold-test`
user created on first use). The server listens on a free port on 127.0.0.1 with trust
authentication inside a temp dir, and is stopped and removed at the end.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path(os.environ.get("SAFEHOLD_PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "safehold"


def available() -> bool:
    return (PG_BIN / "initdb").is_file() and (PG_BIN / "pg_ctl").is_file()


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
                str(PG_BIN / "initdb"),
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
                str(PG_BIN / "pg_ctl"),
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
                    str(PG_BIN / "pg_ctl"),
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
