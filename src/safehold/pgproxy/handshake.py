"""A client's first messages: the startup packet, TLS when asked for, and its login.

The login is SCRAM-SHA-256 for a name with a stored verifier (logins.py), else the token in
clear, which is asked for only from a client trusted for it (loopback) or over TLS. Every
refusal is audited and answered with FATAL 28P01 saying why.
"""

from __future__ import annotations

import asyncio
import ssl
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from safehold.pgproxy import protocol
from safehold.pgproxy.auth import (
    AUTH_CLEARTEXT,
    AUTH_SASL,
    AUTH_SASL_CONTINUE,
    AUTH_SASL_FINAL,
    Client,
    ScramLogin,
    ScramLookup,
    ScramServer,
    TokenVerifier,
    no_scram_logins,
)
from safehold.pgproxy.errors import AuthenticationFailed, ProtocolError
from safehold.pgproxy.judge import StatementJudge
from safehold.pgproxy.upstream import UpstreamTarget


@dataclass(slots=True)
class ProxyContext:
    """What every connection of one proxy shares."""

    target: UpstreamTarget
    judge: StatementJudge
    verify: TokenVerifier
    audit: Any
    executor: Any
    cancel_keys: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    scram: ScramLookup = no_scram_logins
    #: Whether a client at this address may send a token in clear (loopback only).
    cleartext_allowed: Callable[[str], bool] = lambda _host: False
    #: How long a statement that needs approval waits for it; 0 answers at once.
    hold_seconds: float = 0.0
    #: Server-side TLS for clients that send an SSLRequest; None declines it.
    tls: ssl.SSLContext | None = None



class ClientHandshake:
    """The startup and login half of a client connection (session.py holds the relay)."""

    ctx: ProxyContext
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    host: str
    tls: bool
    auth_method: str

    #: Provided by the connection: record an audit event; send a FATAL error.
    _audit: Callable[..., Awaitable[None]]
    _fatal: Callable[[str, str], Awaitable[None]]

    async def _read_startup(self) -> tuple[int, bytes]:
        """The startup packet; an SSLRequest is answered with TLS when the proxy has a
        certificate (then the packet is read inside it), a GSS request is declined."""
        while True:
            length = struct.unpack("!i", await self.reader.readexactly(4))[0]
            if length < 8 or length > protocol.MAX_STARTUP:
                raise ProtocolError(f"startup packet of length {length}")
            packet = await self.reader.readexactly(length - 4)
            code = struct.unpack_from("!i", packet)[0]
            if code == protocol.SSL_REQUEST and self.ctx.tls is not None and not self.tls:
                if self.reader._buffer:  # type: ignore[attr-defined]
                    # bytes sent before the answer would bypass TLS (CVE-2021-23214's shape)
                    raise ProtocolError("data after an SSLRequest, before the TLS handshake")
                self.writer.write(b"S")
                await self.writer.drain()
                await self.writer.start_tls(self.ctx.tls)
                self.tls = True
                continue
            if code in (protocol.SSL_REQUEST, protocol.GSSENC_REQUEST):
                self.writer.write(b"N")
                await self.writer.drain()
                continue
            return code, packet[4:]

    async def _authenticate(self, params: dict[str, str]) -> Client | None:
        """SCRAM for a login that has a verifier; else the token in clear, asked for only
        from a client allowed to send it so (loopback). Every refusal is audited."""
        loop = asyncio.get_running_loop()
        user = params.get("user", "")
        try:
            login = await loop.run_in_executor(self.ctx.executor, self.ctx.scram, user)
            if login is not None:
                self.auth_method = "scram-sha-256"
                return await self._scram(login)
            if not (self.tls or self.ctx.cleartext_allowed(self.host)):
                raise AuthenticationFailed(
                    f"login {user!r} has no SCRAM verifier, and a token is accepted in clear "
                    "only from this machine or over TLS; connect with the DATABASE_URL "
                    "`safehold env` prints (it logs in with SCRAM-SHA-256), or with "
                    "sslmode=require when the proxy has a certificate")
            self.auth_method = "password"
            secret = (await self._password(AUTH_CLEARTEXT)).decode("utf-8", "replace")
            client = await loop.run_in_executor(self.ctx.executor, self.ctx.verify, secret)
            if client is None:
                raise AuthenticationFailed(
                    "the password is not a valid agent token (unknown, revoked or mistyped); "
                    "ask the user for a token")
            return client
        except AuthenticationFailed as exc:
            await self._audit("pgproxy.auth-failed", {
                "user": user, "application_name": params.get("application_name", ""),
                "reason": str(exc),
            }, actor=None)
            await self._fatal("28P01", f"safehold: {exc}")
            return None

    async def _scram(self, login: ScramLogin) -> Client:
        """The server side of SCRAM-SHA-256 as PostgreSQL runs it (no channel binding)."""
        server = ScramServer(login)
        self.writer.write(protocol.authentication(AUTH_SASL, b"SCRAM-SHA-256\x00\x00"))
        await self.writer.drain()
        initial = await self._password()
        mechanism, pos = protocol.cstring(initial)
        if mechanism != "SCRAM-SHA-256" or len(initial) < pos + 4:
            raise AuthenticationFailed(f"SASL mechanism {mechanism!r} is not offered")
        size = struct.unpack_from("!i", initial, pos)[0]
        first = initial[pos + 4:pos + 4 + size] if size >= 0 else b""
        try:
            server_first = server.first(first.decode("utf-8"))
            self.writer.write(protocol.authentication(AUTH_SASL_CONTINUE, server_first.encode()))
            await self.writer.drain()
            server_final = server.final((await self._password()).decode("utf-8"))
        except UnicodeDecodeError:
            raise AuthenticationFailed("the SCRAM messages are not UTF-8") from None
        loop = asyncio.get_running_loop()
        client = await loop.run_in_executor(self.ctx.executor, login.admit)
        self.writer.write(protocol.authentication(AUTH_SASL_FINAL, server_final.encode()))
        return client

    async def _password(self, ask: int | None = None) -> bytes:
        """The body of the client's next PasswordMessage (SASL messages share its tag);
        with `ask`, first request it with that authentication code."""
        if ask is not None:
            self.writer.write(protocol.authentication(ask))
            await self.writer.drain()
        header = await self.reader.readexactly(5)
        length = struct.unpack("!I", header[1:])[0]
        if header[:1] != b"p" or not 4 < length <= 8192:
            raise ProtocolError("expected a password message")
        body = await self.reader.readexactly(length - 4)
        return body if ask is None else protocol.cstring(body)[0].encode("utf-8")
