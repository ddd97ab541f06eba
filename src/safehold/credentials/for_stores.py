"""Snapshot-store keys, read from the credential store.

A store in `safehold.toml` names a credential (`credential = "backup-s3"`), never a key: the
value is added with `safehold credentials add NAME --provider snapshot-store` and sealed like
any provider token. Only snapshot code asks for it, through the lookup built here; the gateway
refuses to forward a credential of this provider, so granting one to an agent gives it nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from safehold.errors import CredentialError

STORE_PROVIDER = "snapshot-store"


class StoreSecrets:
    """`lookup(name)`: the value of credential `name`, which must hold a store's keys.

    The credential store is opened on first use, so a configuration without S3 stores never
    needs the key directory."""

    def __init__(self, opener: Callable[[], Any]):
        self._opener = opener
        self._creds: Any = None

    def __call__(self, name: str) -> str:
        if self._creds is None:
            self._creds = self._opener()
        try:
            info, value = self._creds.secret(name)
        except CredentialError as exc:
            raise CredentialError(
                f"credential {name!r} for a snapshot store: {exc}; add the store's keys with: "
                f"printf '%s:%s' ACCESS_KEY_ID SECRET_ACCESS_KEY | safehold credentials add "
                f"{name} --provider {STORE_PROVIDER} --env ENV"
            ) from None
        if info.provider != STORE_PROVIDER:
            raise CredentialError(
                f"credential {name!r} is a {info.provider} credential, not a snapshot store's "
                f"keys (provider {STORE_PROVIDER})"
            )
        self._creds.mark_used(name)
        return value


def store_secrets(config: Any, store: Any, audit: Any) -> StoreSecrets:
    """The lookup for a server that already holds its database and audit log."""

    def opener() -> Any:
        from safehold.credentials.keys import key_dir_for
        from safehold.credentials.store import CredentialStore

        return CredentialStore.open(store, audit, key_dir_for(config), actor="snapshots")

    return StoreSecrets(opener)


def store_secrets_for(config: Any) -> StoreSecrets:
    """The lookup for a command line: the configured database and key directory, opened only
    when a store asks for a credential."""

    def opener() -> Any:
        from safehold.audit.log import AuditLog
        from safehold.credentials.keys import key_dir_for
        from safehold.credentials.store import CredentialStore
        from safehold.store import open_store

        db = open_store(config.database_url)
        return CredentialStore.open(db, AuditLog(db), key_dir_for(config), actor="snapshots")

    return StoreSecrets(opener)
