"""How a request proves who sent it: Bearer tokens for the API, a signed cookie for people.

The API takes only `Authorization: Bearer …` tokens, never cookies, so a page in the browser of a
signed-in approver cannot drive it (no CSRF surface). The dashboard takes only the session
cookie, signed with a key kept in a file beside the database, and every form POST must echo the
session's CSRF token (a hidden field, or the `X-CSRF-Token` header that htmx sends).
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from safehold.audit.log import Recheck, Refused
from safehold.owner_only import private_dir
from safehold.server.accounts import Accounts, Principal, hash_token
from safehold.store import Store
from safehold.store.models import SignInFailure

SESSION_COOKIE = "safehold_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def load_secret_key(path: str) -> bytes:
    """The signing key in `path`, created (mode 0600) on first use so sessions survive a
    restart. An empty path gives a key for this process only."""
    if not path:
        return secrets.token_bytes(32)
    p = Path(path)
    try:
        data = p.read_bytes().strip()
    except FileNotFoundError:
        private_dir(p.parent)
        key = secrets.token_hex(32).encode("ascii")
        try:
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_secret_key(path)
        with os.fdopen(fd, "wb") as f:
            f.write(key + b"\n")
        return key
    if len(data) < 32:
        raise ValueError(f"{p}: secret key is too short (need at least 32 bytes)")
    return data


@dataclass(frozen=True, slots=True)
class WebSession:
    """What the session cookie carries: the signed-in user (if any) and the CSRF token."""

    csrf: str
    user_id: int | None = None
    stamp: str = ""
    sid: str = ""


class SessionCookies:
    """Signs and reads the dashboard's session cookie."""

    def __init__(self, secret_key: bytes, *, max_age: int, secure: bool):
        self._serializer = URLSafeTimedSerializer(secret_key, salt="safehold.session")
        self.max_age = max_age
        self.secure = secure

    def read(self, request: Request) -> WebSession | None:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            data: Any = self._serializer.loads(raw, max_age=self.max_age)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        uid = data.get("u")
        return WebSession(
            csrf=data["c"],
            user_id=uid if isinstance(uid, int) else None,
            stamp=str(data.get("s", "")),
            sid=str(data.get("i", "")),
        )

    def write(self, response: Response, session: WebSession) -> None:
        payload = {"c": session.csrf, "u": session.user_id, "s": session.stamp, "i": session.sid}
        value = self._serializer.dumps(payload)
        response.set_cookie(
            SESSION_COOKIE,
            value,
            max_age=self.max_age,
            httponly=True,
            secure=self.secure,
            samesite="lax",
            path="/",
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/")


def new_session(principal: Principal | None = None, sid: str = "") -> WebSession:
    """A fresh session with a new CSRF token; signing in always gets a new one, naming the
    server-side session `sid` that signing out deletes."""
    csrf = secrets.token_urlsafe(24)
    if principal is None:
        return WebSession(csrf=csrf)
    return WebSession(csrf=csrf, user_id=int(principal.id), stamp=principal.stamp, sid=sid)


def bearer_principal(request: Request, accounts: Accounts) -> Principal:
    """The API caller, or a 401 that says what is wrong with the credentials."""
    principal = accounts.token_principal(bearer_secret(request))
    if principal is None:
        raise _unauthorized(UNKNOWN_TOKEN)
    return principal


UNKNOWN_TOKEN = "token is unknown or revoked"


def bearer_secret(request: Request) -> str:
    """The secret of `Authorization: Bearer …`, or a 401 saying what is wrong with it."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if not header:
        raise _unauthorized("missing Authorization: Bearer <token> header")
    if scheme.lower() != "bearer" or not secret.strip():
        raise _unauthorized("Authorization header must be 'Bearer <token>'")
    return secret.strip()


class TokenCache:
    """Verified API tokens, by the SHA-256 of their secret, so the decision path does not read
    the token tables on every request. What a cached token may do is checked again inside the
    transaction that makes each decision's audit record durable (`recheck`), so a token revoked
    by any process (`safehold tokens revoke`) gets no answer from its next request on. Unknown
    tokens are never cached: one created a moment ago works at once."""

    def __init__(self, accounts: Accounts, size: int = 4096):
        self._accounts = accounts
        self._size = size
        self._known: OrderedDict[str, Principal] = OrderedDict()
        self._lock = threading.Lock()

    async def principal(self, request: Request) -> tuple[str, Principal]:
        """The caller and the cache key of its token, or a 401."""
        secret = bearer_secret(request)
        key = hash_token(secret)
        with self._lock:
            hit = self._known.get(key)
            if hit is not None:
                self._known.move_to_end(key)
                return key, hit
        found = await run_in_threadpool(self._accounts.token_principal, secret)
        if found is None:
            raise _unauthorized(UNKNOWN_TOKEN)
        with self._lock:
            self._known[key] = found
            while len(self._known) > self._size:
                self._known.popitem(last=False)
        return key, found

    def recheck(self, key: str, principal: Principal, refusal: dict[str, Any]) -> Recheck:
        """The `Recheck` for a record written on this token's say-so: when the token no longer
        stands for `principal`, it leaves the cache and `refusal` is recorded instead."""

        def check(s: Session) -> tuple[str, dict[str, Any]] | None:
            if self._accounts.still_valid(s, principal):
                return None
            self.forget(key)
            return "request.rejected", {**refusal, "status": 401, "problem": UNKNOWN_TOKEN,
                                        "problems": [UNKNOWN_TOKEN]}

        return Recheck(f"token:{principal.id}", check)

    def forget(self, key: str) -> None:
        with self._lock:
            self._known.pop(key, None)


def refused_by_recheck(exc: Refused) -> HTTPException:
    return _unauthorized(exc.problem)


def require_decider(principal: Principal) -> None:
    """Approving, denying, cancelling and running now are for people with the approver or
    admin role; a token decides only as the user it belongs to."""
    if principal.kind == "token" and principal.role != "agent":
        raise HTTPException(
            status_code=403,
            detail=f"token {principal.name!r} belongs to no user, and only people decide: "
            "create one that acts for you with `safehold tokens create NAME --role approver "
            "--user YOU`",
        )
    if not principal.can_decide:
        raise HTTPException(
            status_code=403,
            detail=f"role {principal.role!r} may not approve, deny, cancel or run actions; "
            "an approver or admin must",
        )


def csrf_ok(session: WebSession | None, submitted: str | None) -> bool:
    if session is None or not submitted:
        return False
    return hmac.compare_digest(session.csrf.encode(), submitted.encode())


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


class SignInThrottle:
    """Slows password guessing: after `limit` failures for one username (from anywhere), or four
    times as many from one address (several people may share a proxy), within `window` seconds,
    sign-in is refused until the oldest failure ages out.

    The failures live in the store, so every server sharing it counts the same ones: guesses
    spread over several servers behind a load balancer are throttled as if sent to one. An
    attempt is counted as a failure *before* its password is checked (in one serialised
    transaction with the count), and un-counted when it succeeds, so a burst of concurrent
    guesses cannot all pass the check before any failure is written."""

    def __init__(self, store: Store, limit: int = 5, window: float = 300.0,
                 clock: Callable[[], datetime] | None = None):
        self.store = store
        self.limit = limit
        self.window = window
        self._limits = {"user": limit, "addr": limit * 4}
        self._now = clock or (lambda: datetime.now(UTC))

    def claim(self, username: str, address: str) -> Attempt:
        """Seconds these must wait (nothing counted), or a counted attempt (wait 0) that
        `succeeded` un-counts when the password was right."""
        now = self._now()
        since = now - timedelta(seconds=self.window)
        keys = self._keys(username, address)
        with self.store.write() as s:
            # every aged-out failure, not only these keys': names tried once are not kept
            s.execute(delete(SignInFailure).where(SignInFailure.at <= since))
            waits = []
            for key in keys:
                size = self._limits[key.partition(":")[0]]
                recent = s.scalars(
                    select(SignInFailure.at).where(SignInFailure.key == key,
                                                   SignInFailure.at > since)
                    .order_by(SignInFailure.at.desc()).limit(size)
                ).all()
                if len(recent) >= size:
                    left = (recent[-1] - since).total_seconds()
                    waits.append(max(1, int(left) + 1))
            if waits:
                return Attempt(max(waits), ())
            rows = [SignInFailure(key=key, at=now) for key in keys]
            s.add_all(rows)
            s.flush()
            return Attempt(0, tuple(r.id for r in rows))

    def succeeded(self, attempt: Attempt, username: str) -> None:
        """The password was right: this attempt was no failure, and the name starts afresh."""
        user_key = self._keys(username, "")[0]
        with self.store.write() as s:
            s.execute(delete(SignInFailure).where(or_(SignInFailure.id.in_(attempt.ids),
                                                      SignInFailure.key == user_key)))

    @staticmethod
    def _keys(username: str, address: str) -> tuple[str, str]:
        return (f"user:{username.strip().casefold()}"[:300], f"addr:{address}"[:300])


@dataclass(frozen=True, slots=True)
class Attempt:
    """A sign-in attempt as the throttle saw it: refused for `wait` seconds, or counted."""

    wait: int
    ids: tuple[int, ...]
