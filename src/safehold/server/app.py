"""`create_app`: the HTTP face of one `Safehold`: the JSON API, the dashboard, and the clock.

The app owns no decision logic: every request becomes a call on the Safehold facade (evaluate,
approvals, delays, audit). Besides routing it does one job nobody else can do in a long-running
process: a background tick that expires unanswered approvals and closes delayed actions whose
release window has passed, so the dashboard shows the truth even when no agent comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

import safehold
from safehold.config import ServerSettings
from safehold.server.accounts import Accounts
from safehold.server.auth import SessionCookies, load_secret_key
from safehold.server.views import protected_environments

log = logging.getLogger(__name__)
HERE = Path(__file__).parent


@dataclass(frozen=True, slots=True)
class ServerContext:
    """Everything a route needs, hung on `app.state.ctx` (no module globals)."""

    safehold: Any
    settings: ServerSettings
    accounts: Accounts
    cookies: SessionCookies
    templates: Jinja2Templates
    protected: frozenset[str]


def create_app(sh: Any, settings: ServerSettings, *, tick_seconds: float = 5.0) -> FastAPI:
    """The ASGI app serving `sh` (an open `Safehold`). `tick_seconds` paces the background
    expiry/release loop; 0 turns it off (tests that drive time themselves)."""
    from safehold.server import api, dashboard

    cookies = SessionCookies(
        load_secret_key(settings.secret_key_path),
        max_age=settings.session_ttl_seconds,
        secure=settings.base_url.startswith("https://"),
    )
    ctx = ServerContext(
        safehold=sh,
        settings=settings,
        accounts=Accounts(sh.store),
        cookies=cookies,
        templates=Jinja2Templates(directory=str(HERE / "templates")),
        protected=protected_environments(sh.config),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_tick(sh, tick_seconds)) if tick_seconds > 0 else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(
        title="safehold",
        version=safehold.__version__,
        description=(
            "Decisions, approvals, delays and the audit log of a safehold server. "
            "Authenticate with `Authorization: Bearer <token>` (create one with "
            "`safehold tokens create NAME --role agent|approver|admin`). Agent tokens may ask "
            "for decisions and poll approvals; only approver and admin tokens may approve, "
            "deny, cancel or run actions."
        ),
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(api.router)
    app.include_router(dashboard.router)

    @app.get("/healthz", tags=["health"])
    def healthz() -> Any:
        """Liveness and database reachability, without authentication."""
        try:
            sh.audit.tail(1)
        except Exception as exc:
            return JSONResponse({"status": "error", "detail": str(exc)}, status_code=503)
        return {"status": "ok", "version": safehold.__version__}

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        if _wants_html(request) and exc.status_code in (401, 403, 404):
            return dashboard.error_page(request, exc.status_code, str(exc.detail))
        return JSONResponse(
            {"error": _ERROR_NAMES.get(exc.status_code, "error"), "detail": exc.detail},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request failed: %s %s", request.method, request.url.path)
        detail = f"safehold could not answer ({type(exc).__name__}); treat it as not allowed"
        return JSONResponse({"error": "internal_error", "detail": detail}, status_code=500)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
                "problem": e["msg"],
            }
            for e in exc.errors()
        ]
        body = {"error": "invalid_request", "detail": "the request is not valid",
                "problems": problems}
        return JSONResponse(body, status_code=422)

    return app


_ERROR_NAMES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid_request",
}


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


async def _tick(sh: Any, every: float) -> None:
    """Expire unanswered approvals and release due delays, forever, off the event loop."""
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(_tick_once, sh)
        except Exception:
            log.exception("background tick failed")


def _tick_once(sh: Any) -> None:
    sh.maintenance()
