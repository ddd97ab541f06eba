"""Which environment a target lives in, from the inventory in `safehold.toml`.

Environments are never guessed from names: a target is in production because the inventory
lists its volume id, database, host, cluster, bucket or path under production. The resolver
is the Guard's `resolver`: it stamps each target with its environment and makes the action's
environment the most sensitive one among its targets, so a "staging" session that touches a
production volume is deciding a production action.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from safehold.config import Config, EnvironmentSettings
from safehold.model import Action, Facts, Operation, Target

PRODUCTION_NAMES = frozenset({"production", "prod", "live", "prd"})
DEFAULT_PORTS = {
    "postgresql": 5432,
    "postgres": 5432,
    "mysql": 3306,
    "mariadb": 3306,
    "http": 80,
    "https": 443,
    "redis": 6379,
    "mongodb": 27017,
}

_PATH_KINDS = frozenset({"path", "file", "dir", "directory", "volume-path", "mount"})
_DB_KINDS = frozenset({"database", "db", "sql-database", "postgres", "postgresql", "mysql", "dsn"})
_K8S_KINDS = frozenset(
    {
        "namespace",
        "cluster",
        "context",
        "kube-context",
        "k8s",
        "kubernetes",
        "k8s-namespace",
        "kubernetes-namespace",
    }
)
_BUCKET_KINDS = frozenset({"bucket", "s3-bucket", "gcs-bucket", "s3", "object"})
_HOST_KINDS = frozenset({"url", "host", "endpoint", "http"})
_REMOTE_KINDS = frozenset({"git-remote", "remote", "repository", "repo"})
#: Action options that say where an action runs (the connection of a SQL statement, the
#: kube context of a kubectl call), resolved like targets of the matching kind.
CONTEXT_OPTIONS = {
    "database_url": "database",
    "dsn": "database",
    "url": "url",
    "host": "host",
    "kube_context": "context",
    "context": "context",
    "cluster": "cluster",
    "namespace": "namespace",
    "bucket": "bucket",
    "remote": "git-remote",
}


@dataclass(frozen=True, slots=True)
class _DbRef:
    host: str | None
    port: int | None
    name: str | None


@dataclass(frozen=True, slots=True)
class Environment:
    name: str
    protected: bool
    rank: int


@dataclass(frozen=True, slots=True)
class Placement:
    """Where the inventory places one target, and which entry said so (or why none did)."""

    environment: str | None
    how: str


#: (environment, the entry that matched, as written: `databases entry '…'`)
_Hit = tuple[str, str]
_S3_HOST = re.compile(
    r"^(?:(?P<bucket>[a-z0-9][a-z0-9.-]*)\.)?s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com$"
)
_GCS_HOST = re.compile(r"^(?:(?P<bucket>[a-z0-9][a-z0-9._-]*)\.)?storage\.googleapis\.com$")


class Inventory:
    """Matchers built once from the configured environments; `resolve` is cheap per action."""

    def __init__(self, environments: Iterable[EnvironmentSettings] = ()):
        self.environments: dict[str, Environment] = {}
        self._ids: dict[str, _Hit] = {}
        self._qualified: dict[str, list[_Hit]] = {}
        self._paths: list[tuple[str, str, str]] = []
        self._dbs: list[tuple[_DbRef, str, str]] = []
        self._db_entries: list[tuple[_DbRef, str]] = []
        self._hosts: dict[str, _Hit] = {}
        self._urls: list[tuple[str, str, str]] = []
        self._k8s: list[tuple[str, str | None, str, str]] = []
        self._buckets: dict[str, _Hit] = {}
        self._remotes: dict[str, _Hit] = {}
        for env in environments:
            self._add(env)
        self._paths.sort(key=lambda p: len(p[0]), reverse=True)
        self._urls.sort(key=lambda u: len(u[0]), reverse=True)

    @classmethod
    def from_config(cls, config: Config) -> Inventory:
        return cls(config.environments)

    @property
    def protected(self) -> frozenset[str]:
        """Environment names the policy treats as protected (production by name, or marked)."""
        marked = {e.name for e in self.environments.values() if e.protected}
        return frozenset(marked | PRODUCTION_NAMES)

    def _add(self, env: EnvironmentSettings) -> None:
        rank = (2 if env.protected else 0) + (1 if env.name.lower() in PRODUCTION_NAMES else 0)
        name = env.name
        self.environments[name] = Environment(name, env.protected, rank)

        def hit(key: str, value: str) -> _Hit:
            return name, f"{key} entry {value!r} of {name}"

        for rid in env.resource_ids:
            self._ids[rid] = hit("resource_ids", rid)
            parts = rid.split(":")
            if len(parts) == 3:  # provider:kind:id also places a kind:id without a provider
                self._qualified.setdefault(f"{parts[1]}:{parts[2]}", []).append(
                    hit("resource_ids", rid))
        for p in env.paths:
            self._paths.append((_norm_path(p), *hit("paths", p)))
        for d in env.databases:
            self._dbs.append((_db_ref(d), *hit("databases", d)))
            self._db_entries.append((_db_ref(d), d))
        for h in env.hosts:
            self._hosts[_norm_host(h)] = hit("hosts", h)
        for u in env.urls:
            self._urls.append((_url_key(u), *hit("urls", u)))
        for k in env.kubernetes:
            cluster, _, namespace = k.partition("/")
            self._k8s.append((cluster, namespace or None, *hit("kubernetes", k)))
        for b in env.buckets:
            self._buckets[_bucket_name(b)] = hit("buckets", b)
        for r in env.git_remotes:
            self._remotes[_norm_remote(r)] = hit("git_remotes", r)

    # -- matching ---------------------------------------------------------------------------

    def environment_of(
        self, target: Target, *, context: Mapping[str, str] | None = None
    ) -> str | None:
        """The environment the inventory places `target` in, or None."""
        return self.place(target, context=context).environment

    def place(self, target: Target, *, context: Mapping[str, str] | None = None) -> Placement:
        """Where `target` lives and which inventory entry says so, or why none does."""
        kind, name = target.kind.lower(), target.name.strip()
        if not name:
            return Placement(None, "the target has no name")
        found = self._ids.get(f"{kind}:{name}") or self._ids.get(name)
        if found is None and target.provider:
            found = self._ids.get(f"{target.provider}:{kind}:{name}")
        if found is None and not target.provider and f"{kind}:{name}" in self._qualified:
            found = self._best(self._qualified[f"{kind}:{name}"])
        if found is not None:
            return Placement(*found)
        scheme = urlsplit(name).scheme.lower() if "://" in name else ""
        if kind in _PATH_KINDS or (not scheme and name.startswith(("/", "~"))):
            return _placed(self._match_path(name), "paths")
        if scheme.startswith(("postgres", "mysql", "mariadb", "sqlite", "mongodb", "redis")):
            return _placed(self._match_db(_db_ref(name)), "databases or hosts")
        if scheme in ("s3", "gs", "gcs", "az") or kind in _BUCKET_KINDS:
            return _placed(self._buckets.get(_bucket_name(name)), "buckets")
        if kind in _REMOTE_KINDS or scheme in ("ssh", "git") or name.startswith("git@"):
            return _placed(self._remotes.get(_norm_remote(name)), "git_remotes")
        if kind in _K8S_KINDS:
            return _placed(self._match_k8s(kind, name, context or {}), "kubernetes")
        if kind in _DB_KINDS:
            return _placed(self._match_db(_db_ref(name)), "databases or hosts")
        if kind in _HOST_KINDS or scheme in ("http", "https"):
            return _placed(self._match_url(name), "urls, hosts, buckets or git_remotes")
        return Placement(None, f"a {kind} is placed only through the action's context")

    def _best(self, hits: Iterable[_Hit]) -> _Hit | None:
        """The most sensitive of several equally good matches."""
        best: _Hit | None = None
        for h in hits:
            if best is None or self._rank(h[0]) > self._rank(best[0]):
                best = h
        return best

    def _rank(self, name: str) -> int:
        env = self.environments.get(name)
        return env.rank if env else 0

    def database_entry(self, text: str) -> str | None:
        """The inventory's own entry for the database `text` names (a URL carrying the
        connection safehold was configured with), or None; several equal matches are None,
        since a snapshot of the wrong database protects nothing."""
        ref = _db_ref(text)
        scored = [(_db_score(known, ref), entry) for known, entry in self._db_entries]
        top = max((sc for sc, _ in scored), default=0)
        best = {entry for sc, entry in scored if sc == top}
        return best.pop() if top and len(best) == 1 else None

    def _match_path(self, path: str) -> _Hit | None:
        p = _norm_path(path)
        for prefix, env, how in self._paths:
            if p == prefix or p.startswith(prefix.rstrip("/") + "/"):
                return env, how
        return None

    def _match_db(self, ref: _DbRef) -> _Hit | None:
        """The best-matching entry; when several match equally (a bare database name present
        in two environments) the most sensitive environment wins."""
        scored = [(_db_score(known, ref), env, how) for known, env, how in self._dbs]
        top = max((sc for sc, _, _ in scored), default=0)
        if top:
            return self._best((env, how) for sc, env, how in scored if sc == top)
        if ref.host:
            return self._hosts.get(_host_port(ref.host, ref.port)) or self._hosts.get(ref.host)
        return None

    def _match_host(self, host: str, port: int | None) -> _Hit | None:
        """A bare host (an ssh or URL target): a hosts entry, or the host of a database."""
        found = self._hosts.get(_host_port(host, port)) or self._hosts.get(host)
        if found is not None:
            return found
        return self._best((env, how) for known, env, how in self._dbs
                          if known.host == host and (port is None or known.port in (None, port)))

    def _match_url(self, url: str) -> _Hit | None:
        key = _url_key(url)
        for prefix, env, how in self._urls:
            if key == prefix or key.startswith(prefix.rstrip("/") + "/"):
                return env, how
        host, _, path = key.partition("/")
        bare, _, port = host.partition(":")
        found = self._match_host(bare, int(port) if port.isdigit() else None)
        if found is not None:
            return found
        bucket = _object_store_bucket(bare, path)
        if bucket and bucket in self._buckets:
            return self._buckets[bucket]
        if "://" in url and path:
            return self._remotes.get(_norm_remote(url))
        return None

    def _match_k8s(self, kind: str, name: str, context: Mapping[str, str]) -> _Hit | None:
        """A cluster entry covers all its namespaces; a `cluster/namespace` entry one. Without
        a known cluster, a namespace listed in several clusters takes the most sensitive."""
        cluster = context.get("kube_context") or context.get("context") or context.get("cluster")
        if "/" in name:
            cluster, _, name = name.partition("/")
        if kind in ("cluster", "context", "kube-context"):
            return self._best((env, how) for c, ns, env, how in self._k8s
                              if c == name and ns is None)
        exact = [(env, how) for c, ns, env, how in self._k8s
                 if ns == name and cluster in (None, c)]
        if exact:
            return self._best(exact)
        if cluster:
            return self._best(
                (env, how) for c, ns, env, how in self._k8s if c == cluster and ns is None
            )
        return None

    # -- the Guard's resolver -----------------------------------------------------------------

    def context_environment(self, action: Action) -> str | None:
        """Where the action runs, from its options (a SQL connection, a kube context…)."""
        found = []
        for key, kind in CONTEXT_OPTIONS.items():
            value = action.options.get(key) if action.options else None
            if value:
                env = self.environment_of(Target(kind, str(value)), context=action.options)
                if env:
                    found.append(env)
        if action.kind == "http" and isinstance(action.input, Mapping):
            url = action.input.get("url")
            if isinstance(url, str) and url:
                hit = self._match_url(url)
                if hit:
                    found.append(hit[0])
        return self.most_sensitive(found)

    def most_sensitive(self, names: Iterable[str]) -> str | None:
        names = [n for n in names if n]
        if not names:
            return None
        return max(names, key=self._rank)

    def resolve(self, action: Action, facts: Facts) -> Facts:
        """`facts` with every target's environment filled in and the action's environment set
        to the most sensitive environment it touches (else the one it claims, else None)."""
        context_env = self.context_environment(action)
        cache: dict[Target, Target] = {}

        def place(t: Target) -> Target:
            if t not in cache:
                env = t.environment or self.environment_of(t, context=action.options) or context_env
                cache[t] = t if env == t.environment else replace(t, environment=env)
            return cache[t]

        ops = tuple(
            op if not op.targets else _with_targets(op, tuple(place(t) for t in op.targets))
            for op in facts.operations
        )
        touched = [t.environment for op in ops for t in op.targets if t.environment]
        if context_env:
            touched.append(context_env)
        environment = self.most_sensitive(touched) or action.environment
        return replace(facts, operations=ops, environment=environment)


def explain_targets(inventory: Inventory | None, action: Action, facts: Facts) -> list[str]:
    """One line per target of resolved `facts`: its environment and how it was placed."""
    lines = []
    for t in facts.targets:
        label = f"{t.kind} {t.name}"
        if inventory is None:
            lines.append(f"{label}: no environment (no inventory is configured)")
            continue
        placed = inventory.place(t, context=action.options)
        if placed.environment is not None:
            lines.append(f"{label}: {placed.environment} ({placed.how})")
        elif t.environment is not None:
            lines.append(f"{label}: {t.environment} (inherited from where the action runs; "
                         f"{placed.how} the target itself)")
        else:
            lines.append(f"{label}: no environment ({placed.how})")
    claim = action.environment or "none"
    lines.append(f"session claims: {claim}; the action's environment: "
                 f"{facts.environment or 'unknown'}")
    return lines


def _placed(hit: _Hit | None, keys: str) -> Placement:
    if hit is None:
        return Placement(None, f"no {keys} entry matches")
    return Placement(*hit)


def _object_store_bucket(host: str, path: str) -> str | None:
    """The bucket of an S3 or GCS URL, virtual-host (`b.s3.amazonaws.com/key`) or path-style
    (`s3.us-east-1.amazonaws.com/b/key`)."""
    m = _S3_HOST.match(host) or _GCS_HOST.match(host)
    if m is None:
        return None
    if m["bucket"]:
        return m["bucket"]
    first = path.split("/", 1)[0]
    return first.lower() or None


def _with_targets(op: Operation, targets: tuple[Target, ...]) -> Operation:
    return op if targets == op.targets else replace(op, targets=targets)


def _norm_path(p: str) -> str:
    p = posixpath.expanduser(p) if p.startswith("~") else p
    return posixpath.normpath(p) if p else p


def _norm_host(h: str) -> str:
    h = h.strip().lower().rstrip(".")
    if "://" in h:
        parts = urlsplit(h)
        return _host_port(parts.hostname or "", parts.port)
    return h


def _host_port(host: str, port: int | None) -> str:
    return f"{host.lower()}:{port}" if port else host.lower()


def _url_key(u: str) -> str:
    """`host[:port]/path` without scheme, query or trailing slash, lower-case host."""
    u = u.strip()
    parts = urlsplit(u if "://" in u else f"//{u}")
    host = (parts.hostname or "").lower()
    port = parts.port
    scheme = parts.scheme.lower()
    if port and DEFAULT_PORTS.get(scheme) == port:
        port = None
    path = parts.path.rstrip("/")
    return f"{_host_port(host, port)}{path}"


_DB_SHORT = re.compile(r"^(?P<host>[A-Za-z0-9_.-]+)(?::(?P<port>\d+))?/(?P<name>[A-Za-z0-9_$.-]+)$")


def _db_ref(text: str) -> _DbRef:
    """A database reference from a URL, `host[:port]/dbname`, or a bare database name."""
    text = text.strip()
    if "://" in text:
        parts = urlsplit(text)
        name = parts.path.lstrip("/") or None
        try:
            port = parts.port
        except ValueError:
            port = None
        return _DbRef((parts.hostname or "").lower() or None, port, name)
    m = _DB_SHORT.match(text)
    if m:
        return _DbRef(m["host"].lower(), int(m["port"]) if m["port"] else None, m["name"])
    return _DbRef(None, None, text or None)


def _db_score(known: _DbRef, ref: _DbRef) -> int:
    """How well `ref` matches an inventory entry; 0 on any conflicting part."""
    score = 0
    pairs = ((known.host, ref.host, 4), (known.name, ref.name, 2), (known.port, ref.port, 1))
    for a, b, weight in pairs:
        if a is None or b is None:
            continue
        if a != b:
            return 0
        score += weight
    return score


def _bucket_name(b: str) -> str:
    b = b.strip()
    if "://" in b:
        return (urlsplit(b).hostname or urlsplit(b).netloc).lower()
    if b.startswith("arn:aws:s3:::"):
        b = b[len("arn:aws:s3:::") :]
    return b.split("/", 1)[0].lower()


def _norm_remote(r: str) -> str:
    """`host/owner/repo` for https, ssh and scp-style git remotes."""
    r = r.strip()
    if r.startswith("git@") or ("@" in r and ":" in r and "://" not in r):
        user_host, _, path = r.partition(":")
        host = user_host.split("@", 1)[-1]
    else:
        parts = urlsplit(r)
        host, path = parts.hostname or "", parts.path
    path = path.strip("/")
    path = path.removesuffix(".git")
    return f"{host.lower()}/{path}"
