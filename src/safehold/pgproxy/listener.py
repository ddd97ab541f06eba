"""The proxy's listening socket: one `ClientConnection` per client, one upstream each.

Decisions and audit writes run on a pool of worker threads (the store is synchronous, and the
audit log commits concurrent appends together); the socket work stays on the event loop, so a
slow decision delays only the session that asked for it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from safehold.pgproxy.auth import TokenVerifier
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


def check_loopback(host: str) -> None:
    """Tokens arrive in clear text (see auth.py), so the proxy listens on loopback only."""
    try:
        if host == "localhost" or ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise PgProxyError(
        f"--listen {host!r} is not a loopback address; the proxy receives agent tokens as "
        "passwords and serves loopback clients only"
    )


class PgProxy:
    """A running proxy for one upstream database."""

    def __init__(self, settings: ProxySettings, target: UpstreamTarget, safehold: Any,
                 verify: TokenVerifier):
        check_loopback(settings.host)
        self.settings = settings
        self.executor = ThreadPoolExecutor(
            max_workers=settings.workers, thread_name_prefix="pgproxy-judge"
        )
        judge = StatementJudge(
            safehold, environment=settings.environment,
            max_statement_bytes=settings.max_statement_bytes,
        )
        self.ctx = ProxyContext(target, judge, verify, safehold.audit, self.executor)
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
