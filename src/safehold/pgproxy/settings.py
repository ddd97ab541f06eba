"""The `[[pgproxy]]` tables of safehold.toml: which database credentials `safehold serve` puts
behind a proxy, and where.

```toml
[[pgproxy]]
credential = "shop-db"          # a postgresql credential (safehold credentials add)
listen = "0.0.0.0:6433"         # clients off this machine must log in with SCRAM
advertise = "db-proxy.internal:6433"   # what `safehold env` puts in DATABASE_URL
max_statement_bytes = 262144
hold_seconds = 120              # a statement that needs approval waits this long for it
tls_cert = "/etc/safehold/pgproxy.crt"  # TLS for clients (sslmode=require)
tls_key = "/etc/safehold/pgproxy.key"
```
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from safehold.pgproxy.errors import PgProxyError

DEFAULT_MAX_STATEMENT_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class ProxyDeclaration:
    """One `[[pgproxy]]` table: which credential to serve, and where."""

    credential: str
    listen: str
    max_statement_bytes: int = DEFAULT_MAX_STATEMENT_BYTES
    #: HOST:PORT agents reach the listener at, when not `listen` (a wildcard or NAT address).
    advertise: str | None = None
    #: Seconds a statement that needs approval waits for it before it is refused.
    hold_seconds: float = 0.0
    #: PEM certificate chain and key: clients may then connect with sslmode=require.
    tls_cert: str | None = None
    tls_key: str | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Where clients connect: `advertise`, else `listen` (a wildcard host is this machine)."""
        host, port = split_listen(self.advertise or self.listen)
        return ("127.0.0.1" if host in ("0.0.0.0", "::") else host), port

    @property
    def host_port(self) -> tuple[str, int]:
        return split_listen(self.listen)


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise PgProxyError(f"listen address {listen!r} is not HOST:PORT")
    return host, int(port)


def parse_declarations(raw: Any, where: str = "pgproxy") -> tuple[ProxyDeclaration, ...]:
    """The `[[pgproxy]]` array of tables; a clear error for anything else."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise PgProxyError(f"{where}: must be an array of tables ([[pgproxy]])")
    out = []
    for i, table in enumerate(raw):
        key = f"{where}[{i}]"
        unknown = set(table) - {"credential", "listen", "max_statement_bytes", "advertise",
                                "hold_seconds", "tls_cert", "tls_key"}
        if unknown:
            raise PgProxyError(f"{key}: unknown key {sorted(unknown)[0]!r}")
        cred, listen = table.get("credential"), table.get("listen", "127.0.0.1:6433")
        advertise = table.get("advertise")
        if advertise is not None and not isinstance(advertise, str):
            raise PgProxyError(f"{key}.advertise: must be \"HOST:PORT\"")
        limit = table.get("max_statement_bytes", DEFAULT_MAX_STATEMENT_BYTES)
        if not isinstance(cred, str) or not cred:
            raise PgProxyError(f"{key}.credential: name the postgresql credential to serve")
        if not isinstance(listen, str):
            raise PgProxyError(f"{key}.listen: must be \"HOST:PORT\"")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1024 <= limit <= 1 << 26:
            raise PgProxyError(f"{key}.max_statement_bytes: a number of bytes from 1024 to 64 MiB")
        split_listen(listen)
        if advertise is not None:
            split_listen(advertise)
        hold = table.get("hold_seconds", 0)
        if not isinstance(hold, int | float) or isinstance(hold, bool) or not 0 <= hold <= 3600:
            raise PgProxyError(f"{key}.hold_seconds: a number of seconds from 0 to 3600")
        cert, tls_key = table.get("tls_cert"), table.get("tls_key")
        if not all(v is None or isinstance(v, str) for v in (cert, tls_key)) or (
            (cert is None) != (tls_key is None)
        ):
            raise PgProxyError(f"{key}: tls_cert and tls_key are two file paths, given together")
        out.append(ProxyDeclaration(cred, listen, limit, advertise, float(hold), cert, tls_key))
    return tuple(out)
