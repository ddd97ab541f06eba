"""The proxy's own connection to the database, opened with the real credential.

`UpstreamTarget` is where the database is and how to log in; the password comes from a
`CredentialSource` so the credential store can supply it in place of `PGPASSWORD` without the
proxy knowing which one did.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from safehold.pgproxy import protocol
from safehold.pgproxy.auth import (
    AUTH_CLEARTEXT,
    AUTH_MD5,
    AUTH_OK,
    AUTH_SASL,
    AUTH_SASL_CONTINUE,
    AUTH_SASL_FINAL,
    ScramClient,
    md5_password,
)
from safehold.pgproxy.errors import UpstreamError

#: Gives the upstream password, or None when the database needs none (trust).
CredentialSource = Callable[[], str | None]

CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class UpstreamTarget:
    host: str
    port: int
    user: str
    database: str
    credential: CredentialSource = field(default=lambda: None, compare=False)

    @classmethod
    def from_url(cls, url: str, credential: CredentialSource) -> UpstreamTarget:
        """`postgresql://USER@HOST:PORT/DB`; a password in the URL is refused, since the URL
        is shown in process lists and logs."""
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres"):
            raise UpstreamError(f"--upstream must be a postgresql:// URL, not {url!r}")
        if parts.password:
            raise UpstreamError(
                "the upstream URL carries a password; give it in PGPASSWORD or the credential "
                "store instead"
            )
        database = unquote(parts.path.lstrip("/")) or unquote(parts.username or "")
        if not parts.hostname or not parts.username or not database:
            raise UpstreamError(f"--upstream {url!r} needs USER@HOST[:PORT]/DB")
        return cls(parts.hostname, parts.port or 5432, unquote(parts.username), database,
                   credential)


@dataclass(slots=True)
class Upstream:
    """An authenticated connection: what the server said at startup, ready for queries."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    parameters: list[bytes]
    pid: int = 0
    secret: int = 0
    status: bytes = b"I"

    def close(self) -> None:
        self.writer.close()


async def read_message(reader: asyncio.StreamReader) -> protocol.Message:
    header = await reader.readexactly(5)
    type, length = header[:1], struct.unpack("!I", header[1:])[0]
    if length < 4 or length > protocol.MAX_FRONTEND_MESSAGE:
        raise UpstreamError(f"the database sent a message {type!r} of length {length}")
    return protocol.Message(type, await reader.readexactly(length - 4))


async def connect(target: UpstreamTarget, startup: dict[str, str]) -> Upstream:
    """Open, authenticate and wait for the first ReadyForQuery. Raises UpstreamError."""
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(target.host, target.port), CONNECT_TIMEOUT
        )
    except (OSError, TimeoutError) as exc:
        raise UpstreamError(
            f"cannot reach the database at {target.host}:{target.port}: {exc}"
        ) from exc
    try:
        params = {"user": target.user, "database": target.database, **startup}
        writer.write(protocol.startup_message(params))
        up = Upstream(reader, writer, [])
        await asyncio.wait_for(_authenticate(up, target), CONNECT_TIMEOUT)
        return up
    except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
        writer.close()
        raise UpstreamError(f"the database closed the connection during startup: {exc}") from exc
    except BaseException:
        writer.close()
        raise


async def _authenticate(up: Upstream, target: UpstreamTarget) -> None:
    scram: ScramClient | None = None
    while True:
        msg = await read_message(up.reader)
        if msg.type == b"E":
            fields = protocol.error_fields(msg.body)
            raise UpstreamError(f"the database refused the proxy: {fields.get('M', '?')}")
        if msg.type == b"R":
            code = struct.unpack_from("!i", msg.body)[0]
            data = msg.body[4:]
            if code == AUTH_OK:
                continue
            password = target.credential()
            if password is None:
                raise UpstreamError(
                    "the database asks for a password and none is configured (PGPASSWORD or "
                    "the credential store)"
                )
            if code == AUTH_CLEARTEXT:
                up.writer.write(protocol.encode(b"p", password.encode() + b"\x00"))
            elif code == AUTH_MD5:
                up.writer.write(protocol.encode(b"p", md5_password(target.user, password, data)))
            elif code == AUTH_SASL:
                if b"SCRAM-SHA-256\x00" not in data:
                    raise UpstreamError("the database offers no SASL mechanism the proxy speaks")
                scram = ScramClient(password)
                first = scram.first()
                body = b"SCRAM-SHA-256\x00" + struct.pack("!i", len(first)) + first
                up.writer.write(protocol.encode(b"p", body))
            elif code == AUTH_SASL_CONTINUE and scram is not None:
                up.writer.write(protocol.encode(b"p", scram.final(data)))
            elif code == AUTH_SASL_FINAL and scram is not None:
                scram.verify(data)
            else:
                raise UpstreamError(f"the database asks for authentication method {code}")
            await up.writer.drain()
        elif msg.type == b"K":
            up.pid, up.secret = struct.unpack("!ii", msg.body)
        elif msg.type == b"S":
            up.parameters.append(msg.encode())
        elif msg.type == b"Z":
            up.status = msg.body[:1]
            return
        elif msg.type == b"N":
            continue
        else:
            raise UpstreamError(f"unexpected message {msg.type!r} from the database at startup")


async def send_cancel(target: UpstreamTarget, pid: int, secret: int) -> None:
    """Forward a CancelRequest to the database on a connection of its own."""
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(target.host, target.port), CONNECT_TIMEOUT
        )
    except (OSError, TimeoutError):
        return
    writer.write(protocol.cancel_request(pid, secret))
    try:
        await writer.drain()
    finally:
        writer.close()
