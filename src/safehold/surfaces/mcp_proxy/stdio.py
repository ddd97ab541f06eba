"""`safehold mcp-proxy -- <server command…>`: an MCP stdio server behind a policy check.

The client starts the proxy instead of the server; the proxy starts the server and relays
newline-delimited JSON-RPC both ways byte for byte. Only `tools/call` requests stop: each is
judged on its own task (so a call held for approval does not stall the others) and then either
forwarded unchanged or answered with a refusal result. The server's name comes from
`--server-name`, else from its initialize result.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from typing import Any

from safehold.surfaces.mcp_proxy.judge import Judge, refusal_result, server_name_from

_LINE_LIMIT = 64 * 1024 * 1024


class StdioProxy:
    def __init__(self, command: list[str], judge: Judge, session: str):
        self.command = command
        self.judge = judge
        self.session = session
        self._server_lock = asyncio.Lock()
        self._client_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> int:
        self.proc = await asyncio.create_subprocess_exec(
            *self.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=_LINE_LIMIT,
        )
        loop = asyncio.get_running_loop()
        self.client_in = asyncio.StreamReader(limit=_LINE_LIMIT)
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(self.client_in), os.fdopen(0, "rb", 0)
        )
        from_server = asyncio.create_task(self._server_to_client())
        from_client = asyncio.create_task(self._client_to_server())
        done, _ = await asyncio.wait({from_server, from_client}, return_when="FIRST_COMPLETED")
        if from_client in done:
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._close_server_stdin()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(from_server, timeout=10)
        if self.proc.returncode is None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.proc.wait(), timeout=5)
        if self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()
        from_client.cancel()
        return self.proc.returncode or 0

    async def _client_to_server(self) -> None:
        while line := await self.client_in.readline():
            msg = _parse(line)
            if isinstance(msg, list):
                await self._batch(msg)
                continue
            if isinstance(msg, dict) and msg.get("method") == "tools/call":
                task = asyncio.create_task(self._judge_then_forward(msg, line))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                continue
            await self._to_server(line)

    async def _batch(self, batch: list[Any]) -> None:
        forward = []
        for msg in batch:
            if isinstance(msg, dict) and msg.get("method") == "tools/call":
                ruling = await asyncio.to_thread(
                    self.judge.judge, msg.get("params"), self.session, msg.get("id")
                )
                if not ruling.allowed:
                    if "id" in msg:
                        await self._to_client(refusal_result(msg, ruling.message))
                    continue
            forward.append(msg)
        if forward:
            await self._to_server((json.dumps(forward) + "\n").encode())

    async def _judge_then_forward(self, msg: dict[str, Any], line: bytes) -> None:
        ruling = await asyncio.to_thread(
            self.judge.judge, msg.get("params"), self.session, msg.get("id")
        )
        if ruling.allowed:
            await self._to_server(line)
        elif "id" in msg:
            await self._to_client(refusal_result(msg, ruling.message))

    async def _server_to_client(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            if self.judge.server_name is None:
                msg = _parse(line)
                if isinstance(msg, dict) and "result" in msg:
                    self.judge.server_name = server_name_from(msg["result"])
            async with self._client_lock:
                _write_stdout(line)

    async def _to_server(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        async with self._server_lock:
            try:
                self.proc.stdin.write(data if data.endswith(b"\n") else data + b"\n")
                await self.proc.stdin.drain()
            except (BrokenPipeError, ConnectionResetError):
                pass

    async def _to_client(self, msg: dict[str, Any]) -> None:
        async with self._client_lock:
            _write_stdout((json.dumps(msg) + "\n").encode())

    async def _close_server_stdin(self) -> None:
        assert self.proc.stdin is not None
        async with self._server_lock:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()


def _parse(line: bytes) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None


def _write_stdout(data: bytes) -> None:
    out = sys.stdout.buffer
    out.write(data)
    out.flush()


def run(command: list[str], judge: Judge, session: str) -> int:
    try:
        return asyncio.run(StdioProxy(command, judge, session).run())
    except OSError as exc:
        sys.stderr.write(f"safehold: cannot start the MCP server {command[0]!r}: {exc}\n")
        return 127
