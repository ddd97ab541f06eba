"""Which driver captures which source: by name (a manifest's `driver`) or by what is there."""

from __future__ import annotations

from safehold.errors import NoDriver
from safehold.protection.interface import SnapshotDriver


def driver_named(name: str) -> SnapshotDriver:
    from safehold.protection.directory import DirectoryDriver
    from safehold.protection.postgres import PostgresDriver
    from safehold.protection.sqlite import SqliteDriver

    for cls in (PostgresDriver, SqliteDriver, DirectoryDriver):
        if cls.name == name:
            return cls()
    raise NoDriver(f"no snapshot driver named {name!r}")
