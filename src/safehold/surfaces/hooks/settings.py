"""What a hook call is configured with: the environment plus `safehold.toml`.

Loaded per call, once the agent's JSON has said which directory the call happens in (that is
where the configuration file is looked for), and passed down; nothing below reads either again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from safehold.surfaces.approval import ServerSettings

if TYPE_CHECKING:
    from safehold.config import Config

DEFAULT_WAIT = 5.0


@dataclass(frozen=True, slots=True)
class HookSettings:
    """Everything the decision and its enforcement need."""

    policy_paths: tuple[str, ...] = ()
    database_url: str | None = None
    environment: str | None = None
    server: ServerSettings | None = None
    config: Config | None = field(default=None, repr=False)


def load(environ: Mapping[str, str], cwd: str | None) -> HookSettings:
    """Settings for a call made in `cwd`. Raises ConfigError for a broken configuration file
    and ValueError for a malformed variable: both are refusals, never silent defaults."""
    from safehold.config import load_config

    config = load_config(cwd=cwd, environ=environ)
    token = environ.get("SAFEHOLD_TOKEN") or None
    url = environ.get("SAFEHOLD_SERVER_URL") or None
    if url is None and token is not None:
        url = config.server.base_url
    server = None
    if url is not None:
        wait = _number(environ, "SAFEHOLD_APPROVAL_WAIT", DEFAULT_WAIT)
        server = ServerSettings(url=url, token=token, wait_seconds=wait)
    policies = tuple(p for p in (config.policy_path, environ.get("SAFEHOLD_POLICY")) if p)
    return HookSettings(
        policy_paths=policies,
        database_url=config.database_url,
        environment=environ.get("SAFEHOLD_ENVIRONMENT") or config.session_environment,
        server=server,
        config=config,
    )


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise ValueError(f"{name}={raw!r} must not be negative")
    return value
