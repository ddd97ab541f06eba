"""`safehold mcp-proxy --upstream URL --listen HOST:PORT`: a streamable-HTTP MCP server behind
a policy check.

Every request is relayed to the upstream with the same path, query, headers and body, and the
response streams back unchanged (JSON or SSE). A POST carrying a `tools/call` is judged first;
a refused call is answered here with an `isError` tool result and never reaches the upstream.
The server's name, unless given, is read from the first result that carries it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from safehold.surfaces.mcp_proxy.judge import Judge, refusal_result, server_name_from

_HOP = {
    "host", "content-length", "transfer-encoding", "connection", "keep-alive",
    "accept-encoding", "upgrade", "proxy-authorization", "te", "trailer",
}
_MAX_BODY = 16 * 1024 * 1024
_SNIFF_LIMIT = 1024 * 1024


def build_app(upstream: str, judge: Judge) -> Any:
    import anyio
    import httpx
    from starlette.applications import Starlette
    from starlette.background import BackgroundTask
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    parts = urlsplit(upstream)
    origin = f"{parts.scheme}://{parts.netloc}"
    client = httpx.AsyncClient(timeout=httpx.Timeout(None, connect=10.0))

    async def relay(request: Request) -> Response:
        body = await request.body()
        if len(body) > _MAX_BODY:
            return JSONResponse({"error": "request body too large"}, status_code=413)
        session = request.headers.get("mcp-session-id")
        if request.method == "POST":
            refusal = await _screen(body, session)
            if refusal is not None:
                return JSONResponse(refusal)
        url = origin + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        try:
            upstream_resp = await client.send(
                client.build_request(request.method, url, headers=headers, content=body),
                stream=True,
            )
        except httpx.HTTPError as exc:
            return JSONResponse({"error": f"upstream unreachable: {exc}"}, status_code=502)
        out_headers = {
            k: v for k, v in upstream_resp.headers.items() if k.lower() not in _HOP
        }
        return StreamingResponse(
            _sniffing(upstream_resp.aiter_raw(), judge),
            status_code=upstream_resp.status_code,
            headers=out_headers,
            background=BackgroundTask(upstream_resp.aclose),
        )

    async def _screen(body: bytes, session: str | None) -> Any:
        try:
            msg = json.loads(body)
        except ValueError:
            return None
        calls = [m for m in (msg if isinstance(msg, list) else [msg]) if _is_call(m)]
        refusals = []
        for call in calls:
            ruling = await anyio.to_thread.run_sync(
                judge.judge, call.get("params"), session, call.get("id")
            )
            if not ruling.allowed:
                refusals.append(refusal_result(call, ruling.message))
        if not refusals:
            return None
        if not isinstance(msg, list):
            return refusals[0]
        refused_ids = {r["id"] for r in refusals}
        held = [
            {"jsonrpc": "2.0", "id": m["id"], "error": {
                "code": -32600,
                "message": "held back: this batch contains a tool call safehold refused",
            }}
            for m in msg
            if isinstance(m, dict) and "id" in m and "method" in m and m["id"] not in refused_ids
        ]
        return refusals + held

    routes = [
        Route("/{path:path}", relay, methods=["GET", "POST", "DELETE", "PUT", "PATCH"]),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        yield
        await client.aclose()

    return Starlette(routes=routes, lifespan=lifespan)


def _is_call(msg: Any) -> bool:
    return isinstance(msg, dict) and msg.get("method") == "tools/call"


async def _sniffing(chunks: AsyncIterator[bytes], judge: Judge) -> AsyncIterator[bytes]:
    """Pass the bytes through untouched, learning the server's name on the way if unknown."""
    seen = b""
    async for chunk in chunks:
        if judge.server_name is None and len(seen) < _SNIFF_LIMIT:
            seen += chunk
            judge.server_name = _name_in(seen)
        yield chunk


def _name_in(data: bytes) -> str | None:
    text = data.decode("utf-8", "replace")
    candidates = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
    candidates.append(text)
    for candidate in candidates:
        try:
            msg = json.loads(candidate)
        except ValueError:
            continue
        for m in msg if isinstance(msg, list) else [msg]:
            if isinstance(m, dict):
                name = server_name_from(m.get("result"))
                if name:
                    return name
    return None


def serve(upstream: str, judge: Judge, *, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(build_app(upstream, judge), host=host, port=port, log_level="warning")
