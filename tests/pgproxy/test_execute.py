"""Extended protocol: every Execute is judged with the statement and the values bound to it,
and the proxy's account of prepared statements cannot be steered away from the server's."""

from __future__ import annotations

import json
import struct

import psycopg
import pytest
from pgproxy_fixtures import Running, Wire

from safehold.pgproxy import protocol


def decided(proxy: Running) -> list[tuple[str, str | None]]:
    return [(json.loads(e.payload)["action"]["input"], e.decision) for e in proxy.audit()]


def approve(proxy: Running, error: Exception) -> None:
    approval_id = str(error).split("Approval request ")[1].split()[0]
    for approver in ("user/alice", "user/bob"):
        if proxy.safehold.vote(approval_id, approver, True).state == "approved":
            return
    raise AssertionError("not approved")


def test_each_execute_of_a_prepared_statement_is_judged_with_its_values(proxy: Running) -> None:
    with proxy.connect(autocommit=True) as conn:
        for i in (3, 4, 5):
            conn.execute("DELETE FROM accounts WHERE id = %s", (i,), prepare=True)
        conn.execute("UPDATE accounts SET owner = %s WHERE id = %s", ("it's", 6), prepare=True)
    seen = [s for s, v in decided(proxy) if v == "allow"]
    for i in (3, 4, 5):
        assert f"DELETE FROM accounts WHERE id = {i}" in seen
    assert "UPDATE accounts SET owner = 'it''s' WHERE id = 6" in seen
    assert proxy.rows("SELECT count(*) FROM accounts") == [(47,)]


def test_an_approval_covers_one_execute_not_the_prepared_statement(proxy: Running) -> None:
    """A function safehold does not know is held for a human; approving one call with its
    value must not let the prepared statement run again, with that value or another."""
    from pgproxy_fixtures import direct

    with direct(proxy.upstream, proxy.database) as conn:
        conn.execute("CREATE FUNCTION bump(v int) RETURNS int LANGUAGE sql AS "
                     "'UPDATE accounts SET balance = balance + v WHERE id = 1 RETURNING balance'")
    sql = "SELECT bump(%s)"
    with proxy.connect(autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as err:
            conn.execute(sql, (7,), prepare=True)
        assert "SELECT bump(7)" in str(err.value)
        approve(proxy, err.value)
        assert conn.execute(sql, (7,), prepare=True).fetchone() == (107,)
        for value in (1000, 7):  # the same prepared statement: a new decision each time
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql, (value,), prepare=True)
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert proxy.rows("SELECT balance FROM accounts WHERE id = 1") == [(107,)]


class RawClient(Wire):
    """The wire protocol by hand, logged in with the token in clear (loopback)."""

    def __init__(self, proxy: Running):
        super().__init__(proxy.port)
        self.sock.sendall(protocol.startup_message(
            {"user": "agent", "database": proxy.database}))
        kind, _ = self.read()
        assert kind == b"R"
        self.sock.sendall(protocol.encode(b"p", proxy.token.encode() + b"\x00"))
        self.until_ready()

    def until_ready(self) -> list[tuple[bytes, bytes]]:
        got = []
        while True:
            kind, body = self.read()
            got.append((kind, body))
            if kind == b"Z":
                return got

    def send(self, *messages: bytes) -> list[tuple[bytes, bytes]]:
        self.sock.sendall(b"".join(messages))
        return self.until_ready()


def parse(name: str, sql: str) -> bytes:
    return protocol.parse_bytes(name, sql)


def bind(portal: str = "", statement: str = "", *values: str) -> bytes:
    body = portal.encode() + b"\x00" + statement.encode() + b"\x00" + struct.pack("!h", 0)
    body += struct.pack("!h", len(values))
    for v in values:
        body += struct.pack("!i", len(v.encode())) + v.encode()
    return protocol.encode(b"B", body + struct.pack("!h", 0))


def execute(portal: str = "") -> bytes:
    return protocol.encode(b"E", portal.encode() + b"\x00" + struct.pack("!i", 0))


SYNC = protocol.encode(b"S")


def errors(answers: list[tuple[bytes, bytes]]) -> list[str]:
    return [protocol.error_fields(b).get("M", "") for k, b in answers if k == b"E"]


def test_a_skipped_parse_cannot_leave_the_judged_text_behind(proxy: Running) -> None:
    client = RawClient(proxy)
    # the server's unnamed statement: an unrestricted UPDATE (prepared, never executed)
    assert errors(client.send(parse("", "UPDATE accounts SET balance = 0"), SYNC)) == []
    # an error first, so the server skips the harmless Parse that follows
    answers = client.send(bind("", "no_such_statement"), parse("", "SELECT 1"), SYNC)
    assert len(errors(answers)) == 1
    # binding the unnamed statement would run the UPDATE, not SELECT 1
    answers = client.send(bind(), execute(), SYNC)
    assert any("does not know which statement" in m for m in errors(answers)), answers
    client.sock.close()
    assert proxy.rows("SELECT count(*) FROM accounts WHERE balance = 0") == [(0,)]


def test_sql_prepare_and_a_reused_name_cannot_swap_what_runs(proxy: Running) -> None:
    client = RawClient(proxy)
    assert errors(client.send(parse("s1", "SELECT 1"), SYNC)) == []
    # swap the server's s1 by SQL: allowed statements, but s1 is no longer what was parsed
    assert errors(client.send(protocol.query_bytes(
        "DEALLOCATE s1; PREPARE s1 AS UPDATE accounts SET owner = 'x' WHERE id > $1"))) == []
    answers = client.send(bind("", "s1", "0"), execute(), SYNC)
    assert any("does not know which statement" in m for m in errors(answers)), answers
    # a second Parse under a held name is refused, as the server would
    assert errors(client.send(parse("s2", "DELETE FROM accounts"), SYNC)) == []
    answers = client.send(parse("s2", "SELECT 1"), SYNC)
    assert any("already exists" in m for m in errors(answers))
    answers = client.send(bind("", "s2"), execute(), SYNC)
    assert any("DELETE FROM accounts" in m for m in errors(answers)), answers
    # a cursor declared in SQL is a portal the proxy did not bind
    answers = client.send(protocol.query_bytes("BEGIN; DECLARE c CURSOR FOR SELECT 1"))
    answers = client.send(execute("c"), SYNC)
    assert any("does not know which statement" in m for m in errors(answers)), answers
    client.sock.close()
    assert proxy.rows("SELECT count(*), min(owner) FROM accounts") == [(50, "owner1")]


def test_rows_affected_are_audited_per_statement(proxy: Running) -> None:
    with proxy.connect(autocommit=True) as conn:
        conn.execute("UPDATE accounts SET balance = 1 WHERE id < 4; DELETE FROM accounts "
                     "WHERE id = 10")
        conn.execute("UPDATE accounts SET owner = %s WHERE id > %s", ("z", 45), prepare=True)
        conn.execute("SELECT * FROM accounts")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM accounts")
    completed = [json.loads(e.payload) for e in proxy.audit("pgproxy.completed")]
    got = [(c["sql"], c["tag"], c["rows_affected"]) for c in completed]
    assert got == [
        ("UPDATE accounts SET balance = 1 WHERE id < 4", "UPDATE 3", 3),
        ("DELETE FROM accounts WHERE id = 10", "DELETE 1", 1),
        ("UPDATE accounts SET owner = 'z' WHERE id > 45", "UPDATE 5", 5),
    ]
    assert all(c["session"] == "pgproxy/agent1" for c in completed)


def test_a_binary_value_of_unknown_type_is_not_judged_as_a_bare_parameter(
    proxy: Running,
) -> None:
    """`WHERE id > $1 OR $2` reads as a restricted DELETE; with $2 = true it deletes every
    row. Sent in binary with no type and no Describe, the proxy cannot see the value."""
    client = RawClient(proxy)
    body = b"\x00\x00" + struct.pack("!h", 1) + struct.pack("!h", 1)  # all binary
    body += struct.pack("!h", 2) + struct.pack("!i", 4) + struct.pack("!i", 0)
    body += struct.pack("!i", 1) + b"\x01" + struct.pack("!h", 0)
    answers = client.send(parse("", "DELETE FROM accounts WHERE id > $1::int OR $2::bool"),
                          protocol.encode(b"B", body), execute(), SYNC)
    assert any("does not know which statement" in m for m in errors(answers)), answers
    client.sock.close()
    assert proxy.rows("SELECT count(*) FROM accounts") == [(50,)]
