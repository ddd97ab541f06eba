"""Who may talk to safehold: dashboard users with passwords, and API tokens for programs.

Passwords are argon2 hashes; an unknown username still costs one hash check, so the login
form's timing does not tell which names exist. API tokens are long random secrets shown once:
only their SHA-256 is stored, which is enough for a secret with 256 bits of entropy and keeps
every API request to one indexed lookup instead of an argon2 run.

Only people decide. An approver or admin token belongs to a user and acts as that user
(`user/NAME`, the same identity as their dashboard session and `--as` on the CLI), so however
many tokens a person holds, their approvals count once. Agent tokens belong to no one and can
never decide. Dashboard sessions are rows here, so signing out or a new password ends them.

The tables belong to the store; this module is the only code that writes them.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safehold.audit import AuditLog
from safehold.errors import SafeholdError
from safehold.store import Store
from safehold.store.models import ApiToken, User, WebSession

USER_ROLES = ("admin", "approver", "viewer")
TOKEN_ROLES = ("agent", "approver", "admin")
#: The token roles each user role may hold: a token never exceeds its owner.
_TOKEN_ROLES_FOR = {"admin": ("approver", "admin"), "approver": ("approver",), "viewer": ()}
TOKEN_PREFIX = "shk_"
MIN_PASSWORD_LENGTH = 10

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("safehold-timing-equaliser")


class AccountError(SafeholdError):
    """A user or token request that cannot be honoured; the message says why."""


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. `identity` is what approvals and the audit record, so a token
    and a user with the same name can never be mistaken for one another."""

    kind: str  # "user" | "token"
    name: str
    role: str
    id: str
    stamp: str = ""
    #: How a user came in when not through the dashboard: `token/NAME` for their API token.
    via: str | None = None
    session: str | None = None

    @property
    def identity(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def can_decide(self) -> bool:
        """Approve, deny, cancel, run now: for people only, by role."""
        return self.kind == "user" and self.role in ("admin", "approver")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    username: str
    role: str
    disabled: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: str
    name: str
    role: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    user: str | None = None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly created token. `secret` exists only here: it is never stored or shown again."""

    info: TokenInfo
    secret: str


class Accounts:
    """Users and API tokens over the store's tables. Every change is audited when an audit log
    is given: who may approve is as much a part of the story as what was approved."""

    def __init__(self, store: Store, audit: AuditLog | None = None, actor: str | None = None):
        self._sessions = store.session
        self._write = store.write
        self._audit = audit
        self._actor = actor

    def _record(self, type: str, payload: dict[str, str]) -> None:
        if self._audit is not None:
            self._audit.append(type, payload, actor=self._actor)

    # users -------------------------------------------------------------------------------

    def add_user(self, username: str, password: str, role: str) -> UserInfo:
        username = _check_name(username, "username")
        if role not in USER_ROLES:
            raise AccountError(f"unknown role {role!r}; expected one of {', '.join(USER_ROLES)}")
        check_password(password)
        user = User(
            username=username,
            password_hash=_hasher.hash(password),
            role=role,
            created_at=datetime.now(UTC),
            disabled=False,
        )
        try:
            with self._sessions() as s:
                s.add(user)
        except IntegrityError:
            raise AccountError(f"user {username!r} already exists") from None
        self._record("user.created", {"username": username, "role": role})
        return _user_info(user)

    def set_password(self, username: str, password: str) -> None:
        check_password(password)
        with self._sessions() as s:
            user = self._user(s, username)
            user.password_hash = _hasher.hash(password)
            s.execute(delete(WebSession).where(WebSession.user_id == user.id))
        self._record("user.password-changed", {"username": username})

    def set_disabled(self, username: str, disabled: bool) -> None:
        with self._sessions() as s:
            user = self._user(s, username)
            user.disabled = disabled
            s.execute(delete(WebSession).where(WebSession.user_id == user.id))
        self._record("user.disabled" if disabled else "user.enabled", {"username": username})

    def users(self) -> list[UserInfo]:
        with self._sessions() as s:
            return [_user_info(u) for u in s.scalars(select(User).order_by(User.username))]

    def has_admin(self) -> bool:
        with self._sessions() as s:
            q = select(func.count()).select_from(User).where(
                User.role == "admin", User.disabled.is_(False)
            )
            return bool(s.scalar(q))

    def known_name(self, username: str) -> str | None:
        """`username` as stored when such a user exists, else None. What someone typed into
        a username field is recorded only when it names a user: otherwise it may be a
        password typed into the wrong field."""
        with self._sessions() as s:
            name = s.scalar(select(User.username).where(User.username == username.strip()))
            return str(name) if name is not None else None

    def user_by_id(self, user_id: int) -> UserInfo | None:
        with self._sessions() as s:
            user = s.get(User, user_id)
            return _user_info(user) if user is not None else None

    def authenticate(self, username: str, password: str) -> Principal | None:
        """The user if the password matches and the account is enabled; None otherwise."""
        with self._sessions() as s:
            user = s.scalar(select(User).where(User.username == username.strip()))
            if user is None:
                _verify(_DUMMY_HASH, password)
                return None
            if not _verify(user.password_hash, password) or user.disabled:
                return None
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = _hasher.hash(password)
            return _user_principal(user)

    def open_session(self, principal: Principal, ttl_seconds: int) -> str:
        """Record a dashboard sign-in; the returned id goes in the signed cookie."""
        sid = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self._sessions() as s:
            s.execute(delete(WebSession).where(WebSession.expires_at <= now))
            s.add(
                WebSession(
                    id_hash=hash_token(sid),
                    user_id=int(principal.id),
                    created_at=now,
                    expires_at=now + timedelta(seconds=ttl_seconds),
                )
            )
        return sid

    def end_session(self, sid: str) -> None:
        """Sign out: the session's cookie is refused from now on, wherever it was copied."""
        with self._sessions() as s:
            s.execute(delete(WebSession).where(WebSession.id_hash == hash_token(sid)))

    def session_principal(self, user_id: int, stamp: str, sid: str = "") -> Principal | None:
        """The user a signed session names, if that session is still open on the server, the
        user still enabled and the password unchanged since sign-in (`stamp`)."""
        if not sid:
            return None
        with self._sessions() as s:
            row = s.get(WebSession, hash_token(sid))
            if row is None or row.user_id != user_id or row.expires_at <= datetime.now(UTC):
                return None
            user = s.get(User, user_id)
            if user is None or user.disabled or _stamp(user) != stamp:
                return None
            return _user_principal(user)

    def _user(self, s: Session, username: str) -> User:
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            raise AccountError(f"no user named {username!r}")
        return user

    # tokens ------------------------------------------------------------------------------

    def create_token(self, name: str, role: str, user: str | None = None) -> IssuedToken:
        """A new token. Approver and admin tokens need the `user` they act for (whose role
        must allow it); agent tokens belong to no user."""
        name = _check_name(name, "token name")
        if role not in TOKEN_ROLES:
            raise AccountError(f"unknown role {role!r}; expected one of {', '.join(TOKEN_ROLES)}")
        if role == "agent" and user:
            raise AccountError("agent tokens act for an agent, not a person; omit the user")
        if role != "agent" and not user:
            raise AccountError(
                f"{role} tokens act for a person: name the dashboard user it belongs to "
                "(its approvals count as that user's, once)"
            )
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._sessions() as s:
            owner = self._user(s, user) if user else None
            if owner is not None and (owner.disabled or role not in _TOKEN_ROLES_FOR[owner.role]):
                state = "disabled" if owner.disabled else f"a {owner.role}"
                raise AccountError(f"user {owner.username!r} is {state} and cannot hold "
                                   f"{role} tokens")
            row = ApiToken(
                id=uuid.uuid4().hex,
                name=name,
                token_hash=hash_token(secret),
                role=role,
                created_at=datetime.now(UTC),
                user_id=owner.id if owner is not None else None,
            )
            s.add(row)
            s.flush()
            issued = IssuedToken(_token_info(row, owner), secret)
        payload = {"name": name, "role": role, "id": issued.info.id}
        if owner is not None:
            payload["user"] = owner.username
        self._record("token.created", payload)
        return issued

    def tokens(self, *, include_revoked: bool = False) -> list[TokenInfo]:
        with self._sessions() as s:
            q = select(ApiToken, User).outerjoin(User, ApiToken.user_id == User.id)
            q = q.order_by(ApiToken.created_at)
            if not include_revoked:
                q = q.where(ApiToken.revoked_at.is_(None))
            return [_token_info(t, u) for t, u in s.execute(q)]

    def revoke_token(self, name_or_id: str) -> list[TokenInfo]:
        """Revoke the token with this id, or every live token with this name."""
        with self._sessions() as s:
            rows = list(
                s.scalars(
                    select(ApiToken).where(
                        or_(ApiToken.id == name_or_id, ApiToken.name == name_or_id),
                        ApiToken.revoked_at.is_(None),
                    )
                )
            )
            if not rows:
                raise AccountError(f"no live token with id or name {name_or_id!r}")
            now = datetime.now(UTC)
            for row in rows:
                row.revoked_at = now
            revoked = [_token_info(r) for r in rows]
        for info in revoked:
            self._record("token.revoked", {"name": info.name, "id": info.id})
        return revoked

    def token_principal(self, secret: str) -> Principal | None:
        """The caller a Bearer secret stands for, or None if unknown or revoked."""
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        with self._sessions() as s:
            row = s.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
            if row is None or row.revoked_at is not None:
                return None
            now = datetime.now(UTC)
            last = row.last_used_at
            due = last is None or (now - last).total_seconds() > 60
            owner = s.get(User, row.user_id) if row.user_id is not None else None
            owned = row.user_id is not None
            owner_name = owner.username if owner is not None and not owner.disabled else None
            owner_role = owner.role if owner is not None else ""
            token_id, name, role = row.id, row.name, row.role
        if due:
            # its own serialised write: upgrading the read above to a write fails at once on
            # SQLite when another connection committed in between
            with self._write() as w:
                w.execute(update(ApiToken).where(ApiToken.id == token_id)
                          .values(last_used_at=now))
        if not owned:
            return Principal("token", name, role, token_id)
        if owner_name is None:
            return None
        role = role if role in _TOKEN_ROLES_FOR[owner_role] else "viewer"
        return Principal("user", owner_name, role, token_id, via=f"token/{name}")


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 1024:
        raise AccountError("passwords are limited to 1024 characters")


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def _check_name(name: str, what: str) -> str:
    name = name.strip()
    if not _NAME.match(name):
        raise AccountError(
            f"{what} {name!r} must start with a letter or digit and use only letters, digits, "
            "'_', '.', '@' and '-' (at most 100 characters)"
        )
    return name


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _stamp(u: User) -> str:
    return hashlib.sha256(u.password_hash.encode("utf-8")).hexdigest()[:16]


def _user_principal(u: User) -> Principal:
    return Principal("user", u.username, u.role, str(u.id), _stamp(u))


def _user_info(u: User) -> UserInfo:
    return UserInfo(u.id, u.username, u.role, u.disabled, u.created_at)


def _token_info(t: ApiToken, owner: User | None = None) -> TokenInfo:
    user = owner.username if owner is not None else None
    return TokenInfo(t.id, t.name, t.role, t.created_at, t.last_used_at, t.revoked_at, user)
