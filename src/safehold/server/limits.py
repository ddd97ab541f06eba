"""Request bodies are bounded while they are read, before any authentication or parsing.

A `Content-Length` over the limit is refused at once; a body without one (chunked) is counted
as it arrives and refused the moment it passes the limit, so a client that streams forever
costs the server at most one limit's worth of memory, with or without a token. The refusal is
an HTTP 413 raised from inside the read, which FastAPI and Starlette pass through untouched.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import HTTPException

Scope = dict[str, Any]
Message = dict[str, Any]


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"request bodies are limited to {limit} bytes")


class BodyLimit:
    """Pure ASGI middleware (no buffering of its own) that caps every request body."""

    def __init__(self, app: Any, limit: int, on_refuse: Any = None):
        self.app = app
        self.limit = limit
        self.on_refuse = on_refuse

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self._refuse(scope, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message: Message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Any) -> None:
        if self.on_refuse is not None:
            await self.on_refuse(scope)
        await _answer_413(send, self.limit)


async def _answer_413(send: Any, limit: int) -> None:
    body = json.dumps(
        {"error": "too_large", "detail": f"request bodies are limited to {limit} bytes"}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
