"""What a client call connects to: the database, cluster, host or directory it acts on.

Each client's spellings are data (`catalog/data/connections.yaml`); this module reads a call's
arguments and environment with them and builds the targets. Every operation of the call (its
catalog operations and the SQL it runs) then carries those targets, so the inventory places
`psql -h db.prod.internal -c 'DROP TABLE users'`, `kubectl --context prod-eks …` or
`cd /srv/prod/infra && terraform destroy` in production, for reads as well as writes.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from safehold.analysis.shell.paths import DYN, PathClassifier
from safehold.analysis.shell.words import Arg
from safehold.catalog.connectiondata import Client
from safehold.model import Effect, Facts, Operation, Target

Lookup = Callable[[str], "str | None"]

_CONNINFO_KEYS = {"host": "host", "hostaddr": "host", "port": "port", "dbname": "dbname"}
MAX_KUBECONFIG = 1024 * 1024
_HOST_DB = re.compile(r"^(?P<host>[A-Za-z0-9_.-]+)(?::(?P<port>\d+))?/(?P<db>[^/\s]+)$")


def targets(client: Client, args: Sequence[Arg], lookup: Lookup, cwd: str | None,
            paths: PathClassifier) -> tuple[Target, ...]:
    """The targets `client` called with `args` connects to; `lookup` reads its environment."""
    parts: dict[str, str] = dict(client.default)
    ids: list[Target] = []
    for var, part in client.env.items():
        value = lookup(var)
        if value and DYN not in value:
            _set(client, parts, ids, part, value)
    positionals: list[str] = []
    i, n, ended = 0, len(args), False
    while i < n:
        a = args[i]
        t = a.text
        i += 1
        if not ended and t == "--":
            if client.command_follows and len(positionals) >= len(client.positionals):
                break
            ended = True
            continue
        if not ended and len(t) > 1 and t.startswith("-"):
            opt, eq, val = t.partition("=")
            value: str | None = None
            part = client.options.get(opt)
            if part is not None or opt in client.flags:
                if eq:
                    value = val
                elif i < n:
                    value = args[i].text
                    i += 1
            elif not t.startswith("--") and t[:2] in client.options:
                part, value = client.options[t[:2]], t[2:]
            elif not t.startswith("--") and ("-" + t[-1] in client.options
                                             or "-" + t[-1] in client.flags):
                part = client.options.get("-" + t[-1])
                if i < n:
                    value = args[i].text
                    i += 1
            if part is not None and value and DYN not in value:
                _set(client, parts, ids, part, value)
            continue
        positionals.append(t)
        if client.url_args and "://" in t and DYN not in t \
                and t.split("://", 1)[0].lower() in client.urls:
            _set(client, parts, ids, client.target, t)
        if client.command_follows and len(positionals) >= len(client.positionals):
            break
    if client.subcommands and (not positionals or positionals[0] not in client.subcommands):
        return ()
    for part, value in zip(client.positionals, positionals, strict=False):
        if DYN not in value and part != "subcommand":
            _set(client, parts, ids, part, value)
    built = _build(client, parts, cwd, paths)
    return (*built, *ids)


def _set(client: Client, parts: dict[str, str], ids: list[Target], part: str,
         value: str) -> None:
    if part.startswith("id:"):
        ids.append(Target(part[3:], value, provider=client.provider))
        return
    if part == "bucket":
        ids.append(Target("bucket", value))
        return
    if part in ("url", "dbname", "address"):
        scheme = value.split("://", 1)[0].lower() if "://" in value else ""
        if scheme and (scheme in client.urls or part == "url"):
            _url_parts(parts, value)
            return
        if client.conninfo and "=" in value:
            _conninfo_parts(parts, value)
            return
        if part == "url":
            return
        if part == "address":
            m = _HOST_DB.match(value)
            if m:
                parts.update(host=m["host"], dbname=m["db"])
                if m["port"]:
                    parts["port"] = m["port"]
                return
            if value.endswith((".js", ".mongodb")):
                return
        parts["dbname"] = value
        return
    if part == "host":
        if "://" in value:
            _url_parts(parts, value, keep_path=False)
            return
        value = value.rsplit("@", 1)[-1]
    parts[part] = value


def _url_parts(parts: dict[str, str], url: str, keep_path: bool = True) -> None:
    try:
        u = urlsplit(url)
        port = u.port
    except ValueError:
        return
    parts["scheme"] = u.scheme.lower()
    if u.hostname:
        parts["host"] = u.hostname.lower()
    if port:
        parts["port"] = str(port)
    path = u.path.strip("/")
    if keep_path and path:
        parts["dbname"] = path if not parts["scheme"].startswith("sqlite") else "/" + path


def _conninfo_parts(parts: dict[str, str], text: str) -> None:
    try:
        words = shlex.split(text)
    except ValueError:
        return
    for w in words:
        key, eq, value = w.partition("=")
        part = _CONNINFO_KEYS.get(key.strip().lower())
        if eq and part and value:
            parts[part] = value


def _build(client: Client, parts: dict[str, str], cwd: str | None,
           paths: PathClassifier) -> tuple[Target, ...]:
    kind = client.target
    host, port = parts.get("host"), parts.get("port")
    if kind == "database":
        scheme = parts.get("scheme") or client.scheme or ""
        db = parts.get("dbname")
        if scheme.startswith("sqlite") and db:
            return (Target("path", db),)
        if host:
            where = f"{host}:{port}" if port else host
            return (Target("database", f"{scheme}://{where}" + (f"/{db}" if db else "")),)
        if db:
            return (Target("database", db),)
        return ()
    if kind == "path":
        p = parts.get("path")
        resolved = paths.resolve(p, cwd) if p else None
        return (Target("path", resolved),) if resolved else ()
    if kind == "remote":
        remote = parts.get("remote")
        if not remote:
            return ()
        if "://" in remote or re.match(r"^[\w.-]+@[\w.-]+:", remote):
            return (Target("git-remote", remote),)
        repo = paths.resolve(parts.get("path") or ".", cwd)
        url = remote_url(repo, remote) if repo else None
        return (Target("git-remote", url),) if url else ()
    if kind == "host":
        return (Target("host", f"{host}:{port}" if port else host),) if host else ()
    if kind == "kubernetes":
        cluster = parts.get("context") or parts.get("cluster")
        namespace = parts.get("namespace")
        if cluster is None and parts.get("kubeconfig"):
            cluster, default_ns = current_context(parts["kubeconfig"], cwd, paths)
            namespace = namespace or default_ns
        if cluster and namespace:
            return (Target("namespace", f"{cluster}/{namespace}"),)
        if cluster:
            return (Target("cluster", cluster),)
        if namespace:
            return (Target("namespace", namespace),)
    return ()


def current_context(files: str, cwd: str | None, paths: PathClassifier
                    ) -> tuple[str | None, str | None]:
    """The context kubectl would use with no `--context`, and that context's namespace: the
    first `current-context` among the kubeconfig files (`KUBECONFIG` is a `:` list)."""
    for f in files.split(":"):
        path = paths.resolve(f, cwd) if f else None
        config = _read_yaml(path) if path else None
        if not isinstance(config, dict) or not config.get("current-context"):
            continue
        name = str(config["current-context"])
        for ctx in config.get("contexts") or ():
            if isinstance(ctx, dict) and ctx.get("name") == name:
                inner = ctx.get("context") if isinstance(ctx.get("context"), dict) else {}
                ns = inner.get("namespace")
                return name, str(ns) if ns else None
        return name, None
    return None, None


def remote_url(repo: str, name: str) -> str | None:
    """The URL git pushes to for remote `name` of the repository at or above `repo`."""
    import os

    d = repo
    for _ in range(64):
        git = os.path.join(d, ".git")
        if os.path.isdir(git):
            return _config_remote(os.path.join(git, "config"), name)
        if os.path.isfile(git):
            gitdir = _read_text(git).partition("gitdir:")[2].strip()
            gitdir = os.path.normpath(os.path.join(d, gitdir)) if gitdir else ""
            common = _read_text(os.path.join(gitdir, "commondir")).strip() if gitdir else ""
            base = os.path.normpath(os.path.join(gitdir, common)) if common else gitdir
            return _config_remote(os.path.join(base, "config"), name) if base else None
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent
    return None


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(MAX_KUBECONFIG)
    except OSError:
        return ""


_SECTION = re.compile(r'^\s*\[\s*remote\s+"(?P<name>[^"]*)"\s*\]\s*$')


def _config_remote(path: str, name: str) -> str | None:
    """`[remote "name"] pushurl` (else `url`) from a git config file."""
    inside = False
    found: dict[str, str] = {}
    for line in _read_text(path).splitlines():
        if line.lstrip().startswith("["):
            m = _SECTION.match(line)
            inside = bool(m and m["name"] == name)
            continue
        if inside:
            key, eq, value = line.partition("=")
            if eq:
                found.setdefault(key.strip().lower(), value.strip().strip('"'))
    return found.get("pushurl") or found.get("url")


def _read_yaml(path: str) -> object:
    import yaml

    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_KUBECONFIG + 1)
    except OSError:
        return None
    if len(data) > MAX_KUBECONFIG:
        return None
    try:
        return yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None


# -- placing the call's operations ------------------------------------------------------------

def _container(conn: Sequence[Target]) -> str | None:
    """What names inside the connection are qualified with: the cluster of a kube context,
    `scheme://host[:port]` of a database server."""
    for t in conn:
        if t.kind == "cluster":
            return t.name
        if t.kind == "namespace" and "/" in t.name:
            return t.name.split("/", 1)[0]
        if t.kind == "database" and "://" in t.name:
            scheme, _, rest = t.name.partition("://")
            host = rest.split("/", 1)[0]
            if host:
                return f"{scheme}://{host}"
    return None


def with_connection(op: Operation, client: Client, conn: Sequence[Target]) -> Operation:
    """`op` with the connection's targets added; targets that live inside the connection (a
    namespace in a cluster, a database on a server) are qualified by it."""
    container = _container(conn) if client.qualifies else None
    out: list[Target] = []
    for t in op.targets:
        if (container and t.kind in client.qualifies and "/" not in t.name
                and "://" not in t.name):
            t = dataclasses.replace(t, name=f"{container}/{t.name}")
        out.append(t)
    named = {(t.kind, t.name) for t in out}
    out.extend(c for c in conn if (c.kind, c.name) not in named)
    return dataclasses.replace(op, targets=tuple(out))


def facts_with_connection(facts: Facts, client: Client, conn: Sequence[Target]) -> Facts:
    ops = tuple(with_connection(op, client, conn) for op in facts.operations)
    return dataclasses.replace(facts, operations=ops)


def connect_operation(client: Client, name: str, conn: Sequence[Target],
                      source: str) -> Operation:
    """The read every client call is, whatever else it does: it reaches its target."""
    what = ", ".join(f"{t.kind} {t.name}" for t in conn)
    return Operation(f"connect:{client.id}", Effect.READ, f"{name} connects to {what}", source,
                     tuple(conn))
