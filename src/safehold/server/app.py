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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

import safehold
from safehold.config import ServerSettings
from safehold.protection.posture import age_label
from safehold.server.accounts import Accounts
from safehold.server.auth import SessionCookies, SignInThrottle, TokenCache, load_secret_key
from safehold.server.limits import BodyLimit
from safehold.server.views import protected_environments, size_label

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
MAX_BODY = 1024 * 1024
FAVICON = (
    "data:image/svg+xml,%3Csvg%20xmlns%3D%22http%3A//www.w3.org/2000/svg%22%20viewBox%3D%220%20"
    "0%2032%2032%22%3E%3Crect%20width%3D%2232%22%20height%3D%2232%22%20rx%3D%226%22%20fill%3D%2"
    "2%231b1f24%22/%3E%3Cpath%20d%3D%22M16%205l9%204v7c0%205.5-3.8%209.7-9%2011-5.2-1.3-9-5.5-9"
    "-11V9z%22%20fill%3D%22%23b3141b%22/%3E%3C/svg%3E"
)


@dataclass(frozen=True, slots=True)
class ServerContext:
    """Everything a route needs, hung on `app.state.ctx` (no module globals)."""

    safehold: Any
    settings: ServerSettings
    accounts: Accounts
    cookies: SessionCookies
    templates: Jinja2Templates
    protected: frozenset[str]
    throttle: SignInThrottle
    checkpointer: Any = None
    tokens: Any = None
    #: Threads that run decisions: each waits for its record's group commit, so as many
    #: decisions as threads share one durable write.
    decisions: Any = None
    chain: Any = None


def create_app(sh: Any, settings: ServerSettings, *, tick_seconds: float = 5.0) -> FastAPI:
    """The ASGI app serving `sh` (an open `Safehold`). `tick_seconds` paces the background
    expiry/release loop; 0 turns it off (tests that drive time themselves), and with it the
    scheduled checkpoints (the start-up and shutdown checkpoints are always signed)."""
    from safehold.audit.checkpoint import checkpointer_for
    from safehold.gateway import routes as gateway_routes
    from safehold.server import api, control, dashboard, people
    from safehold.server.chain import ChainWatch

    checkpointer = checkpointer_for(sh.audit, sh.config.audit, publish=(sh.notifier.checkpoint,))

    cookies = SessionCookies(
        load_secret_key(settings.secret_key_path),
        max_age=settings.session_ttl_seconds,
        secure=settings.base_url.startswith("https://"),
    )
    accounts = Accounts(sh.store, sh.audit, actor="server")
    ctx = ServerContext(
        safehold=sh,
        settings=settings,
        accounts=accounts,
        cookies=cookies,
        templates=_templates(sh.config.path),
        protected=protected_environments(sh.config),
        throttle=SignInThrottle(sh.store),
        checkpointer=checkpointer,
        tokens=TokenCache(accounts),
        decisions=ThreadPoolExecutor(settings.decision_threads, "safehold-decide"),
        chain=ChainWatch(sh, control.verify),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(checkpointer.sign_or_report)
        tasks = []
        if tick_seconds > 0:
            every = float(sh.config.audit.checkpoint_interval_seconds)
            tasks = [
                asyncio.create_task(_tick(_tick_once, sh, tick_seconds)),
                asyncio.create_task(_tick(_checkpoint_once, (sh.store, checkpointer), every)),
            ]
        try:
            async with gateway_routes.running(gateway, min(tick_seconds, 1.0)):
                yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await asyncio.to_thread(checkpointer.sign_or_report)
            ctx.decisions.shutdown(wait=True)

    app = FastAPI(
        title="safehold",
        version=safehold.__version__,
        description=(
            "Decisions, approvals, delays and the audit log of a safehold server. "
            "Authenticate with `Authorization: Bearer <token>` (create one with "
            "`safehold tokens create NAME --role agent`, or `--role approver|admin --user "
            "NAME` for a person). Agent tokens may ask for decisions and poll approvals; only "
            "approver and admin tokens, each acting for its user, may approve, deny, cancel "
            "or run actions, and a person's votes count once whatever the token."
        ),
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(api.router)
    app.include_router(dashboard.router)
    app.include_router(people.router)
    gateway = gateway_routes.mount(app, sh)

    async def too_large(request_scope: dict[str, Any]) -> None:
        await _record_refusal(sh, Request(request_scope), "request.rejected", 413,
                              [f"body larger than {MAX_BODY} bytes"])

    app.add_middleware(BodyLimit, limit=MAX_BODY, on_refuse=too_large)
    if settings.trusted_proxies:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        # only these peers may say who the client is (throttle and audit address)
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        """Swagger UI from the vendored copy: the API docs work on a machine with no internet."""
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="safehold API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url=FAVICON,
        )

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
        if exc.status_code in (400, 413):
            await _record_refusal(sh, request, "request.rejected", exc.status_code,
                                  [str(exc.detail)])
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
        await _record_refusal(sh, request, "request.failed", 500, [type(exc).__name__])
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
        problems = [{k: _printable(v) for k, v in p.items()} for p in problems]
        await _record_refusal(
            sh, request, "request.rejected", 422,
            [f"{p['field']}: {p['problem']}" for p in problems],
        )
        body = {
            "error": "invalid_request",
            "detail": "the request is not valid",
            "problems": problems,
        }
        return JSONResponse(body, status_code=422)

    return app


def _printable(text: str) -> str:
    """Text that can be stored and shown: a lone surrogate an attacker sent becomes `\\ud800`."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


async def _record_refusal(
    sh: Any, request: Request, type: str, status: int, problems: list[str]
) -> None:
    """Every refused or failed request leaves an audit record, never only a log line."""
    payload = {
        "method": request.method,
        "path": _printable(request.url.path)[:200],
        "status": status,
        "problems": [_printable(p)[:300] for p in problems[:10]],
        "address": request.client.host if request.client else None,
        "authenticated": bool(request.headers.get("authorization")),
    }
    try:
        await asyncio.to_thread(sh.audit.append, type, payload)
    except Exception:
        log.exception("could not audit a refused request")


def _templates(config_path: str | None = None) -> Jinja2Templates:
    from safehold.deploy.mode import SAME_USER_NOTE, is_system_deployment
    from safehold.server.reveal import reveal, reveal_plain, reveal_prose

    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["favicon"] = FAVICON
    same_user = not is_system_deployment(config_path)
    templates.env.globals["same_user_note"] = SAME_USER_NOTE if same_user else ""
    templates.env.globals["size_label"] = size_label
    templates.env.globals["age"] = age_label
    templates.env.filters["reveal"] = reveal
    templates.env.filters["reveal_prose"] = reveal_prose
    templates.env.filters["reveal_plain"] = reveal_plain
    return templates


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


async def _tick(job: Any, subject: Any, every: float) -> None:
    """Run `job(subject)` every `every` seconds, forever, off the event loop."""
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(job, subject)
        except Exception:
            log.exception("background %s failed", job.__name__)


def _tick_once(sh: Any) -> None:
    """Expire unanswered approvals and release due delays."""
    sh.maintenance()


def _checkpoint_once(subject: tuple[Any, Any]) -> None:
    """Sign the audit head when it moved since the last checkpoint; on one server at a time
    among those sharing the database, so one head is signed (and posted) once."""
    store, checkpointer = subject
    with store.exclusive("audit-checkpoint") as mine:
        if mine:
            checkpointer.sign_or_report()
