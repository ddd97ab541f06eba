"""A throw-away PostgreSQL cluster for the replay, from the machine's own server binaries.

The replay needs a real database whose data directory lives on the fake provider's volume, so
that deleting the volume really takes the database with it. initdb and postgres refuse to run
as root, so under root the cluster runs as an unprivileged system user (`postgres` when it
exists, else `safehold-replay`, created on first use). It listens on a free loopback port with
trust authentication for that port only, and `stop()` ends it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
from pathlib import Path

SUPERUSER = "safehold"
DEBIAN_ROOT = Path("/usr/lib/postgresql")
PROGRAMS = ("initdb", "pg_ctl", "postgres")


class ClusterError(RuntimeError):
    """PostgreSQL could not be found, initialised or started."""


def server_bindir() -> Path:
    """The directory holding initdb, pg_ctl and postgres ($SAFEHOLD_PG_BINDIR first)."""
    override = os.environ.get("SAFEHOLD_PG_BINDIR")
    found: list[Path] = [Path(override)] if override else []
    if not override:
        pg_config = shutil.which("pg_config")
        if pg_config:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
            if out.returncode == 0 and out.stdout.strip():
                found.append(Path(out.stdout.strip()))
        found += sorted(DEBIAN_ROOT.glob("*/bin"), reverse=True,
                        key=lambda d: tuple(int(n) for n in re.findall(r"\d+", d.parent.name)))
        initdb = shutil.which("initdb")
        if initdb:
            found.append(Path(initdb).resolve().parent)
    for d in found:
        if all(os.access(d / p, os.X_OK) for p in PROGRAMS):
            return d
    raise ClusterError("PostgreSQL server programs (initdb, pg_ctl, postgres) not found; "
                       "install them (./scripts/install-postgres) or set SAFEHOLD_PG_BINDIR")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _unprivileged() -> tuple[int, int] | None:
    """(uid, gid) to run the server as, or None when not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "safehold-replay"):
        try:
            entry = pwd.getpwnam(name)
            return entry.pw_uid, entry.pw_gid
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    "safehold-replay"], check=True, capture_output=True)
    entry = pwd.getpwnam("safehold-replay")
    return entry.pw_uid, entry.pw_gid


class Cluster:
    """One cluster whose data directory is `data` (on a volume); `url(db)` connects to it."""

    def __init__(self, data: Path, run_dir: Path):
        self.bindir = server_bindir()
        self.data = data
        self.run_dir = run_dir  # socket and log: not on the volume, they outlive it
        self.port = _free_port()
        self.owner = _unprivileged()
        self.running = False
        self.pid = 0

    def _prefix(self) -> list[str]:
        if self.owner is None:
            return []
        uid, gid = self.owner
        return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups", "--"]

    def _run(self, argv: list[str]) -> None:
        out = subprocess.run([*self._prefix(), *argv], capture_output=True, text=True,
                             timeout=120)
        if out.returncode != 0:
            log = self.run_dir / "postgres.log"
            tail = log.read_text()[-1500:] if log.exists() else ""
            raise ClusterError(f"{Path(argv[0]).name} failed: {out.stderr.strip()} {tail}")

    def _own(self, path: Path) -> None:
        if self.owner is not None:
            os.chown(path, *self.owner)

    def init(self) -> Cluster:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.data.parent.mkdir(parents=True, exist_ok=True)
        self._own(self.run_dir)
        self._own(self.data.parent)
        self._run([str(self.bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
                   "--auth=trust", "--encoding=UTF8", "--no-instructions", "-N"])
        return self

    def adopt(self, template: Path) -> Cluster:
        """Use a copy of an initialised (stopped) data directory: faster than initdb."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.data.parent.mkdir(parents=True, exist_ok=True)
        self._own(self.run_dir)
        self._own(self.data.parent)
        shutil.copytree(template, self.data, symlinks=True)
        if self.owner is not None:
            for root, dirs, files in os.walk(self.data):
                for name in (*dirs, *files):
                    os.chown(os.path.join(root, name), *self.owner, follow_symlinks=False)
            os.chown(self.data, *self.owner)
        os.chmod(self.data, 0o700)
        (self.data / "postmaster.pid").unlink(missing_ok=True)
        return self

    def start(self) -> Cluster:
        options = (f"-p {self.port} -k {self.run_dir} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
                   "-l", str(self.run_dir / "postgres.log"), "-w", "-t", "60", "start"])
        self.running = True
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; `immediate` is what losing its disk looks like."""
        if not self.running:
            return
        self.running = False
        if (self.data / "postmaster.pid").exists():
            subprocess.run([*self._prefix(), str(self.bindir / "pg_ctl"), "-D", str(self.data),
                            "-m", mode, "-w", "stop"], capture_output=True, timeout=60)
        else:  # the directory is gone already: end the postmaster it started, by its pid
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, 9)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"
