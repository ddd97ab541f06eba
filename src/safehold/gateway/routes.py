"""`ANY /gateway/{credential}/{path}`: the HTTP face of the gateway, mounted by the server.

The route reads the request (bounded by the server's body limit), runs `Gateway.prepare` off
the event loop, and then either forwards — streaming the provider's answer back as it arrives —
or answers in the provider's error shape. An ask can be waited on: with `X-Safehold-Wait: N`
the request is held up to N seconds (at most `MAX_HOLD`) and sent the moment it is approved.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from safehold.errors import KeyFileError
from safehold.gateway.core import Gateway, Outcome
from safehold.gateway.outgoing import HOP_BY_HOP
from safehold.gateway.replies import reply

log = logging.getLogger(__name__)
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
MAX_HOLD = 300.0
MAX_BODY = 1024 * 1024
POLL_SECONDS = 0.5
_RESPONSE_DROP = HOP_BY_HOP - {"content-length"}

router = APIRouter(include_in_schema=False)


def mount(app: FastAPI, sh: Any) -> Gateway | None:
    """Add the gateway routes to `app`; the caller starts and stops the returned Gateway.
    Without a usable key directory the routes answer 503 saying why, and nothing else
    on the server is affected."""
    try:
        gateway: Gateway | None = Gateway.open(sh)
    except KeyFileError as exc:
        log.warning("the gateway is off: %s", exc)
        app.state.gateway_problem = str(exc)
        gateway = None
    app.state.gateway = gateway
    app.include_router(router)
    return gateway


async def run_delays(gateway: Gateway, every: float) -> None:
    """Send due delayed requests, forever, off the event loop."""
    while True:
        try:
            await asyncio.to_thread(gateway.run_due)
        except Exception:
            log.exception("running delayed gateway requests failed")
        await asyncio.sleep(every)


@contextlib.asynccontextmanager
async def running(gateway: Gateway | None, every: float) -> AsyncIterator[None]:
    """The gateway's client and, when `every` > 0, its delayed-request loop."""
    if gateway is None:
        yield
        return
    await gateway.start()
    task = asyncio.create_task(run_delays(gateway, every)) if every > 0 else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await gateway.stop()


@router.api_route("/gateway/{credential}/{path:path}", methods=METHODS)
async def forward(credential: str, path: str, request: Request) -> Response:
    gateway: Gateway | None = request.app.state.gateway
    if gateway is None:
        problem = getattr(request.app.state, "gateway_problem", "not configured")
        return reply("json", 503, "unavailable", f"the gateway is off: {problem}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return reply("json", 413, "bad_request",
                         f"request bodies are limited to {MAX_BODY} bytes")
    headers = list(request.headers.items())
    args = (credential, request.method, path, request.url.query, headers, bytes(body))
    outcome = await run_in_threadpool(gateway.prepare, *args)
    wait = _wait_seconds(request)
    deadline = asyncio.get_running_loop().time() + wait
    while outcome.kind == "ask" and wait > 0:
        approval = outcome.details.get("approval") or {}
        state = await _await_approval(gateway, approval.get("id"), deadline)
        if state != "approved":
            break
        outcome = await run_in_threadpool(gateway.prepare, *args)
        wait = 0
    if outcome.kind != "forward":
        return reply(outcome.shape, outcome.status, outcome.kind, outcome.message,
                     outcome.details)
    return await _send(gateway, outcome)


async def _send(gateway: Gateway, outcome: Outcome) -> Response:
    assert gateway.client is not None and outcome.outgoing is not None
    out = outcome.outgoing
    req = gateway.client.build_request(out.method, out.url,
                                       headers=outcome.headers_with_credential(),
                                       content=out.body)
    outcome.secret = None
    try:
        upstream = await gateway.client.send(req, stream=True)
    except httpx.HTTPError as exc:
        await run_in_threadpool(gateway.record_forwarded, outcome, None, type(exc).__name__)
        return reply(outcome.shape, 502, "upstream",
                     f"the provider could not be reached ({type(exc).__name__})")
    async def finish() -> None:
        """Close the upstream stream, then audit the request with the upstream status: the
        decision is already on record, so this durable write stays off the answer's path."""
        await upstream.aclose()
        await run_in_threadpool(gateway.record_forwarded, outcome, upstream.status_code)

    response = StreamingResponse(upstream.aiter_raw(), status_code=upstream.status_code,
                                 background=BackgroundTask(finish))
    response.raw_headers = [
        (k.encode("latin-1"), v.encode("latin-1"))
        for k, v in upstream.headers.multi_items() if k.lower() not in _RESPONSE_DROP
    ]
    return response


async def _await_approval(gateway: Gateway, approval_id: str | None, deadline: float) -> str:
    loop = asyncio.get_running_loop()
    if not approval_id:
        return "pending"
    while loop.time() < deadline:
        await asyncio.sleep(POLL_SECONDS)
        state = await run_in_threadpool(gateway.approval_state, approval_id)
        if state != "pending":
            return state
    return "pending"


def _wait_seconds(request: Request) -> float:
    raw = request.headers.get("x-safehold-wait", "")
    try:
        return max(0.0, min(float(raw), MAX_HOLD)) if raw else 0.0
    except ValueError:
        return 0.0
