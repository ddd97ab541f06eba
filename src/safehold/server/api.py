"""The JSON API under `/api/v1`, for agents, integrations and scripts.

Agent tokens may ask for decisions and poll the approvals they filed; approving, denying,
cancelling, running now and reading the audit are for approver and admin tokens, so an agent
that finds its own token cannot unlock its own actions (the failure §9 of the design names:
a guard whose control API the agent can reach).
"""

from __future__ import annotations

import asyncio
import dataclasses
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, model_validator

from safehold.audit.log import Refused
from safehold.model import Action
from safehold.server import control
from safehold.server.accounts import Principal
from safehold.server.auth import bearer_principal, refused_by_recheck, require_decider
from safehold.server.links import link_base

router = APIRouter(prefix="/api/v1")

MAX_INPUT = 256 * 1024
Kind = Literal["shell", "sql", "http", "mcp", "file"]


_scheme = HTTPBearer(
    auto_error=False,
    description="A token from `safehold tokens create NAME --role agent` (or "
    "`--role approver|admin --user NAME`).",
)


def principal(
    request: Request,
    _documented: Annotated[HTTPAuthorizationCredentials | None, Depends(_scheme)],
) -> Principal:
    """The token's caller. The header is parsed by `bearer_principal` so every failure gets
    the same clear 401; `_scheme` only declares Bearer auth in the OpenAPI document."""
    return bearer_principal(request, request.app.state.ctx.accounts)


def decider(who: Annotated[Principal, Depends(principal)]) -> Principal:
    require_decider(who)
    return who


Caller = Annotated[Principal, Depends(principal)]
Decider = Annotated[Principal, Depends(decider)]


class DecisionRequest(BaseModel):
    """One action an agent wants to take. `input` is the command or SQL text, or for http
    `{method, url, headers, body}` and for mcp `{server, tool, arguments}`."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    input: str | dict[str, Any]
    cwd: str | None = Field(None, max_length=4096)
    workspace: str | None = Field(
        None, max_length=4096,
        description="the session's project root; default cwd. `cd` never moves it",
    )
    session: str | None = Field(None, max_length=200)
    environment: str | None = Field(None, max_length=100)
    agent: str | None = Field(None, max_length=100)
    reason: str | None = Field(None, max_length=4000, description="the agent's stated reason")
    tool_use_id: str | None = Field(None, max_length=200)
    parent_session: str | None = Field(None, max_length=200)
    request_approval: bool = Field(
        True, description="file an approval request when the decision is ask"
    )
    home: str | None = Field(
        None, max_length=4096,
        description="the agent user's home directory (what `~` means in its commands); "
        "default the server's own",
    )


    @model_validator(mode="after")
    def _storable_text(self) -> DecisionRequest:
        """JSON may escape half a UTF-16 pair (`"\\ud800"`) or a NUL; neither can be stored
        (PostgreSQL refuses NUL) nor be part of a real command, so the request is refused
        here instead of failing deep in the decision path."""
        for name in type(self).model_fields:
            problem = unstorable(getattr(self, name))
            if problem:
                raise ValueError(f"{name} {problem}")
        return self


def unstorable(value: Any) -> str | None:
    """Why `value` (or any string inside it) cannot be stored as text, or None."""
    if isinstance(value, str):
        if "\x00" in value:
            return "contains a NUL character"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "contains a lone UTF-16 surrogate (not valid Unicode text)"
        return None
    if isinstance(value, dict):
        items = [x for kv in value.items() for x in kv]
        return next((p for p in map(unstorable, items) if p), None)
    if isinstance(value, list):
        return next((p for p in map(unstorable, value) if p), None)
    return None


class VoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(None, max_length=2000)


def _sh(request: Request) -> Any:
    return request.app.state.ctx.safehold


def _raise(exc: control.ControlError) -> HTTPException:
    return HTTPException(exc.status, exc.detail)


def dump(record: Any) -> dict[str, Any]:
    return dict(record.to_dict())


def dump_approval(request: Request, record: Any) -> dict[str, Any]:
    """An approval with the dashboard link an approver can open."""
    return dict(record.to_dict(base_url=link_base(request, request.app.state.ctx.settings)))


async def token_caller(
    request: Request,
    _documented: Annotated[HTTPAuthorizationCredentials | None, Depends(_scheme)],
) -> tuple[str, Principal]:
    """The caller of the decision path, from the verified-token cache (see `TokenCache`)."""
    return await request.app.state.ctx.tokens.principal(request)


@router.post("/decisions", tags=["decisions"])
async def decide(
    body: DecisionRequest,
    request: Request,
    caller: Annotated[tuple[str, Principal], Depends(token_caller)],
) -> dict[str, Any]:
    """Decide one action. An `ask` files an approval request bound to this exact action (unless
    `request_approval` is false); poll it, and once approved the identical call returns `allow`
    exactly once. The answer comes only once the decision's audit record is durable."""
    key, who = caller
    probe = Action(kind=body.kind, input=body.input)
    size = len(probe.input_text().encode("utf-8"))
    if size > MAX_INPUT:
        raise HTTPException(413, f"input is {size} bytes; the limit is {MAX_INPUT}")
    if isinstance(body.input, str) and not body.input.strip():
        raise HTTPException(422, "input is empty")
    action = Action(
        kind=body.kind,
        input=body.input,
        cwd=body.cwd,
        session=body.session,
        environment=body.environment,
        agent=body.agent,
        options={k: v for k, v in (("workspace", body.workspace), ("home", body.home)) if v},
    )
    refusal = {"method": "POST", "path": request.url.path[:200],
               "address": request.client.host if request.client else None,
               "authenticated": True}
    try:
        # analysis, policy and the durable write block: they run on a decision thread, where
        # concurrent decisions meet in one group commit (one fsync for the batch); a plain
        # executor hop costs a fraction of the thread pool's (no capacity limiter, no scopes)
        evaluation = await asyncio.get_running_loop().run_in_executor(
            request.app.state.ctx.decisions,
            partial(
                _sh(request).evaluate,
                action,
                requester=who.identity,
                stated_reason=body.reason,
                tool_use_id=body.tool_use_id,
                parent_session=body.parent_session,
                request_approval=body.request_approval,
                recheck=request.app.state.ctx.tokens.recheck(key, who, refusal),
            )
        )
    except Refused as exc:
        raise refused_by_recheck(exc) from None
    if evaluation.base_url:
        base = link_base(request, request.app.state.ctx.settings)
        evaluation = dataclasses.replace(evaluation, base_url=base)
    return JSONResponse(evaluation.to_dict())  # type: ignore[return-value]


@router.get("/approvals", tags=["approvals"])
def list_approvals(
    request: Request,
    who: Decider,
    state: Literal["pending", "approved", "denied", "expired", "used"] | None = None,
) -> dict[str, Any]:
    records = control.approvals(_sh(request), state)
    return {"approvals": [dump_approval(request, a) for a in records]}


@router.get("/approvals/{approval_id}", tags=["approvals"])
def get_approval(approval_id: str, request: Request, who: Caller) -> dict[str, Any]:
    """Poll one request. Agents may read only the requests they filed."""
    try:
        record = control.approval(_sh(request), approval_id)
    except control.ControlError as exc:
        raise _raise(exc) from None
    if not who.can_decide and record.requester != who.identity:
        raise HTTPException(404, f"no approval request {approval_id!r}")
    return dump_approval(request, record)


@router.post("/approvals/{approval_id}/approve", tags=["approvals"])
def approve(
    approval_id: str, request: Request, who: Decider, body: VoteRequest | None = None
) -> dict[str, Any]:
    return _vote(request, approval_id, who, "approve", body)


@router.post("/approvals/{approval_id}/deny", tags=["approvals"])
def deny(
    approval_id: str, request: Request, who: Decider, body: VoteRequest | None = None
) -> dict[str, Any]:
    return _vote(request, approval_id, who, "deny", body)


def _vote(
    request: Request, approval_id: str, who: Principal, verdict: str, body: VoteRequest | None
) -> dict[str, Any]:
    comment = (body.comment or "").strip() if body else ""
    try:
        record = control.vote(_sh(request), approval_id, who, verdict, comment or None)
    except control.ControlError as exc:
        raise _raise(exc) from None
    return dump_approval(request, record)


@router.get("/delays", tags=["delays"])
def list_delays(
    request: Request,
    who: Decider,
    state: Literal[
        "pending", "cancelled", "released", "running", "executed", "failed", "expired"
    ] | None = None,
) -> dict[str, Any]:
    return {"delays": [dump(d) for d in control.delays(_sh(request), state)]}


@router.post("/delays/{delay_id}/cancel", tags=["delays"])
def cancel_delay(delay_id: str, request: Request, who: Decider) -> dict[str, Any]:
    try:
        return dump(control.delay_verb(_sh(request), delay_id, "cancel", who))
    except control.ControlError as exc:
        raise _raise(exc) from None


@router.post("/delays/{delay_id}/run-now", tags=["delays"])
def run_delay_now(delay_id: str, request: Request, who: Decider) -> dict[str, Any]:
    try:
        return dump(control.delay_verb(_sh(request), delay_id, "run-now", who))
    except control.ControlError as exc:
        raise _raise(exc) from None


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., max_length=100)
    role: Literal["agent", "approver", "admin"]
    user: str | None = Field(
        None, max_length=100, description="the user an approver or admin token acts for"
    )


def admin(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if not (who.kind == "user" and who.is_admin):
        raise HTTPException(403, "only an admin (a token that acts for an admin user) may do this")
    return who


@router.post("/tokens", tags=["tokens"], status_code=201)
def create_token(body: TokenRequest, request: Request, who: Annotated[Principal, Depends(admin)]
                 ) -> dict[str, Any]:
    """Mint a token; the secret is in this answer only. Approver and admin tokens need the
    `user` they act for and vote as that user, so they never double a person's vote."""
    from safehold.server.accounts import AccountError, Accounts

    sh = _sh(request)
    accounts = Accounts(sh.store, sh.audit, actor=who.identity)
    try:
        issued = accounts.create_token(body.name, body.role, body.user)
    except AccountError as exc:
        raise HTTPException(422, str(exc)) from None
    info = issued.info
    return {"id": info.id, "name": info.name, "role": info.role, "user": info.user,
            "token": issued.secret}


class RenewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    capability: str = Field(..., max_length=16 * 1024, description="the shc_ token to renew")
    ttl: str | None = Field(None, max_length=16,
                            description="a shorter term than the capability's own, e.g. 10m")


@router.post("/capabilities/renew", tags=["capabilities"])
def renew_capability(body: RenewRequest, request: Request, who: Caller) -> dict[str, Any]:
    """A fresh capability granting exactly what the given one grants, for another term: for
    the hook (an agent token) or an admin, before the capability expires. Expired, revoked,
    attenuated and foreign capabilities are refused, and no chain outlives its maximum
    lifetime. Audited as `capability.renewed`."""
    from datetime import timedelta

    from safehold.config import parse_duration
    from safehold.errors import SafeholdError

    if not ((who.kind == "token" and who.role == "agent") or (who.kind == "user" and who.is_admin)):
        raise HTTPException(403, "renewing a capability is for the hook (an agent token) or an "
                            "admin")
    gateway = getattr(request.app.state, "gateway", None)
    if gateway is None:
        raise HTTPException(503, getattr(request.app.state, "gateway_problem",
                                         "the gateway is off"))
    try:
        ttl = timedelta(seconds=parse_duration(body.ttl)) if body.ttl else None
        issued, token = gateway.capabilities.renew(body.capability, ttl=ttl, by=who.identity)
    except (SafeholdError, ValueError) as exc:
        raise HTTPException(403, str(exc)) from None
    return {"capability": token, "id": issued.id, "agent": issued.agent,
            "environment": issued.environment, "credentials": list(issued.credentials),
            "actions": issued.actions, "expires_at": issued.expires_at.isoformat()}


@router.get("/audit", tags=["audit"])
def audit(
    request: Request,
    who: Decider,
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
    type: str | None = None,
    session: str | None = None,
    environment: str | None = None,
    decision: Literal["allow", "ask", "delay", "deny"] | None = None,
    agent: str | None = None,
) -> dict[str, Any]:
    """The newest `limit` records matching every filter given, oldest first."""
    entries = control.audit_entries(
        _sh(request), limit=limit, type=type, session=session, environment=environment,
        decision=decision, agent=agent,
    )
    return {"records": [e.to_dict() for e in entries]}


@router.get("/audit/verify", tags=["audit"])
def audit_verify(request: Request, who: Decider) -> dict[str, Any]:
    """Walk the hash chain; `ok` is false and `problem` names the first bad record otherwise."""
    return control.verify(_sh(request))
