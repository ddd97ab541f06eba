"""The proxy's listening socket: one `ClientConnection` per client, one upstream each.

Decisions and audit writes run on a pool of worker threads (the store is synchronous, and the
audit log commits concurrent appends together); the socket work stays on the event loop, so a
slow decision delays only the session that asked for it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from safehold.pgproxy.auth import ScramLookup, TokenVerifier, no_scram_logins
from safehold.pgproxy.errors import PgProxyError
from safehold.pgproxy.judge import StatementJudge
from safehold.pgproxy.session import ClientConnection, ProxyContext
from safehold.pgproxy.upstream import UpstreamTarget

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProxySettings:
    host: str
    port: int
    environment: str
    max_statement_bytes: int = 256 * 1024
    #: Threads deciding and auditing at once; each client waits only for its own statement.
    workers: int = 16
    #: Client addresses that may send a token in clear; any other must log in with SCRAM.
    cleartext_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    #: Seconds a statement that needs approval is held waiting for it (0: answer at once).
    hold_seconds: float = 0.0
    #: PEM certificate chain and key for TLS towards clients (sslmode=require); none: no TLS.
    tls_cert: str | None = None
    tls_key: str | None = None


def server_tls(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    """The TLS context for clients, TLS 1.2 at least; None when no certificate is set."""
    if not cert and not key:
        return None
    if not cert or not key:
        raise PgProxyError("TLS needs both a certificate and its key")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise PgProxyError(f"cannot load the TLS certificate {cert!r} and key {key!r}: {exc}"
                           ) from exc
    return context


def cleartext_check(networks: tuple[str, ...]) -> Callable[[str], bool]:
    """Whether a client address is inside `networks` (an IPv4-mapped IPv6 address counts as
    its IPv4 address; anything unparsable is outside)."""
    nets = [ipaddress.ip_network(n, strict=False) for n in networks]

    def allowed(host: str) -> bool:
        try:
            addr = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        return any(addr.version == n.version and addr in n for n in nets)

    return allowed


class PgProxy:
    """A running proxy for one upstream database."""

    def __init__(self, settings: ProxySettings, target: UpstreamTarget, safehold: Any,
                 verify: TokenVerifier, scram: ScramLookup | None = None):
        try:
            allowed = cleartext_check(settings.cleartext_networks)
        except ValueError as exc:
            raise PgProxyError(f"cleartext networks: {exc}") from exc
        self.settings = settings
        self.executor = ThreadPoolExecutor(
            max_workers=settings.workers, thread_name_prefix="pgproxy-judge"
        )
        judge = StatementJudge(
            safehold, environment=settings.environment,
            max_statement_bytes=settings.max_statement_bytes,
        )
        self.ctx = ProxyContext(target, judge, verify, safehold.audit, self.executor,
                                scram=scram or no_scram_logins, cleartext_allowed=allowed,
                                hold_seconds=max(0.0, settings.hold_seconds),
                                tls=server_tls(settings.tls_cert, settings.tls_key))
        self.server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        """Start listening; the bound port (useful when asked for port 0)."""
        self.server = await asyncio.start_server(
            self._handle, self.settings.host, self.settings.port
        )
        return int(self.server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await ClientConnection(self.ctx, reader, writer).run()
        except asyncio.CancelledError:
            pass  # the proxy is closing; the connection's own cleanup has run
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def serve_forever(self) -> None:
        if self.server is None:
            await self.start()
        assert self.server is not None
        async with self.server:
            await self.server.serve_forever()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.executor.shutdown(wait=False, cancel_futures=True)
