"""Durable state: the audit chain, approvals, delays, users and API tokens."""

from safehold.store.db import Store, StoreSettings, open_store

__all__ = ["Store", "StoreSettings", "open_store"]
