"""What an Execute will run: the prepared statement behind a portal, with its bound values.

The proxy judges extended-protocol statements at Execute, each time, with the parameters of the
Bind spliced in as literals: `DELETE FROM t WHERE id = $1` is decided (and audited, and
approved) as `DELETE FROM t WHERE id = '7'`, so an approval covers those values once and a
prepared statement cannot be reused for more than was judged.

For that the proxy keeps its own account of the server's prepared statements and portals, and
keeps it on the safe side of the truth: anything it cannot vouch for is *opaque*, and an
Execute of an opaque or unknown portal is refused, never forwarded unjudged.

- A Parse is only *pending* until its ParseComplete arrives; one the server skipped (after an
  earlier error, before Sync) is forgotten at ReadyForQuery.
- A Parse reusing a name the proxy still holds is refused by the proxy, as the server would.
- SQL that changes the same namespaces (`PREPARE`, `DEALLOCATE`, `DISCARD ALL`, `DECLARE …
  CURSOR`) makes the names it touches opaque or forgotten, from its parse tree.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass
from typing import Any

from safehold.pgproxy.errors import ProtocolError
from safehold.pgproxy.protocol import cstring

#: Binary parameter formats the proxy can show as literals (type OID → decoder).
_INT = {21: "!h", 23: "!i", 20: "!q", 26: "!I"}
_FLOAT = {700: "!f", 701: "!d"}
_TEXT = {25, 1043, 1042, 19, 705, 114}
#: A binary value whose type is unknown to the proxy (no OID in Parse, no Describe seen).
_UNTYPED = "\x00untyped"


@dataclass(frozen=True, slots=True)
class Statement:
    """A statement as parsed: its text, declared parameter types and `$n` byte spans."""

    sql: str
    types: tuple[int, ...]
    params: tuple[tuple[int, int, int], ...] | None  # (start, end, number); None: unparsable

    def render(self, values: list[bytes | None], formats: list[int]) -> str | None:
        """The text with each `$n` replaced by its bound value as a literal. A binary value of
        a type the proxy does not decode stays `$n`; one whose type it does not even know
        (it could be a boolean that widens a WHERE) makes the whole text None: unjudgeable."""
        if not self.params:
            return self.sql
        raw = self.sql.encode("utf-8")
        out, pos = bytearray(), 0
        for start, end, number in self.params:
            out += raw[pos:start]
            literal = _literal(number, values, formats, self.types)
            if literal is _UNTYPED:
                return None
            out += (literal if literal is not None else raw[start:end].decode()).encode()
            pos = end
        out += raw[pos:]
        return out.decode("utf-8", "replace")


def describe(sql: str) -> Statement:
    from safehold.analysis.sql.pg_native import PgParseError, parse_json

    try:
        tree = parse_json(sql)
    except PgParseError:
        return Statement(sql, (), None)
    spans = []
    for node in _nodes(tree, "ParamRef"):
        number, start = node.get("number", 0), node.get("location", -1)
        if number > 0 and start >= 0:
            spans.append((start, start + 1 + len(str(number)), number))
    return Statement(sql, (), tuple(sorted(spans)))


class PreparedState:
    """Statements and portals of one connection, as far as the proxy can vouch for them."""

    def __init__(self, max_statement_bytes: int) -> None:
        #: Text over this is not parsed (it is judged whole, as unknown, at Execute).
        self.max_statement_bytes = max_statement_bytes
        self.statements: dict[str, Statement | None] = {}
        self.portals: dict[str, str | None] = {}
        #: Portals whose execution a row limit suspended: a further Execute continues it.
        self.suspended: set[str] = set()
        #: Parses and syncs sent upstream and not yet answered, in order.
        self._pending: deque[tuple[str, str]] = deque()

    # -- client messages --------------------------------------------------------------------

    def parse(self, name: str, sql: str, types: tuple[int, ...]) -> bool:
        """Record a Parse about to be forwarded; False when the name is still held."""
        if name and name in self.statements:
            return False
        params = (describe(sql).params
                  if len(sql.encode("utf-8", "replace")) <= self.max_statement_bytes else None)
        self.statements[name] = Statement(sql, types, params)
        self._pending.append(("parse", name))
        return True

    def bind(self, body: bytes) -> None:
        portal, pos = cstring(body)
        name, pos = cstring(body, pos)
        self._pending.append(("bind", portal))
        self.suspended.discard(portal)
        statement = self.statements.get(name)
        if statement is None:
            self.portals[portal] = None
            return
        try:
            formats, values = _bind_values(body, pos)
        except (struct.error, IndexError, ProtocolError):
            self.portals[portal] = None
            return
        self.portals[portal] = statement.render(values, formats)

    def close(self, body: bytes) -> None:
        kind, name = body[:1], cstring(body, 1)[0]
        (self.statements if kind == b"S" else self.portals).pop(name, None)
        if kind != b"S":
            self.suspended.discard(name)

    def describe(self, body: bytes) -> None:
        """A Describe: for a statement, the server's ParameterDescription names the types."""
        if body[:1] == b"S":
            self._pending.append(("describe", cstring(body, 1)[0]))

    def parameter_types(self, body: bytes) -> None:
        """A ParameterDescription from the server: the types of the statement described."""
        name = self._confirm("describe")
        statement = self.statements.get(name) if name is not None else None
        if name is None or statement is None or len(body) < 2:
            return
        (count,) = struct.unpack_from("!h", body)
        if count < 0 or len(body) < 2 + 4 * count:
            return
        types = struct.unpack_from(f"!{count}I", body, 2)
        known = tuple(t or s for t, s in zip(statement.types + (0,) * count, types, strict=False))
        self.statements[name] = Statement(statement.sql, known, statement.params)

    def sync(self) -> None:
        self._pending.append(("sync", ""))

    def to_execute(self, body: bytes) -> str | None:
        """The judged text of the portal an Execute names; None when it cannot be vouched."""
        return self.portals.get(cstring(body)[0])

    def observe(self, sql: str) -> None:
        """Account for SQL that prepares, deallocates or declares by name."""
        if len(sql.encode("utf-8", "replace")) > self.max_statement_bytes:
            # too large to parse (it ran because a human approved it): vouch for nothing
            self.statements = dict.fromkeys(self.statements)
            self.portals = dict.fromkeys(self.portals)
            self.suspended.clear()
            return
        if not any(w in sql.upper() for w in ("PREPARE", "DEALLOCATE", "DISCARD", "DECLARE")):
            return  # none of these statements can be written without its keyword
        from safehold.analysis.sql.pg_native import PgParseError, parse_json

        try:
            tree = parse_json(sql)
        except PgParseError:
            return
        for node in _nodes(tree, "PrepareStmt"):
            self.statements[node.get("name", "")] = None
        for node in _nodes(tree, "DeallocateStmt"):
            if node.get("isall"):
                self.statements.clear()
            else:
                self.statements.pop(node.get("name", ""), None)
        for node in _nodes(tree, "DiscardStmt"):
            if node.get("target") == "DISCARD_ALL":
                self.statements.clear()
                self.portals.clear()
                self.suspended.clear()
        for node in _nodes(tree, "DeclareCursorStmt"):
            self.portals[node.get("portalname", "")] = None
            self.suspended.discard(node.get("portalname", ""))

    # -- server answers ---------------------------------------------------------------------

    def parse_complete(self) -> None:
        self._confirm("parse")

    def bind_complete(self) -> None:
        self._confirm("bind")

    def _confirm(self, kind: str) -> str | None:
        for i, (k, name) in enumerate(self._pending):
            if k == kind:
                del self._pending[i]
                return name
            if k == "sync":
                return None
        return None

    def ready(self, status: bytes = b"I") -> None:
        """ReadyForQuery: every Parse and Bind of the batch not confirmed was skipped or
        failed, so what the server holds under its name is no longer what the proxy judged.
        Outside a healthy transaction no portal survives, so none can be continued."""
        if status != b"T":
            self.suspended.clear()
        while self._pending:
            kind, name = self._pending.popleft()
            if kind == "sync":
                return
            if kind == "bind":
                self.portals[name] = None
                self.suspended.discard(name)
            elif kind == "describe":
                continue
            elif name:
                self.statements.pop(name, None)
            else:  # the server kept its previous unnamed statement
                self.statements[""] = None


def portal_name(body: bytes) -> str | None:
    """The portal an Execute names; None for a malformed one."""
    try:
        return cstring(body)[0]
    except ProtocolError:
        return None


def parameter_oids(rest: bytes) -> tuple[int, ...]:
    """The parameter type OIDs at the end of a Parse message (0: the server infers it)."""
    if len(rest) < 2:
        return ()
    (count,) = struct.unpack_from("!h", rest)
    if count <= 0 or len(rest) < 2 + 4 * count:
        return ()
    return struct.unpack_from(f"!{count}I", rest, 2)


def _bind_values(body: bytes, pos: int) -> tuple[list[int], list[bytes | None]]:
    (nformats,) = struct.unpack_from("!h", body, pos)
    pos += 2
    formats = list(struct.unpack_from(f"!{nformats}h", body, pos))
    pos += 2 * nformats
    (nparams,) = struct.unpack_from("!h", body, pos)
    pos += 2
    values: list[bytes | None] = []
    for _ in range(nparams):
        (size,) = struct.unpack_from("!i", body, pos)
        pos += 4
        if size < 0:
            values.append(None)
            continue
        if pos + size > len(body):
            raise ProtocolError("a Bind parameter runs past its message")
        values.append(bytes(body[pos:pos + size]))
        pos += size
    return formats, values


def _literal(number: int, values: list[bytes | None], formats: list[int],
             types: tuple[int, ...]) -> str | None:
    if not 0 < number <= len(values):
        return None
    value = values[number - 1]
    if value is None:
        return "NULL"
    fmt = formats[0] if len(formats) == 1 else formats[number - 1] if formats else 0
    if fmt == 0:
        return _quote(value.decode("utf-8", "replace"))
    oid = types[number - 1] if number <= len(types) else 0
    if oid == 0:
        return _UNTYPED
    if oid == 16 and len(value) == 1:
        return "true" if value[0] else "false"
    if oid in _INT and len(value) == struct.calcsize(_INT[oid]):
        return str(struct.unpack(_INT[oid], value)[0])
    if oid in _FLOAT and len(value) == struct.calcsize(_FLOAT[oid]):
        return repr(struct.unpack(_FLOAT[oid], value)[0])
    if oid in _TEXT:
        return _quote(value.decode("utf-8", "replace"))
    if oid == 17:
        return f"'\\x{value.hex()}'::bytea"
    return None


def _quote(text: str) -> str:
    text = text.replace("\x00", "")
    if "\\" in text:
        return "E'" + text.replace("\\", "\\\\").replace("'", "''") + "'"
    return "'" + text.replace("'", "''") + "'"


def _nodes(tree: Any, kind: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == kind and isinstance(value, dict):
                    out.append(value)
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return out
