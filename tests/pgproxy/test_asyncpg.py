"""asyncpg through the proxy: it uses the extended protocol with binary parameters throughout."""

from __future__ import annotations

import asyncio
import json

import pytest
from pgproxy_fixtures import Running

asyncpg = pytest.importorskip("asyncpg")


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_asyncpg_reads_writes_and_is_refused_with_the_session_usable(proxy: Running) -> None:
    async def scenario() -> None:
        conn = await asyncpg.connect(host="127.0.0.1", port=proxy.port, user="agent",
                                     password=proxy.token, database=proxy.database, ssl=False)
        try:
            assert await conn.fetchval("SELECT count(*) FROM accounts") == 50
            await conn.execute("UPDATE accounts SET balance = $1 WHERE id = $2", 5, 3)
            stmt = await conn.prepare("DELETE FROM accounts WHERE id = $1")
            await stmt.fetch(4)
            await stmt.fetch(5)
            with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
                await conn.execute("TRUNCATE accounts")
            with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
                await conn.execute("DELETE FROM accounts WHERE id > $1 OR $2", 0, True)
            async with conn.transaction():
                await conn.execute("INSERT INTO accounts VALUES ($1, $2, $3)", 80, "tx", 1)
            assert await conn.fetchval("SELECT count(*) FROM accounts") == 49
        finally:
            await conn.close()

    run(scenario())
    assert proxy.rows("SELECT balance FROM accounts WHERE id = 3") == [(5,)]
    assert proxy.rows("SELECT count(*) FROM accounts") == [(49,)]
    judged = [json.loads(e.payload)["action"]["input"] for e in proxy.audit()]
    # asyncpg sends binary values typed by the server's ParameterDescription: judged with them
    assert "DELETE FROM accounts WHERE id = 4" in judged
    assert "DELETE FROM accounts WHERE id > 0 OR true" in judged


def test_a_cursor_fetched_in_chunks_is_judged_once_and_a_held_one_runs_once(
    proxy: Running,
) -> None:
    """asyncpg's cursor executes one portal with a row limit again and again: one execution,
    one decision; a statement approved once can still be read to its end."""
    from pgproxy_fixtures import direct
    from test_execute import approve

    with direct(proxy.upstream, proxy.database) as conn:
        conn.execute("CREATE FUNCTION rows_of(v int) RETURNS SETOF int LANGUAGE sql AS "
                     "'SELECT generate_series(1, v)'")

    async def scenario() -> list[int]:
        conn = await asyncpg.connect(host="127.0.0.1", port=proxy.port, user="agent",
                                     password=proxy.token, database=proxy.database, ssl=False)
        try:
            async with conn.transaction():
                got = [r[0] async for r in conn.cursor(
                    "SELECT id FROM accounts WHERE id > $1 ORDER BY id", 0, prefetch=7)]
                assert got == list(range(1, 51))
            try:
                async with conn.transaction():
                    [r async for r in conn.cursor("SELECT * FROM rows_of($1)", 30, prefetch=4)]
            except asyncpg.exceptions.InsufficientPrivilegeError as exc:
                approve(proxy, exc)
            async with conn.transaction():
                return [r[0] async for r in conn.cursor("SELECT * FROM rows_of($1)", 30,
                                                       prefetch=4)]
        finally:
            await conn.close()

    assert run(scenario()) == list(range(1, 31))
    judged = [json.loads(e.payload)["action"]["input"] for e in proxy.audit()]
    assert judged.count("SELECT id FROM accounts WHERE id > 0 ORDER BY id") == 1
