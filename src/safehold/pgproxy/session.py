"""One client connection: authenticate the token, open the upstream, relay judged traffic.

Everything is forwarded as received except a Query, Parse or FunctionCall that is not allowed.
That message is replaced by a *sentinel*: a statement that is a syntax error naming a random
nonce. The database rejects it exactly where the refused statement stood, so it skips the rest
of the extended-protocol batch until Sync, aborts an open transaction, and answers
ReadyForQuery with the true transaction status — the client sees what a server refusal looks
like and the session stays usable. On the way back the database's syntax error naming the
nonce is swapped for safehold's ErrorResponse saying why and what to do instead. Nothing the
client wrote reaches the database unjudged. (Startup and login: handshake.py.)
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import struct
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any

from safehold.pgproxy import protocol
from safehold.pgproxy.auth import (
    AUTH_OK,
)
from safehold.pgproxy.errors import ProtocolError, UpstreamError
from safehold.pgproxy.handshake import ClientHandshake, ProxyContext
from safehold.pgproxy.judge import Refusal, Session
from safehold.pgproxy.prepared import PreparedState, parameter_oids, portal_name
from safehold.pgproxy.upstream import Upstream, connect

log = logging.getLogger(__name__)

#: Startup parameters passed to the database; anything else (`options`, `replication`, GUCs
#: that change what a statement means) would be an unjudged instruction.
FORWARDED_PARAMETERS = (
    "application_name", "client_encoding", "DateStyle", "TimeZone", "extra_float_digits",
    "IntervalStyle",
)
#: Frontend message types after startup; any other is a protocol error.
FRONTEND_TYPES = frozenset(b"QPBDESCHFdcfX")
_PENDING_LIMIT = 256
HOLD_POLL_SECONDS = 0.25


@dataclass(slots=True)
class Counters:
    statements: int = 0
    refused: int = 0
    rows: int = 0


class ClientConnection(ClientHandshake):
    """Relays one client's session to its own upstream connection."""

    def __init__(self, ctx: ProxyContext, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter):
        self.ctx = ctx
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername")
        self.address = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.host = str(peer[0]) if isinstance(peer, tuple) else ""
        self.pending: OrderedDict[str, bytes] = OrderedDict()
        self.counters = Counters()
        self.session: Session | None = None
        self.key = (0, 0)
        self.auth_method = ""
        self.tls = False
        self.prepared = PreparedState(ctx.judge.max_statement_bytes)
        #: Statements forwarded and not yet complete, in order; None marks a ReadyForQuery.
        #: (statement, portal) forwarded and not yet complete, in order; None marks where a
        #: ReadyForQuery is due.
        self.running: deque[tuple[str, str | None] | None] = deque()
        self._audits: set[asyncio.Future[None]] = set()

    async def run(self) -> None:
        upstream: Upstream | None = None
        try:
            upstream = await self._start()
            if upstream is not None:
                await self._relay(upstream)
        except (ProtocolError, asyncio.IncompleteReadError, ConnectionError) as exc:
            log.info("client %s: %s", self.address, exc)
        finally:
            self.ctx.cancel_keys.pop(self.key, None)
            if upstream is not None:
                upstream.close()
            if self._audits:
                await asyncio.gather(*self._audits, return_exceptions=True)
            if self.session is not None:
                await self._audit("pgproxy.disconnected", {
                    "statements": self.counters.statements,
                    "refused": self.counters.refused,
                    "rows_affected": self.counters.rows,
                })
            self.writer.close()

    async def _start(self) -> Upstream | None:
        code, packet = await self._read_startup()
        if code == protocol.CANCEL_REQUEST:
            await self._cancel(packet)
            return None
        if code != protocol.PROTOCOL_V3:
            await self._fatal("0A000", f"protocol version {code >> 16}.{code & 0xFFFF} "
                              "is not supported")
            return None
        params = protocol.parse_startup(packet)
        if "replication" in params:
            await self._fatal("0A000", "replication connections are not served by safehold")
            return None
        database = params.get("database") or params.get("user", "")
        if database != self.ctx.target.database:
            await self._fatal("3D000", f"safehold proxies database {self.ctx.target.database!r} "
                              f"here, not {database!r}")
            return None
        client = await self._authenticate(params)
        if client is None:
            return None
        self.session = Session(
            client=client, user=params.get("user", ""),
            application_name=params.get("application_name", ""), address=self.address,
            database=database,
        )
        forwarded = {k: v for k, v in params.items() if k in FORWARDED_PARAMETERS}
        try:
            upstream = await connect(self.ctx.target, forwarded)
        except UpstreamError as exc:
            await self._audit("pgproxy.upstream-failed", {"error": str(exc)})
            await self._fatal("08006", f"safehold could not open the database: {exc}")
            return None
        self.key = (secrets.randbits(31), secrets.randbits(31))
        self.ctx.cancel_keys[self.key] = (upstream.pid, upstream.secret)
        self.writer.write(
            protocol.authentication(AUTH_OK)
            + b"".join(upstream.parameters)
            + protocol.backend_key_data(*self.key)
            + protocol.ready_for_query(upstream.status)
        )
        await self.writer.drain()
        await self._audit("pgproxy.connected", {"auth": self.auth_method, "tls": self.tls})
        return upstream

    async def _cancel(self, packet: bytes) -> None:
        if len(packet) < 8:
            return
        upstream_key = self.ctx.cancel_keys.get(struct.unpack_from("!ii", packet))
        if upstream_key is not None:
            from safehold.pgproxy.upstream import send_cancel

            await send_cancel(self.ctx.target, *upstream_key)

    async def _relay(self, upstream: Upstream) -> None:
        to_client = asyncio.create_task(self._from_upstream(upstream))
        to_upstream = asyncio.create_task(self._from_client(upstream))
        try:
            done, _ = await asyncio.wait(
                {to_client, to_upstream}, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in (to_client, to_upstream):
                task.cancel()
            await asyncio.gather(to_client, to_upstream, return_exceptions=True)
        for task in done:
            exc = None if task.cancelled() else task.exception()
            if exc is not None and not isinstance(exc, (ConnectionError, ProtocolError)):
                log.error("relay for %s failed", self.address, exc_info=exc)
                await self._fatal("XX000", f"safehold's proxy failed: {type(exc).__name__}")

    async def _from_client(self, upstream: Upstream) -> None:
        buf = protocol.MessageBuffer()
        while True:
            data = await self.reader.read(1 << 16)
            if not data:
                return
            buf.feed(data)
            spans = buf.messages()
            if not spans:
                continue
            view, out = buf.view(), bytearray()
            for type, start, end in spans:
                if type[0] not in FRONTEND_TYPES:
                    raise ProtocolError(f"unexpected message {type!r} from the client")
                if type in (b"Q", b"P", b"F", b"E"):
                    out += await self._judged(type, bytes(view[start + 5:end]))
                    continue
                if type == b"B":
                    self.prepared.bind(bytes(view[start + 5:end]))
                elif type == b"C":
                    self.prepared.close(bytes(view[start + 5:end]))
                elif type == b"D":
                    self.prepared.describe(bytes(view[start + 5:end]))
                elif type == b"S":
                    self.prepared.sync()
                    self.running.append(None)
                out += view[start:end]
            buf.take(spans[-1][2])
            upstream.writer.write(out)
            await upstream.writer.drain()

    async def _judged(self, type: bytes, body: bytes) -> bytes:
        """The message to forward: the client's own, or a sentinel that fails in its place.

        A Query is judged statement by statement; an Execute is judged with the statement and
        the values bound to its portal (prepared.py). A Parse runs nothing, so it is only
        recorded: the statement it prepares is judged each time it is executed."""
        assert self.session is not None
        refusal: Refusal | None = None
        if type == b"F":
            self.counters.statements += 1
            refusal = Refusal(
                "safehold refused a FunctionCall message: a function called by its OID cannot "
                "be judged", "Call the function with SELECT so the statement can be judged.")
        elif type == b"P":
            name, text, rest = protocol.parse_message(body)
            if self.prepared.parse(name, text, parameter_oids(rest)):
                return protocol.encode(type, body)
            refusal = Refusal(
                f"prepared statement {name!r} already exists",
                "Close it (or DEALLOCATE it) before preparing another statement under its name.",
                "42P05")
        else:
            portal = portal_name(body) if type == b"E" else None
            if portal is not None and portal in self.prepared.suspended:
                # more rows of an execution already judged (a row limit suspended it)
                self.prepared.suspended.discard(portal)
                self.running.append((self.prepared.portals.get(portal) or "", portal))
                return protocol.encode(type, body)
            self.counters.statements += 1
            sql: str | None = (protocol.query_text(body) if type == b"Q"
                               else self.prepared.to_execute(body))
            if sql is None:
                refusal = Refusal(
                    "safehold refused to execute this portal: it does not know which statement "
                    "and values the portal holds (prepared with SQL PREPARE, declared as a "
                    "cursor, its Parse or Bind did not complete, or a value was sent in binary "
                    "with no type given in Parse or learnt from Describe)",
                    "Prepare and bind it again with Parse (with parameter types) and Bind, or "
                    "use EXECUTE/FETCH in SQL.")
            else:
                loop = asyncio.get_running_loop()
                refusal = await loop.run_in_executor(
                    self.ctx.executor, self.ctx.judge.judge, sql, self.session
                )
                if refusal is not None and refusal.approval_id and self.ctx.hold_seconds > 0:
                    refusal = await self._hold(sql, refusal)
                if refusal is None:
                    self.prepared.observe(sql)
                    if type == b"Q":
                        self.running.extend((p, None) for p in self.ctx.judge.statements(sql))
                    else:
                        self.running.append((sql, portal))
            if type == b"Q":
                self.prepared.sync()
                self.running.append(None)
        if refusal is None:
            return protocol.encode(type, body)
        self.counters.refused += 1
        nonce = f"safehold_refused_{secrets.token_hex(8)}"
        self.pending[nonce] = protocol.error_response(
            refusal.message, code=refusal.code, detail=refusal.detail
        )
        while len(self.pending) > _PENDING_LIMIT:
            self.pending.popitem(last=False)
        if type == b"Q":
            return protocol.query_bytes(nonce)
        # a Parse that fails in place of the refused message; for a Parse it keeps the name
        # (a failed Parse creates nothing), otherwise a throwaway one
        name = protocol.parse_message(body)[0] if type == b"P" else nonce
        return protocol.parse_bytes(name, nonce)

    async def _hold(self, sql: str, refusal: Refusal) -> Refusal | None:
        """Keep the statement until a human answers its approval request (at most
        `hold_seconds`), telling the client with a notice where to approve it. Approved: the
        statement is judged again, which uses the approval, so it runs exactly once."""
        assert self.session is not None and refusal.approval_id is not None
        self.writer.write(protocol.notice_response(
            f"safehold is holding this statement for a human's approval (up to "
            f"{self.ctx.hold_seconds:g} s): {refusal.approval_url or refusal.approval_id}"))
        await self.writer.drain()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ctx.hold_seconds
        state = "pending"
        while loop.time() < deadline:
            await asyncio.sleep(min(HOLD_POLL_SECONDS, max(0.0, deadline - loop.time())))
            state = await loop.run_in_executor(
                self.ctx.executor, self.ctx.judge.approval_state, refusal.approval_id)
            if state != "pending":
                break
        if state == "approved":
            return await loop.run_in_executor(
                self.ctx.executor, self.ctx.judge.judge, sql, self.session)
        if state == "pending":
            return Refusal(
                f"safehold held this statement {self.ctx.hold_seconds:g} s and nobody answered "
                f"approval request {refusal.approval_id}; nothing ran",
                refusal.detail, approval_id=refusal.approval_id)
        return Refusal(f"approval request {refusal.approval_id} was {state}; nothing ran",
                       refusal.detail)

    async def _from_upstream(self, upstream: Upstream) -> None:
        buf = protocol.MessageBuffer(limit=1 << 30)
        while True:
            data = await upstream.reader.read(1 << 18)
            if not data:
                raise ConnectionError("the database closed the connection")
            buf.feed(data)
            spans = buf.messages()
            if not spans:
                continue
            view = buf.view()
            # rewritten only when an answer must be replaced; otherwise forwarded as one slice
            out = bytearray() if self.pending or any(t == b"E" for t, _, _ in spans) else None
            for type, start, end in spans:  # in order: the answers settle the session's state
                if type == b"C":
                    self._completed(bytes(view[start + 5:end]))
                elif type == b"1":
                    self.prepared.parse_complete()
                elif type == b"2":
                    self.prepared.bind_complete()
                elif type == b"t":
                    self.prepared.parameter_types(bytes(view[start + 5:end]))
                elif type == b"Z":
                    self.prepared.ready(bytes(view[start + 5:start + 6]))
                    while self.running and self.running.popleft() is not None:
                        continue
                elif type in (b"I", b"s") and self.running and self.running[0] is not None:
                    entry = self.running.popleft()
                    if type == b"s" and entry is not None and entry[1] is not None:
                        self.prepared.suspended.add(entry[1])
                if out is not None:
                    if type == b"E" and self.pending:
                        out += self._substitute(bytes(view[start:end]))
                    else:
                        out += view[start:end]
            self.writer.write(bytes(view[:spans[-1][2]]) if out is None else out)
            buf.take(spans[-1][2])
            await self.writer.drain()

    def _completed(self, body: bytes) -> None:
        """A CommandComplete: the statement it ends, and the rows it changed, to the audit."""
        entry = self.running.popleft() if self.running and self.running[0] is not None else None
        sql = entry[0] if entry is not None else None
        rows = protocol.command_rows(body)
        tag = body.rstrip(b"\x00").decode("ascii", "replace")
        if rows is None or tag.startswith(("SELECT", "FETCH", "MOVE")):
            return
        self.counters.rows += rows
        task = asyncio.ensure_future(self._audit("pgproxy.completed", {
            "sql": sql if sql is not None else "", "tag": tag, "rows_affected": rows}))
        self._audits.add(task)
        task.add_done_callback(self._audits.discard)

    def _substitute(self, raw: bytes) -> bytes:
        text = protocol.error_fields(raw[5:]).get("M", "")
        for nonce in self.pending:
            if nonce in text:
                return self.pending.pop(nonce)
        return raw

    async def _fatal(self, code: str, message: str) -> None:
        try:
            self.writer.write(protocol.error_response(message, code=code, severity="FATAL"))
            await self.writer.drain()
        except ConnectionError:
            pass

    async def _audit(self, type: str, data: dict[str, Any], actor: str | None = "") -> None:
        s = self.session
        payload = {
            "client_address": self.address,
            "database": self.ctx.target.database,
            **({"user": s.user, "application_name": s.application_name,
                "session": s.key} if s else {}),
            **data,
        }
        who = (s.client.identity if s else None) if actor == "" else actor
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(
                self.ctx.executor, lambda: self.ctx.audit.append(type, payload, actor=who)
            )
        except Exception:
            log.exception("could not audit %s", type)


__all__ = ["ClientConnection", "ProxyContext"]
