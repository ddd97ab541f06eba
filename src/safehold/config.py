"""One `safehold.toml`: where it is found, what it may say, and the defaults when it is absent.

Every component takes the frozen settings it needs from `Config` as constructor arguments, so
nothing reads the file (or the environment) behind the caller's back. A missing file means the
built-in defaults; a malformed one is a `ConfigError` naming the file, the key and the problem,
because a guard running on a silently half-read configuration is worse than one that refuses to
start.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safehold.errors import ConfigError
from safehold.pgproxy.errors import PgProxyError
from safehold.pgproxy.settings import ProxyDeclaration, parse_declarations
from safehold.protection.settings import SnapshotSettings, parse_snapshot_settings

CONFIG_NAME = "safehold.toml"
ENV_VAR = "SAFEHOLD_CONFIG"

#: Notification events a webhook may subscribe to.
EVENTS = (
    "approval.requested",
    "approval.decided",
    "deny.production",
    "delay.created",
    "backup.rpo-exceeded",
    "drill.failed",
    "snapshot.failed",
    "audit.checkpoint",
)
DEFAULT_EVENTS = ("approval.requested", "deny.production", "backup.rpo-exceeded", "drill.failed")

#: Inventory keys an environment may list, each a list of strings.
RESOURCE_KEYS = (
    "resource_ids",
    "databases",
    "hosts",
    "kubernetes",
    "buckets",
    "paths",
    "urls",
    "git_remotes",
)

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True, slots=True)
class EnvironmentSettings:
    """One environment and the resources that live in it, as written in the file."""

    name: str
    protected: bool = False
    resource_ids: tuple[str, ...] = ()
    databases: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    kubernetes: tuple[str, ...] = ()
    buckets: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    git_remotes: tuple[str, ...] = ()
    #: A read-only connection to this environment's database, asked how many rows a
    #: DELETE/UPDATE would touch (blast_radius.py). Never used to change anything.
    readonly_database_url: str | None = None


@dataclass(frozen=True, slots=True)
class BlastRadiusSettings:
    """Above `rows` rows or `share` of the table (the database's own estimate), a DELETE or
    UPDATE is destructive; the estimate is given up after `timeout_seconds` (then: unknown)."""

    rows: int = 1000
    share: float = 0.2
    timeout_seconds: float = 2.0


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8474
    base_url: str = "http://127.0.0.1:8474"
    secret_key_path: str = ""
    session_ttl_seconds: int = 12 * 3600
    trusted_proxies: tuple[str, ...] = ()
    #: `base_url` was written in the configuration (the address people reach the server by),
    #: rather than derived from host and port
    base_url_set: bool = False
    #: Threads that run decisions; concurrent decisions up to this many share one commit.
    decision_threads: int = 64


#: addresses that mean "every interface": no one can open a link to them
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", "", "*"})


def listening_on(settings: ServerSettings, host: str, port: int) -> ServerSettings:
    """`settings` served on another host and port (`serve --host --port`): a configured public
    address stays, one derived from (or only restating) host and port follows them."""
    import dataclasses

    base = settings.base_url
    if not settings.base_url_set or base == default_base_url(settings.host, settings.port):
        base = default_base_url(host, port)
    return dataclasses.replace(settings, host=host, port=port, base_url=base)


def default_base_url(host: str, port: int) -> str:
    """The server's address in links when `base_url` is not configured: host and port, with
    the machine's name for a wildcard bind (a link to 0.0.0.0 leads nowhere)."""
    if host in WILDCARD_HOSTS:
        import socket

        name = socket.getfqdn() or socket.gethostname()
    else:
        name = host
    if ":" in name and not name.startswith("["):
        name = f"[{name}]"
    return f"http://{name}:{port}"


@dataclass(frozen=True, slots=True)
class AuditSettings:
    """Where the key that signs audit checkpoints lives, where the signed checkpoints are
    written (a directory other than the database's), and how often the server signs."""

    signing_key_path: str = ""
    checkpoints_path: str = ""
    checkpoint_interval_seconds: int = 300


@dataclass(frozen=True, slots=True)
class ApprovalSettings:
    ttl_seconds: int = 3600
    production_approvers: int = 1


@dataclass(frozen=True, slots=True)
class DelaySettings:
    default_seconds: int = 900
    release_window_seconds: int = 3600


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    url: str
    events: tuple[str, ...] = DEFAULT_EVENTS
    timeout_seconds: float = 3.0


@dataclass(frozen=True, slots=True)
class NotificationSettings:
    webhooks: tuple[WebhookSettings, ...] = ()


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """How long a session stays careful after a refusal (0: never), and where each session's
    refusals are kept (beside the database, read by every hook process, daemon and server)."""

    caution_seconds: int = 900
    directory: str = ""


@dataclass(frozen=True, slots=True)
class Config:
    """Everything safehold is configured with. `path` is None when the defaults are in force."""

    path: str | None
    database_url: str
    policy_path: str | None = None
    catalogs: tuple[str, ...] = ()
    environments: tuple[EnvironmentSettings, ...] = ()
    server: ServerSettings = field(default_factory=ServerSettings)
    approvals: ApprovalSettings = field(default_factory=ApprovalSettings)
    delays: DelaySettings = field(default_factory=DelaySettings)
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    session_environment: str | None = None
    snapshots: SnapshotSettings = field(default_factory=SnapshotSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    pgproxy: tuple[ProxyDeclaration, ...] = ()
    sessions: SessionSettings = field(default_factory=SessionSettings)
    blast_radius: BlastRadiusSettings = field(default_factory=BlastRadiusSettings)

    def sessions_directory(self) -> str:
        """Where each session's refusals are kept: as configured, else beside a SQLite
        database, else in the data directory."""
        if self.sessions.directory:
            return self.sessions.directory
        url = self.database_url
        if url.startswith("sqlite:///") and ":memory:" not in url:
            return str(Path(url[len("sqlite:///"):]).parent / "sessions")
        return str(data_dir() / "sessions")

    def environment(self, name: str) -> EnvironmentSettings | None:
        return next((e for e in self.environments if e.name == name), None)


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_DATA_HOME/safehold`, the home of the default database and secret key."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "safehold"


def user_config_path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "safehold" / CONFIG_NAME


def find_config(
    explicit: str | os.PathLike[str] | None = None,
    *,
    cwd: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Path | None:
    """The file in force: `--config`, then `$SAFEHOLD_CONFIG`, then the project (walking up to
    the git root), then the user config dir. An explicitly named file that does not exist is an
    error, never a silent fall-back to defaults."""
    environ = os.environ if environ is None else environ
    for named, origin in ((explicit, "--config"), (environ.get(ENV_VAR), ENV_VAR)):
        if named:
            p = Path(named).expanduser()
            if not p.is_file():
                raise ConfigError(f"{p}: configuration file named by {origin} does not exist")
            return p
    start = Path(cwd) if cwd is not None else Path.cwd()
    for d in (start, *start.parents):
        for candidate in (d / CONFIG_NAME, d / ".safehold" / CONFIG_NAME):
            if candidate.is_file():
                return candidate
        if (d / ".git").exists():
            break
    user = user_config_path(environ)
    return user if user.is_file() else None


def load_config(
    explicit: str | os.PathLike[str] | None = None,
    *,
    cwd: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Find and parse the configuration; the built-in defaults when there is no file."""
    environ = os.environ if environ is None else environ
    path = find_config(explicit, cwd=cwd, environ=environ)
    if path is None:
        return default_config(environ)
    return parse_config_file(path, environ=environ)


def default_config(environ: Mapping[str, str] | None = None) -> Config:
    home = data_dir(environ)
    return Config(
        path=None,
        database_url=f"sqlite:///{home / 'safehold.db'}",
        server=ServerSettings(secret_key_path=str(home / "secret.key")),
        audit=_audit_defaults(home),
        sessions=SessionSettings(directory=str(home / "sessions")),
    )


def _audit_defaults(home: Path) -> AuditSettings:
    """The signing key in its own 0700 directory and the checkpoints in another, both beside
    the database rather than in it."""
    return AuditSettings(
        signing_key_path=str(home / "keys" / "audit-signing.key"),
        checkpoints_path=str(home / "checkpoints" / "audit-checkpoints.jsonl"),
    )


def parse_config_file(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> Config:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read configuration: {exc.strerror or exc}") from exc
    return parse_config(text, path=p, environ=environ)


def parse_config(
    text: str,
    *,
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Parse and validate TOML text. Relative paths are taken from the file's directory."""
    where = str(path) if path is not None else "<config>"
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from exc
    base = Path(path).resolve().parent if path is not None else Path.cwd()
    r = _Reader(where, base)
    defaults = default_config(environ)

    r.known(
        raw,
        "",
        {
            "database_url",
            "policy",
            "catalogs",
            "environment",
            "server",
            "approvals",
            "delays",
            "notifications",
            "environments",
            "snapshots",
            "audit",
            "pgproxy",
            "sessions",
            "blast_radius",
        },
    )
    database_url = r.string(raw, "database_url", defaults.database_url)
    if database_url.startswith("sqlite:///") and not database_url.startswith("sqlite:////"):
        rel = database_url[len("sqlite:///") :]
        if rel and rel != ":memory:" and not rel.startswith("/"):
            database_url = f"sqlite:///{base / rel}"
    if "://" not in database_url:
        r.fail("database_url", "must be a URL such as sqlite:///path or postgresql+psycopg://…")
    policy = raw.get("policy")
    policy_path = r.path(raw, "policy") if policy is not None else None
    catalog_paths = (Path(os.path.expanduser(c)) for c in r.strings(raw, "catalogs", (),
                                                                     key="catalogs"))
    catalogs = tuple(str(p if p.is_absolute() else (base / p).resolve()) for p in catalog_paths)

    environments = _environments(r, r.table(raw, "environments"))
    session_environment = raw.get("environment")
    if session_environment is not None:
        session_environment = r.string(raw, "environment", "")
        if not _NAME.match(session_environment):
            r.fail("environment", f"{session_environment!r} is not an environment name")

    srv = r.table(raw, "server")
    r.known(
        srv,
        "server",
        {"host", "port", "base_url", "secret_key", "session_ttl", "trusted_proxies",
         "decision_threads"},
    )
    host = r.string(srv, "host", "127.0.0.1", key="server.host")
    port = r.integer(srv, "port", 8474, key="server.port", low=1, high=65535)
    base_url_set = "base_url" in srv
    base_url = (
        r.string(srv, "base_url", "", key="server.base_url").rstrip("/")
        if base_url_set else default_base_url(host, port)
    )
    if not base_url.startswith(("http://", "https://")):
        r.fail("server.base_url", "must start with http:// or https://")
    secret = (
        r.path(srv, "secret_key", key="server.secret_key")
        if "secret_key" in srv
        else defaults.server.secret_key_path
    )
    server = ServerSettings(
        host=host,
        port=port,
        base_url=base_url,
        secret_key_path=secret,
        session_ttl_seconds=r.duration(srv, "session_ttl", 12 * 3600, key="server.session_ttl"),
        trusted_proxies=_proxies(r, srv),
        base_url_set=base_url_set,
        decision_threads=r.integer(srv, "decision_threads", 64, key="server.decision_threads",
                                   low=1, high=1024),
    )
    audit = _audit(r, r.table(raw, "audit"), database_url, defaults.audit)

    ap = r.table(raw, "approvals")
    r.known(ap, "approvals", {"ttl", "production_approvers"})
    approvals = ApprovalSettings(
        ttl_seconds=r.duration(ap, "ttl", 3600, key="approvals.ttl"),
        production_approvers=r.integer(
            ap, "production_approvers", 1, key="approvals.production_approvers", low=1, high=5
        ),
    )

    dl = r.table(raw, "delays")
    r.known(dl, "delays", {"default", "release_window"})
    delays = DelaySettings(
        default_seconds=r.duration(dl, "default", 900, key="delays.default"),
        release_window_seconds=r.duration(dl, "release_window", 3600, key="delays.release_window"),
    )

    nt = r.table(raw, "notifications")
    r.known(nt, "notifications", {"webhooks"})
    hooks = nt.get("webhooks", [])
    if not isinstance(hooks, list):
        r.fail("notifications.webhooks", "must be an array of tables ([[notifications.webhooks]])")
    webhooks = []
    for i, h in enumerate(hooks):
        key = f"notifications.webhooks[{i}]"
        if not isinstance(h, dict):
            r.fail(key, "must be a table with a url")
        r.known(h, key, {"url", "events", "timeout"})
        url = r.string(h, "url", "", key=f"{key}.url")
        if not url.startswith(("http://", "https://")):
            r.fail(f"{key}.url", "must be an http:// or https:// URL")
        events = r.strings(h, "events", DEFAULT_EVENTS, key=f"{key}.events")
        for ev in events:
            if ev not in EVENTS:
                r.fail(
                    f"{key}.events", f"unknown event {ev!r}; expected one of {', '.join(EVENTS)}"
                )
        timeout = h.get("timeout", 3.0)
        if (
            not isinstance(timeout, int | float)
            or isinstance(timeout, bool)
            or not 0 < timeout <= 30
        ):
            r.fail(f"{key}.timeout", "must be a number of seconds between 0 and 30")
        webhooks.append(WebhookSettings(url=url, events=events, timeout_seconds=float(timeout)))

    return Config(
        path=str(path) if path is not None else None,
        database_url=database_url,
        policy_path=policy_path,
        catalogs=catalogs,
        environments=environments,
        server=server,
        approvals=approvals,
        delays=delays,
        notifications=NotificationSettings(webhooks=tuple(webhooks)),
        session_environment=session_environment,
        snapshots=parse_snapshot_settings(r.table(raw, "snapshots"), r),
        audit=audit,
        pgproxy=_pgproxy(r, raw.get("pgproxy")),
        sessions=_sessions(r, r.table(raw, "sessions"), database_url, defaults.sessions),
        blast_radius=_blast_radius(r, r.table(raw, "blast_radius")),
    )


def _blast_radius(r: _Reader, t: dict[str, Any]) -> BlastRadiusSettings:
    r.known(t, "blast_radius", {"rows", "share", "timeout"})
    share = t.get("share", 0.2)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
        r.fail("blast_radius.share", "must be a fraction of the table between 0 and 1")
    timeout = t.get("timeout", 2.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 30:
        r.fail("blast_radius.timeout", "must be a number of seconds between 0 and 30")
    return BlastRadiusSettings(
        rows=r.integer(t, "rows", 1000, key="blast_radius.rows", low=0, high=10**12),
        share=float(share), timeout_seconds=float(timeout))


def _sessions(r: _Reader, t: dict[str, Any], database_url: str, defaults: SessionSettings
              ) -> SessionSettings:
    r.known(t, "sessions", {"caution", "directory"})
    directory = ""  # beside the database (Config.sessions_directory)
    if "directory" in t:
        directory = r.path(t, "directory", key="sessions.directory")
    elif not database_url.startswith("sqlite:///") or ":memory:" in database_url:
        directory = defaults.directory
    return SessionSettings(
        caution_seconds=0 if t.get("caution") in (0, "0", "off") else
        r.duration(t, "caution", 900, key="sessions.caution"),
        directory=directory,
    )


def _pgproxy(r: _Reader, raw: Any) -> tuple[ProxyDeclaration, ...]:
    try:
        return parse_declarations(raw)
    except PgProxyError as exc:
        r.fail("pgproxy", str(exc))
        raise


def _proxies(r: _Reader, srv: dict[str, Any]) -> tuple[str, ...]:
    """Addresses whose `X-Forwarded-For` is believed; none by default, so a client cannot
    choose the address the sign-in throttle and the audit see."""
    import ipaddress

    proxies = r.strings(srv, "trusted_proxies", (), key="server.trusted_proxies")
    for p in proxies:
        try:
            ipaddress.ip_network(p, strict=False)
        except ValueError:
            r.fail("server.trusted_proxies", f"{p!r} is not an IP address or network")
    return proxies


def _audit(r: _Reader, t: dict[str, Any], database_url: str, defaults: AuditSettings
           ) -> AuditSettings:
    r.known(t, "audit", {"signing_key", "checkpoints", "checkpoint_interval"})
    if database_url.startswith("sqlite:///") and ":memory:" not in database_url:
        base = _audit_defaults(Path(database_url[len("sqlite:///"):]).parent)
    else:
        import hashlib

        # one checkpoint file per database: another database's checkpoints prove nothing here
        digest = hashlib.sha256(database_url.encode("utf-8")).hexdigest()[:12]
        path = Path(defaults.checkpoints_path)
        base = AuditSettings(
            signing_key_path=defaults.signing_key_path,
            checkpoints_path=str(path.with_name(f"{path.stem}-{digest}{path.suffix}")),
        )
    return AuditSettings(
        signing_key_path=(
            r.path(t, "signing_key", key="audit.signing_key")
            if "signing_key" in t
            else base.signing_key_path
        ),
        checkpoints_path=(
            r.path(t, "checkpoints", key="audit.checkpoints")
            if "checkpoints" in t
            else base.checkpoints_path
        ),
        checkpoint_interval_seconds=r.duration(
            t, "checkpoint_interval", 300, key="audit.checkpoint_interval"
        ),
    )


def _environments(r: _Reader, raw: dict[str, Any]) -> tuple[EnvironmentSettings, ...]:
    out = []
    for name, body in raw.items():
        key = f"environments.{name}"
        if not _NAME.match(name):
            r.fail(key, "environment names are letters, digits, '_', '-' and '.'")
        if not isinstance(body, dict):
            r.fail(key, "must be a table ([environments.NAME])")
        r.known(body, key, {"protected", "readonly_database_url", *RESOURCE_KEYS})
        readonly = (r.string(body, "readonly_database_url", "",
                             key=f"{key}.readonly_database_url")
                    if "readonly_database_url" in body else None)
        if readonly is not None and not readonly.startswith(("postgresql://", "postgres://",
                                                             "postgresql+psycopg://")):
            r.fail(f"{key}.readonly_database_url", "must be a postgresql:// URL")
        protected = body.get("protected", False)
        if not isinstance(protected, bool):
            r.fail(f"{key}.protected", "must be true or false")
        lists = {k: r.strings(body, k, (), key=f"{key}.{k}") for k in RESOURCE_KEYS}
        lists["paths"] = tuple(
            str((r.base / os.path.expanduser(p)).resolve()) if not p.startswith("/") else p
            for p in lists["paths"]
        )
        out.append(EnvironmentSettings(name=name, protected=protected,
                                       readonly_database_url=readonly, **lists))
    return tuple(out)


class _Reader:
    """Typed access to the raw TOML tables that fails with the file and dotted key."""

    def __init__(self, where: str, base: Path):
        self.where = where
        self.base = base

    def fail(self, key: str, problem: str) -> None:
        raise ConfigError(f"{self.where}: {key}: {problem}")

    def known(self, table: dict[str, Any], prefix: str, allowed: set[str]) -> None:
        for k in table:
            if k not in allowed:
                key = f"{prefix}.{k}" if prefix else k
                self.fail(key, f"unknown key; expected one of {', '.join(sorted(allowed))}")

    def table(self, raw: dict[str, Any], name: str) -> dict[str, Any]:
        value = raw.get(name, {})
        if not isinstance(value, dict):
            self.fail(name, "must be a table")
        return value

    def string(self, t: dict[str, Any], name: str, default: str, *, key: str | None = None) -> str:
        value = t.get(name, default)
        if not isinstance(value, str) or not value.strip():
            self.fail(key or name, "must be a non-empty string")
        return value.strip()

    def strings(
        self, t: dict[str, Any], name: str, default: tuple[str, ...], *, key: str
    ) -> tuple[str, ...]:
        value = t.get(name, default)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(
            isinstance(v, str) and v.strip() for v in value
        ):
            self.fail(key, "must be a list of non-empty strings")
        return tuple(v.strip() for v in value)

    def integer(
        self, t: dict[str, Any], name: str, default: int, *, key: str, low: int, high: int
    ) -> int:
        value = t.get(name, default)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.fail(key, f"must be a whole number from {low} to {high}")
        return value

    def duration(self, t: dict[str, Any], name: str, default: int, *, key: str) -> int:
        value = t.get(name, default)
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(key, str(exc))
            raise  # unreachable: fail raises

    def path(self, t: dict[str, Any], name: str, *, key: str | None = None) -> str:
        value = self.string(t, name, "", key=key)
        p = Path(os.path.expanduser(value))
        return str(p if p.is_absolute() else (self.base / p).resolve())


def parse_duration(value: Any) -> int:
    """Seconds from `900`, `"30s"`, `"15m"`, `"1h"` or `"2d"`; must be positive."""
    if isinstance(value, bool):
        raise ValueError('must be a duration such as 900, "15m", "1h"')
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = int(m.group(1)) * _UNITS[m.group(2)]
    else:
        raise ValueError(f'{value!r} is not a duration such as 900, "15m", "1h"')
    if seconds <= 0 or seconds > 366 * 86400:
        raise ValueError(f"{value!r} must be positive and at most a year")
    return seconds
