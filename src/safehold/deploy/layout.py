"""Where the system deployment keeps each part, and who owns it.

One table of paths under a root (`/` on a real machine, a temporary directory in tests): the
server's configuration, policy and secrets, its data and keys, only the `safehold` user can read
or write (0700 directories, 0600 files); the socket directory is the server's and everyone may
connect; the client file the hooks read and the service files are root's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Layout:
    root: Path

    def _at(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    @property
    def etc(self) -> Path:
        """root:root 0755: the client file and the server's private directory."""
        return self._at("/etc/safehold")

    @property
    def client_file(self) -> Path:
        """root:root 0644: what hooks need to reach the server (socket, server uid, token)."""
        return self.etc / "client.toml"

    @property
    def server_dir(self) -> Path:
        """safehold 0700: the server's configuration and policy."""
        return self.etc / "server"

    @property
    def config_file(self) -> Path:
        return self.server_dir / "safehold.toml"

    @property
    def policy_file(self) -> Path:
        return self.server_dir / "policy.cedar"

    @property
    def secrets_dir(self) -> Path:
        """safehold 0700: the session key and other secrets."""
        return self.server_dir / "secrets"

    @property
    def data_dir(self) -> Path:
        """safehold 0700: the database (approvals, audit, users, tokens)."""
        return self._at("/var/lib/safehold")

    @property
    def database(self) -> Path:
        return self.data_dir / "safehold.db"

    @property
    def keys_dir(self) -> Path:
        """safehold 0700: signing keys."""
        return self.data_dir / "keys"

    @property
    def run_dir(self) -> Path:
        """safehold 0755: the socket; nobody else can create anything here."""
        return self._at("/run/safehold")

    @property
    def socket(self) -> Path:
        return self.run_dir / "safehold.sock"

    @property
    def unit_file(self) -> Path:
        return self._at("/etc/systemd/system/safehold.service")

    @property
    def start_script(self) -> Path:
        """For machines without systemd: starts the server as the safehold user."""
        return self._at("/usr/local/sbin/safehold-server")

    def private(self) -> tuple[Path, ...]:
        """The directories only safehold's user may enter."""
        return (self.server_dir, self.secrets_dir, self.data_dir, self.keys_dir)
