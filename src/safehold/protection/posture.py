"""The backup posture of every production resource, for the Backups page.

For each resource the inventory lists in a protected environment: the newest independent
copy (a snapshot with no co-location warning) and its age, the last drill and its RTO, and
warnings — copies on the same filesystem as the data, a store without Object Lock, a
provider known to keep its backups on the resource itself (`colocation.yaml`), or no
snapshot driver or store for the resource at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from safehold.protection.interface import Manifest, SnapshotStore, display_source
from safehold.protection.settings import SnapshotSettings

HERE = Path(__file__).parent


@dataclass(slots=True)
class Posture:
    environment: str
    resource: str
    kind: str
    newest: Manifest | None = None
    age_seconds: float | None = None
    drill: Mapping[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    copies: int = 0
    partial: str = ""


def age_label(seconds: float) -> str:
    """'45s', '12m', '3.5h', '92.0d': how old a copy is, at a glance."""
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


@cache
def colocation_rules() -> tuple[tuple[str, tuple[str, ...], str], ...]:
    data = yaml.safe_load((HERE / "colocation.yaml").read_text())
    return tuple((p["provider"], tuple(p["prefixes"]), " ".join(p["warning"].split()))
                 for p in data["providers"])


def colocation_warning(resource_id: str) -> str | None:
    for _, prefixes, warning in colocation_rules():
        if resource_id.startswith(prefixes):
            return warning
    return None


def posture(
    environments: Iterable[Any],
    protected: frozenset[str],
    settings: SnapshotSettings,
    stores: Mapping[str, SnapshotStore],
    drills: Iterable[Mapping[str, Any]],
    *,
    now: datetime | None = None,
) -> list[Posture]:
    """One row per production resource. `drills` are drill audit payloads, newest last."""
    now = now or datetime.now(UTC)
    manifests: list[Manifest] = []
    errors: dict[str, str] = {}
    for name, store in stores.items():
        try:
            manifests.extend(store.manifests())
        except Exception as exc:  # one unreachable store must not hide the others
            errors[name] = f"store {name} cannot be read: {exc}"
    last_drill: dict[str, Mapping[str, Any]] = {}
    for d in drills:
        last_drill[str(d.get("source"))] = d
    rows: list[Posture] = []
    for env in environments:
        if env.name not in protected:
            continue
        store = settings.store_for(env.name)
        for db in env.databases:
            rows.append(_row(env.name, display_source(db), "database", manifests, last_drill,
                             store, errors, now, exact=True))
        for path in env.paths:
            rows.append(_row(env.name, path, "path", manifests, last_drill, store, errors, now,
                             exact=False))
        for rid in env.resource_ids:
            p = Posture(env.name, rid, "resource")
            p.warnings.append("no snapshot driver covers this resource: safehold holds no copy")
            if (w := colocation_warning(rid)) is not None:
                p.warnings.append(w)
            rows.append(p)
    return rows


def _row(env: str, resource: str, kind: str, manifests: list[Manifest],
         drills: Mapping[str, Mapping[str, Any]], store: Any, errors: Mapping[str, str],
         now: datetime, *, exact: bool) -> Posture:
    p = Posture(env, resource, kind)
    if kind == "database" and resource.startswith("sqlite:///"):
        resource = resource[len("sqlite:///"):]
    mine = [m for m in manifests if m.source == resource]
    inside = [] if exact else [m for m in manifests
                               if m.source.startswith(resource.rstrip("/") + os.sep)]
    if inside:
        p.partial = (f"{len(inside)} snapshot(s) of parts of it, newest "
                     f"{max(inside, key=lambda m: m.created_at).source}")
    p.copies = len(mine)
    independent = [m for m in mine if not any("same filesystem" in w for w in m.warnings)]
    if len(independent) < len(mine):
        p.warnings.append(f"{len(mine) - len(independent)} snapshot(s) sit on the same "
                          "filesystem as the data: they are lost with it")
    if independent:
        p.newest = max(independent, key=lambda m: m.created_at)
        p.age_seconds = (now - datetime.fromisoformat(p.newest.created_at)).total_seconds()
        for w in p.newest.warnings:
            if w not in p.warnings:
                p.warnings.append(w)
    if store is None:
        p.warnings.append(f"no snapshot store is configured for {env}: snapshot-first actions "
                          "there are never released")
    elif store.name in errors:
        p.warnings.append(errors[store.name])
    p.drill = drills.get(resource) or drills.get(p.resource)
    return p
