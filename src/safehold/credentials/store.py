"""The credential store: provider tokens encrypted at rest, listed by name, never shown.

Each secret is sealed with AES-256-GCM under a key kept in the server's key directory (never
in the database), with the credential's name as associated data, so a ciphertext copied onto
another row does not open. Only `secret()` decrypts, and only the gateway calls it, on a request
the policy allowed. Names, providers, environments and last use are listable; values are not.
Every add, rotation and removal is audited, without the value.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session

from safehold.audit.log import AuditLog
from safehold.catalog.gatewaydata import providers
from safehold.credentials.for_stores import STORE_PROVIDER
from safehold.credentials.keys import load_or_create, random_key
from safehold.errors import CredentialError
from safehold.store.db import Store
from safehold.store.models import Credential

KEY_FILE = "credentials.key"
MAX_SECRET = 16 * 1024
_VERSION = b"\x01"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True, slots=True)
class CredentialInfo:
    """What anyone may know about a credential: everything but its value."""

    name: str
    provider: str
    environment: str
    upstream: str
    created_at: datetime
    rotated_at: datetime | None
    last_used_at: datetime | None


class CredentialStore:
    """Add, rotate, remove, list and (for the gateway) open stored provider credentials."""

    def __init__(self, store: Store, audit: AuditLog | None, key: bytes, *,
                 actor: str | None = None):
        if len(key) != 32:
            raise CredentialError("the credential key must be 32 bytes")
        self._store = store
        self._audit = audit
        self._aead = AESGCM(key)
        self._actor = actor

    @classmethod
    def open(cls, store: Store, audit: AuditLog | None, key_dir: Path, *,
             actor: str | None = None) -> CredentialStore:
        """The store whose key is `key_dir/credentials.key` (created 0600 on first use)."""
        return cls(store, audit, load_or_create(key_dir / KEY_FILE, random_key(32)), actor=actor)

    # -- changes ---------------------------------------------------------------------------

    def add(self, name: str, provider: str, environment: str, secret: str,
            upstream: str | None = None) -> CredentialInfo:
        name = check_name(name, "credential name")
        environment = check_name(environment, "environment")
        upstream = _upstream(provider, upstream)
        sealed = self._seal(name, _check_secret(secret))
        with self._store.write() as s:
            if s.get(Credential, name) is not None:
                raise CredentialError(
                    f"a credential named {name!r} exists; rotate it with: "
                    f"safehold credentials rotate {name}"
                )
            row = Credential(name=name, provider=provider, environment=environment,
                             upstream=upstream, ciphertext=sealed, created_at=_now())
            s.add(row)
            s.flush()
            info = _info(row)
            self._record(s, "credential.added", info)
        return info

    def rotate(self, name: str, secret: str) -> CredentialInfo:
        """Replace the value; the next forwarded request uses the new one."""
        with self._store.write() as s:
            row = self._row(s, name)
            row.ciphertext = self._seal(row.name, _check_secret(secret))
            row.rotated_at = _now()
            s.flush()
            info = _info(row)
            self._record(s, "credential.rotated", info)
        return info

    def remove(self, name: str) -> CredentialInfo:
        with self._store.write() as s:
            row = self._row(s, name)
            info = _info(row)
            s.delete(row)
            self._record(s, "credential.removed", info)
        return info

    # -- reading ---------------------------------------------------------------------------

    def list(self) -> list[CredentialInfo]:
        with self._store.session() as s:
            return [_info(r) for r in s.scalars(select(Credential).order_by(Credential.name))]

    def get(self, name: str) -> CredentialInfo:
        with self._store.session() as s:
            return _info(self._row(s, name))

    def secret(self, name: str) -> tuple[CredentialInfo, str]:
        """The credential and its value, for the gateway to put on an allowed request."""
        info, sealed = self.sealed(name)
        return info, self.open_sealed(info, sealed)

    def sealed(self, name: str) -> tuple[CredentialInfo, bytes]:
        """The credential and its still-encrypted value, in one read: the gateway opens it
        only once the request is allowed."""
        with self._store.session() as s:
            row = self._row(s, name)
            return _info(row), bytes(row.ciphertext)

    def open_sealed(self, info: CredentialInfo, sealed: bytes) -> str:
        return self._open(info.name, sealed)

    def mark_used(self, name: str) -> None:
        """Record use, at most once a minute per credential (a busy agent is not a write load)."""
        now = _now()
        with self._store.write() as s:
            row = s.get(Credential, name)
            if row is not None and (
                row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60
            ):
                row.last_used_at = now

    # -- internals -------------------------------------------------------------------------

    def _row(self, s: Session, name: str) -> Credential:
        row = s.get(Credential, name)
        if row is None:
            raise CredentialError(f"no credential named {name!r}; list them with: "
                                  "safehold credentials list")
        return row

    def _seal(self, name: str, secret: str) -> bytes:
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, secret.encode("utf-8"), _aad(name))

    def _open(self, name: str, sealed: bytes) -> str:
        if sealed[:1] != _VERSION or len(sealed) < 1 + 12 + 16:
            raise CredentialError(f"credential {name!r}: stored value has an unknown format")
        try:
            plain = self._aead.decrypt(sealed[1:13], sealed[13:], _aad(name))
        except InvalidTag:
            raise CredentialError(
                f"credential {name!r} does not open with this server's key (the key file was "
                "replaced, or the row was altered); add it again"
            ) from None
        return plain.decode("utf-8")

    def _record(self, s: Session, type: str, info: CredentialInfo) -> None:
        if self._audit is None:
            return
        self._audit.append(
            type,
            {"name": info.name, "provider": info.provider,
             "environment": info.environment, "upstream": info.upstream},
            within=s,
            actor=self._actor,
            environment=info.environment,
        )


def check_name(name: str, what: str) -> str:
    name = name.strip()
    if not _NAME.match(name):
        raise CredentialError(
            f"{what} {name!r} must start with a letter or digit and use only letters, digits, "
            "'_', '.' and '-' (at most 100 characters)"
        )
    return name


#: A database credential: the PostgreSQL proxy logs in with it, the gateway never sends it.
DATABASE_PROVIDER = "postgresql"


def _upstream(provider: str, upstream: str | None) -> str:
    if provider == DATABASE_PROVIDER:
        parts = urlsplit(upstream or "")
        if parts.scheme not in ("postgresql", "postgres") or not parts.hostname \
                or not parts.username or parts.password:
            raise CredentialError(
                "a postgresql credential needs --upstream postgresql://USER@HOST:PORT/DB "
                "(the password is the credential's value, never in the URL)")
        return upstream or ""
    known = providers().get(provider)
    if provider == STORE_PROVIDER and not upstream:
        return ""  # a snapshot store's keys: its endpoint is in safehold.toml
    if upstream:
        if not upstream.startswith(("https://", "http://")):
            raise CredentialError(f"upstream {upstream!r} must be an http:// or https:// URL")
        return upstream.rstrip("/")
    if known is None:
        raise CredentialError(
            f"provider {provider!r} has no default upstream; known providers: "
            f"{', '.join(sorted(providers()))}; or give --upstream URL"
        )
    return known.upstream


def _check_secret(secret: str) -> str:
    secret = secret.strip("\r\n")
    if not secret.strip():
        raise CredentialError("the credential value is empty")
    if len(secret) > MAX_SECRET:
        raise CredentialError(f"the credential value is longer than {MAX_SECRET} characters")
    if "\n" in secret or "\r" in secret:
        raise CredentialError("the credential value must be one line")
    return secret


def _aad(name: str) -> bytes:
    return b"safehold-credential:" + name.encode("utf-8")


def _now() -> datetime:
    return datetime.now(UTC)


def _info(r: Credential) -> CredentialInfo:
    return CredentialInfo(r.name, r.provider, r.environment, r.upstream, r.created_at,
                          r.rotated_at, r.last_used_at)
