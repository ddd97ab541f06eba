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
