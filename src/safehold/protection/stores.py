"""A store from its settings: a directory or an S3-compatible bucket.

`secret` is the one seam for store credentials: a function from a secret's name to its value
(the credential store's lookup); without one, names are environment variables."""

from __future__ import annotations

from collections.abc import Callable

from safehold.errors import SnapshotStoreError
from safehold.protection.interface import SnapshotStore
from safehold.protection.settings import StoreSettings


def open_store(
    settings: StoreSettings, *, secret: Callable[[str], str | None] | None = None
) -> SnapshotStore:
    if settings.kind == "directory":
        from safehold.protection.local_store import LocalStore

        return LocalStore(settings.name, settings.path,
                          allow_same_device=settings.allow_same_device)
    if settings.kind == "s3":
        from safehold.protection.s3_store import S3Store

        return S3Store(settings, secret=secret)
    raise SnapshotStoreError(f"store {settings.name}: unknown kind {settings.kind!r}")


def store_opener(
    secret: Callable[[str], str | None] | None,
) -> Callable[[StoreSettings], SnapshotStore]:
    """`open_store` with the credential lookup bound, for code that opens stores by settings."""
    return lambda settings: open_store(settings, secret=secret)
