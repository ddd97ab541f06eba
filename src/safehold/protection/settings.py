"""The `[snapshots]` part of `safehold.toml`: stores, and which store each environment uses.

```toml
[snapshots]
store = "offsite"              # the default store
retention = "30d"

[snapshots.stores.offsite]
kind = "directory"
path = "/mnt/backup/safehold"  # must be on another device than the data

[snapshots.stores.vault]
kind = "s3"
bucket = "safehold-snapshots"
endpoint_url = "https://s3.example.com"   # optional, for S3-compatible services
credential = "vault-keys"      # in the credential store: ACCESS_KEY_ID:SECRET_ACCESS_KEY

[snapshots.environments.production]
store = "vault"
retention = "90d"
```
Secrets are never written in the file: an S3 store names a credential in the credential store
(`safehold credentials add vault-keys --provider snapshot-store`), or the server's environment
variables that hold its keys, or uses boto3's own credential chain. A key written in clear is
refused with a message saying where it goes instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

STORE_KINDS = ("directory", "s3")
# keys that would put a store's secret in the file in clear
CLEAR_SECRETS = ("access_key_id", "secret_access_key", "session_token", "aws_access_key_id",
                 "aws_secret_access_key", "aws_session_token", "password", "secret", "token")
LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")


@dataclass(frozen=True, slots=True)
class StoreSettings:
    name: str
    kind: str
    path: str = ""
    allow_same_device: bool = False
    bucket: str = ""
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id_env: str | None = None
    secret_access_key_env: str | None = None
    credential: str | None = None
    lock_mode: str = "COMPLIANCE"


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    """Backups and drills the server runs for one resource (a database URL or a path)."""

    resource: str
    every_seconds: int | None = None
    drill_every_seconds: int | None = None
    rpo_seconds: int | None = None
    query: str | None = None


@dataclass(frozen=True, slots=True)
class SnapshotSettings:
    stores: tuple[StoreSettings, ...] = ()
    default_store: str | None = None
    retention_seconds: int = 30 * 86400
    environment_stores: tuple[tuple[str, str], ...] = ()
    environment_retention: tuple[tuple[str, int], ...] = field(default_factory=tuple)
    schedules: tuple[ScheduleSettings, ...] = ()
    #: provider resource -> what lives on it (database URLs, paths): a volume no driver can
    #: read is captured through the database or directory it holds
    contents: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def held_by(self, kind: str, name: str) -> tuple[str, ...]:
        """What `[snapshots.contents]` says lives on the resource `kind` `name`."""
        for key, held in self.contents:
            if key == name or key == f"{kind}:{name}" or key.endswith(f":{kind}:{name}"):
                return held
        return ()

    def store(self, name: str) -> StoreSettings | None:
        return next((s for s in self.stores if s.name == name), None)

    def store_for(self, environment: str | None) -> StoreSettings | None:
        """The environment's store, else the default store, else the only store."""
        name = dict(self.environment_stores).get(environment or "") or self.default_store
        if name is None and len(self.stores) == 1:
            name = self.stores[0].name
        return self.store(name) if name else None

    def retention_for(self, environment: str | None) -> int:
        return dict(self.environment_retention).get(environment or "", self.retention_seconds)


def _optional(r: Any, body: dict[str, Any], key: str) -> Callable[[str], str | None]:
    def opt(k: str) -> str | None:
        return r.string(body, k, "", key=f"{key}.{k}") if k in body else None

    return opt


def parse_snapshot_settings(raw: dict[str, Any], reader: Any) -> SnapshotSettings:
    """`raw` is the `[snapshots]` table; `reader` the config reader that names file and key."""
    r = reader
    r.known(raw, "snapshots", {"store", "retention", "stores", "environments", "schedules",
                               "contents"})
    stores = []
    for name, body in r.table(raw, "stores").items():
        key = f"snapshots.stores.{name}"
        if not isinstance(body, dict):
            r.fail(key, "must be a table")
        kind = body.get("kind")
        if kind not in STORE_KINDS:
            r.fail(f"{key}.kind", f"must be one of {', '.join(STORE_KINDS)}")
        if kind == "directory":
            r.known(body, key, {"kind", "path", "allow_same_device"})
            same = body.get("allow_same_device", False)
            if not isinstance(same, bool):
                r.fail(f"{key}.allow_same_device", "must be true or false")
            stores.append(StoreSettings(name, kind, path=r.path(body, "path", key=f"{key}.path"),
                                        allow_same_device=same))
            continue
        for clear in CLEAR_SECRETS:
            if clear in body:
                r.fail(f"{key}.{clear}", "a store's secret never goes in safehold.toml; add it "
                       "to the credential store (printf '%s:%s' ACCESS_KEY_ID SECRET_ACCESS_KEY "
                       "| safehold credentials add NAME --provider snapshot-store --env ENV) "
                       "and name it here with credential = \"NAME\"")
        r.known(body, key, {"kind", "bucket", "prefix", "endpoint_url", "region", "credential",
                            "access_key_id_env", "secret_access_key_env", "lock_mode"})
        opt = _optional(r, body, key)
        if opt("credential") is not None and (opt("access_key_id_env")
                                               or opt("secret_access_key_env")):
            r.fail(f"{key}.credential", "give the store's keys one way: credential, or the "
                   "*_env variables, not both")
        mode = (opt("lock_mode") or "COMPLIANCE").upper()
        if mode not in LOCK_MODES:
            r.fail(f"{key}.lock_mode", f"must be one of {', '.join(LOCK_MODES)}")
        stores.append(StoreSettings(
            name, kind, bucket=r.string(body, "bucket", "", key=f"{key}.bucket"),
            prefix=(opt("prefix") or "").strip("/"), endpoint_url=opt("endpoint_url"),
            region=opt("region"), access_key_id_env=opt("access_key_id_env"),
            secret_access_key_env=opt("secret_access_key_env"), credential=opt("credential"),
            lock_mode=mode,
        ))
    names = {s.name for s in stores}
    default = r.string(raw, "store", "", key="snapshots.store") if "store" in raw else None
    if default is not None and default not in names:
        r.fail("snapshots.store", f"no store named {default!r} under [snapshots.stores]")
    retention = r.duration(raw, "retention", 30 * 86400, key="snapshots.retention")
    env_stores, env_retention = [], []
    for env, body in r.table(raw, "environments").items():
        key = f"snapshots.environments.{env}"
        if not isinstance(body, dict):
            r.fail(key, "must be a table")
        r.known(body, key, {"store", "retention"})
        if "store" in body:
            store = r.string(body, "store", "", key=f"{key}.store")
            if store not in names:
                r.fail(f"{key}.store", f"no store named {store!r} under [snapshots.stores]")
            env_stores.append((env, store))
        if "retention" in body:
            env_retention.append((env, r.duration(body, "retention", retention,
                                                  key=f"{key}.retention")))
    contents = []
    for resource, held in r.table(raw, "contents").items():
        if not isinstance(held, list) or not held or not all(
                isinstance(h, str) and h for h in held):
            r.fail(f"snapshots.contents.{resource}",
                   "must be a list of the database URLs or paths on it")
        contents.append((resource, tuple(held)))
    return SnapshotSettings(tuple(stores), default, retention, tuple(env_stores),
                            tuple(env_retention), _schedules(r, raw.get("schedules", [])),
                            tuple(contents))


def _schedules(r: Any, raw: Any) -> tuple[ScheduleSettings, ...]:
    if not isinstance(raw, list):
        r.fail("snapshots.schedules", "must be an array of tables ([[snapshots.schedules]])")
    out = []
    for i, body in enumerate(raw):
        key = f"snapshots.schedules[{i}]"
        if not isinstance(body, dict):
            r.fail(key, "must be a table with a resource")
        r.known(body, key, {"resource", "every", "drill_every", "rpo", "query"})

        def duration(name: str, body: dict[str, Any] = body, key: str = key) -> int | None:
            return r.duration(body, name, 0, key=f"{key}.{name}") if name in body else None

        sched = ScheduleSettings(
            resource=r.string(body, "resource", "", key=f"{key}.resource"),
            every_seconds=duration("every"), drill_every_seconds=duration("drill_every"),
            rpo_seconds=duration("rpo"),
            query=r.string(body, "query", "", key=f"{key}.query") if "query" in body else None,
        )
        if not (sched.every_seconds or sched.drill_every_seconds or sched.rpo_seconds):
            r.fail(key, "says nothing to do: give every, drill_every or rpo")
        out.append(sched)
    return tuple(out)
