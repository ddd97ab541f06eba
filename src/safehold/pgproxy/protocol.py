"""PostgreSQL frontend/backend protocol 3.0: framing and the few messages the proxy writes.

The proxy forwards almost every message as the bytes it received; it reads only the types
that carry SQL (Query, Parse) or that it must answer itself (startup, authentication, errors).
`MessageBuffer` cuts a byte stream into whole messages without copying their bodies twice, so
large results stream through without being assembled.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from safehold.pgproxy.errors import ProtocolError

PROTOCOL_V3 = 196608
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102

#: A startup packet larger than this is not a real client's.
MAX_STARTUP = 10_000
#: A frontend message larger than this is refused before it is buffered (COPY data is framed
#: in chunks far below it; a bigger Query is an attack on memory, not a statement).
MAX_FRONTEND_MESSAGE = 64 * 1024 * 1024

_HEADER = struct.Struct("!cI")
_INT32 = struct.Struct("!i")


@dataclass(frozen=True, slots=True)
class Message:
    """One typed message: `type` is its one-byte tag, `body` what follows the length."""

    type: bytes
    body: bytes

    def encode(self) -> bytes:
        return encode(self.type, self.body)


def encode(type: bytes, body: bytes = b"") -> bytes:
    return _HEADER.pack(type, len(body) + 4) + body


class MessageBuffer:
    """Accumulates received bytes and yields whole messages with their raw encoding."""

    def __init__(self, limit: int = MAX_FRONTEND_MESSAGE):
        self._buf = bytearray()
        self._limit = limit

    def feed(self, data: bytes) -> None:
        self._buf += data

    def messages(self) -> list[tuple[bytes, int, int]]:
        """(type, start, end) spans of the whole messages buffered now; `take` consumes them."""
        out: list[tuple[bytes, int, int]] = []
        pos, buf, n = 0, self._buf, len(self._buf)
        while n - pos >= 5:
            type = bytes(buf[pos:pos + 1])
            (length,) = struct.unpack_from("!I", buf, pos + 1)
            if length < 4 or length > self._limit:
                raise ProtocolError(f"message {type!r} with impossible length {length}")
            end = pos + 1 + length
            if end > n:
                break
            out.append((type, pos, end))
            pos = end
        return out

    def view(self) -> bytearray:
        return self._buf

    def take(self, end: int) -> bytes:
        data = bytes(self._buf[:end])
        del self._buf[:end]
        return data


def cstring(body: bytes, pos: int = 0) -> tuple[str, int]:
    """The NUL-terminated string at `pos` and the position after it."""
    end = body.find(b"\x00", pos)
    if end < 0:
        raise ProtocolError("string without its terminating NUL")
    return body[pos:end].decode("utf-8", "replace"), end + 1


def parse_startup(packet: bytes) -> dict[str, str]:
    """The parameters of a v3 StartupMessage body (after the length and version)."""
    params: dict[str, str] = {}
    pos = 0
    while pos < len(packet) and packet[pos] != 0:
        key, pos = cstring(packet, pos)
        value, pos = cstring(packet, pos)
        params[key] = value
    return params


def startup_message(params: dict[str, str]) -> bytes:
    body = _INT32.pack(PROTOCOL_V3)
    for k, v in params.items():
        body += k.encode() + b"\x00" + v.encode() + b"\x00"
    body += b"\x00"
    return _INT32.pack(len(body) + 4) + body


def query_text(body: bytes) -> str:
    """The SQL of a Query message."""
    return cstring(body)[0]


def parse_message(body: bytes) -> tuple[str, str, bytes]:
    """(statement name, SQL, the rest: parameter type count and oids) of a Parse message."""
    name, pos = cstring(body)
    sql, pos = cstring(body, pos)
    return name, sql, body[pos:]


def parse_bytes(name: str, sql: str, rest: bytes = b"\x00\x00") -> bytes:
    return encode(b"P", name.encode() + b"\x00" + sql.encode() + b"\x00" + rest)


def query_bytes(sql: str) -> bytes:
    return encode(b"Q", sql.encode() + b"\x00")


def error_fields(body: bytes) -> dict[str, str]:
    """The fields of an ErrorResponse or NoticeResponse, by their one-letter code."""
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(body) and body[pos] != 0:
        code = chr(body[pos])
        value, pos = cstring(body, pos + 1)
        fields[code] = value
    return fields


def error_response(
    message: str, *, code: str = "42501", severity: str = "ERROR", detail: str = "",
    hint: str = "",
) -> bytes:
    body = b""
    for tag, value in (
        ("S", severity), ("V", severity), ("C", code), ("M", message), ("D", detail),
        ("H", hint),
    ):
        if value:
            body += tag.encode() + value.encode("utf-8") + b"\x00"
    return encode(b"E", body + b"\x00")


def notice_response(message: str) -> bytes:
    """A NoticeResponse, which a client may receive at any time (psql prints it at once)."""
    body = b"".join(tag + value.encode("utf-8") + b"\x00" for tag, value in (
        (b"S", "NOTICE"), (b"V", "NOTICE"), (b"C", "00000"), (b"M", message)))
    return encode(b"N", body + b"\x00")


def ready_for_query(status: bytes) -> bytes:
    return encode(b"Z", status)


def authentication(code: int, data: bytes = b"") -> bytes:
    return encode(b"R", _INT32.pack(code) + data)


def parameter_status(name: str, value: str) -> bytes:
    return encode(b"S", name.encode() + b"\x00" + value.encode() + b"\x00")


def backend_key_data(pid: int, secret: int) -> bytes:
    return encode(b"K", struct.pack("!ii", pid, secret))


def cancel_request(pid: int, secret: int) -> bytes:
    return struct.pack("!iiii", 16, CANCEL_REQUEST, pid, secret)


def command_rows(body: bytes) -> int | None:
    """Rows affected from a CommandComplete tag (`DELETE 3`, `INSERT 0 1`), if it says."""
    tag = body.rstrip(b"\x00").split()
    if len(tag) >= 2 and tag[-1].isdigit() and tag[0] in (
        b"INSERT", b"UPDATE", b"DELETE", b"MERGE", b"SELECT", b"COPY", b"FETCH", b"MOVE",
    ):
        return int(tag[-1])
    return None
