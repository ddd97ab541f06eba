"""The Users and tokens page: what `safehold users` and `safehold tokens` do, for admins in
the dashboard, so managing who may approve needs no shell on the server.

Only a signed-in admin user gets the page or may post to it (an agent token is no dashboard
session, and a viewer or approver is refused). Every change goes through `Accounts` with the
admin as the actor, so it is audited as the CLI's changes are. A new token's secret is in the
answer to the POST that created it and nowhere else: only its hash is stored.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from safehold.server.accounts import (
    TOKEN_ROLES,
    USER_ROLES,
    AccountError,
    Accounts,
    Principal,
    generate_password,
)
from safehold.server.dashboard import _checked_post, _render, _signin_redirect, _web

router = APIRouter(include_in_schema=False)


def _admin_only(user: Principal) -> None:
    if not (user.kind == "user" and user.is_admin):
        raise HTTPException(403, "only an admin may manage users and tokens")


def _accounts(request: Request, user: Principal) -> Accounts:
    sh = request.app.state.ctx.safehold
    return Accounts(sh.store, sh.audit, actor=user.identity)


def _page(request: Request, session: Any, user: Principal, status_code: int = 200,
          **values: Any) -> Response:
    accounts = _accounts(request, user)
    values.setdefault("issued", None)
    values.setdefault("new_password", None)
    return _render(request, "users.html", session, user, status_code=status_code, page="users",
                   users=accounts.users(), tokens=accounts.tokens(include_revoked=True),
                   user_roles=USER_ROLES, token_roles=TOKEN_ROLES, **values)


@router.get("/users")
def users_page(request: Request) -> Response:
    session, user = _web(request)
    if user is None:
        return _signin_redirect(request)
    _admin_only(user)
    return _page(request, session, user)


@router.post("/users/add")
async def add_user(request: Request) -> Response:
    session, user, form = await _checked_post(request)
    _admin_only(user)
    name, role = str(form.get("username", "")).strip(), str(form.get("role", ""))
    password = str(form.get("password", ""))
    generated = not password
    password = password or generate_password()
    try:
        added = await run_in_threadpool(_accounts(request, user).add_user, name, password, role)
    except AccountError as exc:
        return _page(request, session, user, 422, flash={"kind": "error", "text": str(exc)})
    return _page(request, session, user,
                 flash={"kind": "ok", "text": f"Added {added.role} {added.username!r}."},
                 new_password=(added.username, password) if generated else None)


@router.post("/users/{username}/{verb}")
async def set_user_state(request: Request, username: str, verb: str) -> Response:
    session, user, _form = await _checked_post(request)
    _admin_only(user)
    if verb not in ("disable", "enable"):
        raise HTTPException(404, "no such user action")
    if verb == "disable" and username == user.name:
        return _page(request, session, user, 409, flash={
            "kind": "error", "text": "You cannot disable your own account here; another admin "
            "can, or use `safehold users disable` on the server."})
    try:
        await run_in_threadpool(_accounts(request, user).set_disabled, username,
                                verb == "disable")
    except AccountError as exc:
        return _page(request, session, user, 404, flash={"kind": "error", "text": str(exc)})
    return RedirectResponse("/users", status_code=303)


@router.post("/tokens/create")
async def create_token(request: Request) -> Response:
    session, user, form = await _checked_post(request)
    _admin_only(user)
    name, role = str(form.get("name", "")).strip(), str(form.get("role", ""))
    owner = str(form.get("user", "")).strip() or None
    try:
        issued = await run_in_threadpool(_accounts(request, user).create_token, name, role,
                                         owner)
    except AccountError as exc:
        return _page(request, session, user, 422, flash={"kind": "error", "text": str(exc)})
    return _page(request, session, user, issued=issued)


@router.post("/tokens/{token_id}/revoke")
async def revoke_token(request: Request, token_id: str) -> Response:
    session, user, _form = await _checked_post(request)
    _admin_only(user)
    accounts = _accounts(request, user)
    if not any(t.id == token_id and t.revoked_at is None for t in accounts.tokens()):
        return _page(request, session, user, 404,
                     flash={"kind": "error", "text": "no live token with that id"})
    await run_in_threadpool(accounts.revoke_token, token_id)
    return RedirectResponse("/users", status_code=303)
