"""The dashboard: server-rendered pages for the people who approve, deny and watch.

Pages are plain HTML that work without JavaScript (forms post and redirect); htmx upgrades the
approve/deny/cancel forms to swap one card in place and polls for new requests. Every POST,
sign-in included, must carry the session's CSRF token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from safehold.server import control
from safehold.server.accounts import Principal
from safehold.server.auth import CSRF_FIELD, CSRF_HEADER, WebSession, csrf_ok, new_session
from safehold.server.views import ApprovalView, DelayView, approval_view, delay_view

router = APIRouter(include_in_schema=False)


def _ctx(request: Request) -> Any:
    return request.app.state.ctx


def _web(request: Request) -> tuple[WebSession | None, Principal | None]:
    ctx = _ctx(request)
    session = ctx.cookies.read(request)
    if session is None or session.user_id is None:
        return session, None
    return session, ctx.accounts.session_principal(session.user_id, session.stamp, session.sid)


def _approval(ctx: Any, record: Any, user: Principal) -> ApprovalView:
    return approval_view(record, ctx.protected, user.identity, ctx.safehold.inventory)


def _delay(ctx: Any, record: Any) -> DelayView:
    return delay_view(record, ctx.protected, ctx.safehold.inventory)


def _signin_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


def _render(
    request: Request,
    template: str,
    session: WebSession | None,
    user: Principal | None,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    ctx = _ctx(request)
    counts = {"pending": 0, "delays": 0}
    chain_problem = None
    if user is not None:
        counts = control.counts(ctx.safehold)
        chain_problem = ctx.chain.problem() if ctx.chain is not None else None
    values.setdefault("flash", None)
    response = ctx.templates.TemplateResponse(
        request,
        template,
        {
            "user": user,
            "csrf": session.csrf if session else "",
            "counts": counts,
            "can_decide": bool(user and user.can_decide),
            "is_admin": bool(user and user.kind == "user" and user.is_admin),
            "chain_problem": chain_problem,
            **values,
        },
        status_code=status_code,
    )
    response.headers.update(_PAGE_HEADERS)
    return response


#: Pages show text agents wrote; beyond autoescaping, nothing inline may run or load from
#: elsewhere, and no page may be framed (clickjacking an Approve button).
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


async def _checked_post(request: Request) -> tuple[WebSession, Principal, Any]:
    """The signed-in user behind a POST whose CSRF token matches, and the parsed form."""
    session, user = await run_in_threadpool(_web, request)
    form = await request.form()
    submitted = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    if not csrf_ok(session, submitted if isinstance(submitted, str) else None):
        raise HTTPException(403, "the form's security token is missing or stale; reload the page")
    if user is None or session is None:
        raise HTTPException(401, "sign in first")
    return session, user, form


def error_page(request: Request, status: int, detail: str) -> Response:
    session, user = _web(request)
    if status == 401 and request.method == "GET":
        return _signin_redirect(request)
    return _render(request, "error.html", session, user, status_code=status, status=status,
                   detail=detail)


# sign-in -----------------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    ctx = _ctx(request)
    session, user = _web(request)
    if user is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    session = session or new_session()
    response = _render(request, "login.html", session, None, next=_safe_next(next), username="",
                       error=None)
    ctx.cookies.write(response, session)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    ctx = _ctx(request)
    session = ctx.cookies.read(request)
    form = await request.form()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    next_url = _safe_next(str(form.get("next", "/")))
    if not csrf_ok(session, str(form.get(CSRF_FIELD, "")) or None):
        session = new_session()
        response = _render(request, "login.html", session, None, status_code=403, next=next_url,
                           username=username, error="Your sign-in form expired. Try again.")
        ctx.cookies.write(response, session)
        return response
    address = request.client.host if request.client else "?"
    attempt = await run_in_threadpool(ctx.throttle.claim, username, address)
    wait = attempt.wait
    if wait:
        response = _render(request, "login.html", session, None, status_code=429, next=next_url,
                           username=username,
                           error=f"Too many failed sign-ins. Try again in {wait} seconds.")
        response.headers["Retry-After"] = str(wait)
        return response
    principal = (
        await run_in_threadpool(ctx.accounts.authenticate, username, password)
        if username and password
        else None
    )
    if principal is None:
        await run_in_threadpool(
            control.record_sign_in_failure, ctx.safehold, ctx.accounts, username, address
        )
        return _render(request, "login.html", session, None, status_code=401, next=next_url,
                       username=username, error="Wrong username or password.")
    await run_in_threadpool(ctx.throttle.succeeded, attempt, username)
    control.record_sign_in(ctx.safehold, principal)
    sid = await run_in_threadpool(
        ctx.accounts.open_session, principal, ctx.settings.session_ttl_seconds
    )
    redirect = RedirectResponse(next_url, status_code=303)
    ctx.cookies.write(redirect, new_session(principal, sid))
    return redirect


@router.post("/logout")
async def logout(request: Request) -> Response:
    session, user, _form = await _checked_post(request)
    ctx = _ctx(request)
    await run_in_threadpool(ctx.accounts.end_session, session.sid)
    ctx.safehold.audit.append("user.sign_out", {"user": user.name}, actor=user.identity)
    response = RedirectResponse("/login", status_code=303)
    ctx.cookies.clear(response)
    return response


# pages ---------------------------------------------------------------------------------------


@router.get("/")
def pending_page(request: Request) -> Response:
    session, user = _web(request)
    if user is None:
        return _signin_redirect(request)
    ctx = _ctx(request)
    pending = [_approval(ctx, a, user)
               for a in control.approvals(ctx.safehold, "pending")]
    control.with_snapshots(ctx.safehold, control.with_agents(ctx.safehold, pending))
    pending.sort(key=danger_order)
    recent = [_approval(ctx, a, user)
              for a in control.recent_approvals(ctx.safehold, 8)]
    delays = [_delay(ctx, d) for d in control.delays(ctx.safehold, "pending")]
    delays.sort(key=danger_order)
    control.with_snapshots(ctx.safehold, control.with_agents(ctx.safehold, recent + delays))
    return _render(request, "pending.html", session, user, page="pending", approvals=pending,
                   recent=recent, delays=delays, known=",".join(a.id for a in pending))


def danger_order(view: ApprovalView | DelayView) -> tuple[bool, int, str]:
    """Most dangerous first: production before the rest, then the worst effect (irreversible,
    destructive, write, read), then whatever runs out soonest."""
    deadline = view.expires_at if isinstance(view, ApprovalView) else view.run_at
    return (not view.is_prod, -view.effect_rank, deadline)


@router.get("/fragments/pending-notice")
def pending_notice(request: Request, known: str = "") -> Response:
    session, user = _web(request)
    if user is None:
        return HTMLResponse("", status_code=401)
    seen = {k for k in known.split(",") if k}
    fresh = sum(1 for a in control.approvals(_ctx(request).safehold, "pending")
                if str(a.id) not in seen)
    return _render(request, "_pending_notice.html", session, user, fresh=fresh)


@router.get("/approvals/{approval_id}")
def approval_page(request: Request, approval_id: str) -> Response:
    """The page a notification links to: one request, whatever its state."""
    session, user = _web(request)
    if user is None:
        return _signin_redirect(request)
    ctx = _ctx(request)
    try:
        record = control.approval(ctx.safehold, approval_id)
    except control.ControlError as exc:
        raise HTTPException(exc.status, exc.detail) from None
    view = _approval(ctx, record, user)
    control.with_snapshots(ctx.safehold, control.with_agents(ctx.safehold, [view]))
    return _render(request, "approval.html", session, user, page="pending", a=view)


@router.post("/approvals/{approval_id}/decide")
async def decide(request: Request, approval_id: str) -> Response:
    session, user, form = await _checked_post(request)
    ctx = _ctx(request)
    verdict = str(form.get("verdict", ""))
    comment = str(form.get("comment", "")).strip()[:2000] or None
    if verdict not in ("approve", "deny"):
        raise HTTPException(422, "verdict must be approve or deny")
    if not user.can_decide:
        raise HTTPException(403, f"role {user.role!r} may not decide requests")
    flash = None
    refusal = (
        await run_in_threadpool(_production_refusal, ctx, approval_id, user, comment,
                                form.get("confirm"))
        if verdict == "approve" else None
    )
    if refusal is not None:
        if not _is_htmx(request):
            raise HTTPException(422, refusal)
        view = _approval(ctx, control.approval(ctx.safehold, approval_id), user)
        control.with_snapshots(ctx.safehold, control.with_agents(ctx.safehold, [view]))
        return _render(request, "_decided.html", session, user, a=view,
                       card_flash={"kind": "error", "text": refusal},
                       in_list=str(form.get("next", "")) == "/")
    try:
        record = await run_in_threadpool(
            control.vote, ctx.safehold, approval_id, user, verdict, comment
        )
    except control.ControlError as exc:
        if exc.status == 404:
            raise HTTPException(404, exc.detail) from None
        record = control.approval(ctx.safehold, approval_id)
        flash = {"kind": "error", "text": exc.detail}
    if not _is_htmx(request):
        return RedirectResponse(_safe_next(str(form.get("next", "/"))), status_code=303)
    view = _approval(ctx, record, user)
    control.with_snapshots(ctx.safehold, control.with_agents(ctx.safehold, [view]))
    return _render(request, "_decided.html", session, user, a=view, card_flash=flash,
                   in_list=str(form.get("next", "")) == "/")


def _production_refusal(
    ctx: Any, approval_id: str, user: Principal, comment: str | None, confirm: Any
) -> str | None:
    """Why this approval may not go through yet, or None. Approving in production takes a
    comment and a confirmation naming the environment and every target, checked here against
    the stored request, whatever the browser did."""
    try:
        view = _approval(ctx, control.approval(ctx.safehold, approval_id), user)
    except control.ControlError as exc:
        raise HTTPException(exc.status, exc.detail) from None
    if not view.is_prod or view.state != "pending":
        return None
    missing = []
    if not comment or len(comment) < 3:
        missing.append("a comment saying why it is safe")
    if confirm != view.confirm_phrase:
        missing.append(f"the confirmation of where it runs ({view.confirm_phrase})")
    if not missing:
        return None
    return f"Approving a production action needs {' and '.join(missing)}; nothing was approved."


@router.get("/delays")
def delays_page(request: Request) -> Response:
    session, user = _web(request)
    if user is None:
        return _signin_redirect(request)
    return _render(request, "delays.html", session, user, page="delays", **_delay_lists(request))


@router.get("/fragments/delays")
def delays_fragment(request: Request) -> Response:
    session, user = _web(request)
    if user is None:
        return HTMLResponse("", status_code=401)
    return _render(request, "_delay_list.html", session, user, **_delay_lists(request))


def _delay_lists(request: Request) -> dict[str, Any]:
    ctx = _ctx(request)
    views = [_delay(ctx, d) for d in control.delays(ctx.safehold, None)]
    control.with_snapshots(ctx.safehold, control.with_agents(ctx.safehold, views))
    active = sorted((d for d in views if d.state == "pending"), key=lambda d: d.run_at)
    finished = [d for d in views if d.state != "pending"][:20]
    return {"active": active, "finished": finished}


@router.post("/delays/{delay_id}/{verb}")
async def delay_action(request: Request, delay_id: str, verb: str) -> Response:
    session, user, _form = await _checked_post(request)
    ctx = _ctx(request)
    if verb not in ("cancel", "run-now"):
        raise HTTPException(404, "no such delay action")
    if not user.can_decide:
        raise HTTPException(403, f"role {user.role!r} may not cancel or run delayed actions")
    flash = None
    try:
        record = await run_in_threadpool(control.delay_verb, ctx.safehold, delay_id, verb, user)
    except control.ControlError as exc:
        if exc.status == 404:
            raise HTTPException(404, exc.detail) from None
        record = control.delay(ctx.safehold, delay_id)
        flash = {"kind": "error", "text": exc.detail}
    if not _is_htmx(request):
        return RedirectResponse(request.headers.get("referer") or "/delays", status_code=303)
    views = control.with_agents(ctx.safehold, [_delay(ctx, record)])
    view = control.with_snapshots(ctx.safehold, views)[0]
    return _render(request, "_delay.html", session, user, d=view, card_flash=flash)


@router.get("/audit")
def audit_page(
    request: Request,
    agent: str = "",
    session_id: str = "",
    environment: str = "",
    decision: str = "",
    type: str = "",
    limit: int = 200,
) -> Response:
    session, user = _web(request)
    if user is None:
        return _signin_redirect(request)
    ctx = _ctx(request)
    filters = {
        "agent": agent.strip() or None,
        "session": (request.query_params.get("session") or session_id).strip() or None,
        "environment": environment.strip() or None,
        "decision": decision.strip() or None,
        "type": type.strip() or None,
    }
    records = control.audit_rows(ctx.safehold, ctx.protected, limit=min(max(limit, 1), 1000),
                                 **filters)
    verify = control.verify(ctx.safehold)
    if ctx.chain is not None:
        ctx.chain.note_full(verify)
    return _render(request, "audit.html", session, user, page="audit", records=records,
                   filters=filters, verify=verify)


@router.get("/inventory")
def inventory_page(request: Request) -> Response:
    session, user = _web(request)
    if user is None:
        return _signin_redirect(request)
    ctx = _ctx(request)
    config = ctx.safehold.config
    environments = control.inventory(config, ctx.protected)
    return _render(request, "inventory.html", session, user, page="inventory",
                   environments=environments, config_path=config.path)


@router.get("/backups")
def backups_page(request: Request) -> Response:
    session, user = _web(request)
    if user is None:
        return _signin_redirect(request)
    ctx = _ctx(request)
    rows = control.backups(ctx.safehold, ctx.protected)
    return _render(request, "backups.html", session, user, page="backups", rows=rows,
                   stores=ctx.safehold.config.snapshots.stores)


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _safe_next(target: str) -> str:
    """Only same-site paths: a crafted ?next= must not send a fresh session elsewhere."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
