"""What several commands share: building the Guard from flags and config, reading input."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer

from safehold.config import load_config
from safehold.decide import Guard
from safehold.errors import SafeholdError

KINDS = ("shell", "sql", "http", "mcp", "file")


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"safehold: {message}", err=True)
    return typer.Exit(code)


def load_guard(policy: Path | None = None, config: Path | None = None) -> Guard:
    """The Guard a command should use: the config's policy and inventory when a config exists,
    then the --policy file. A broken policy or config is a loud error, never a silent default."""
    return load_session(policy, config)[0]


def load_session(policy: Path | None = None, config: Path | None = None
                 ) -> tuple[Guard, str | None]:
    """The Guard, and the environment a session claims when the command line does not say:
    `SAFEHOLD_ENVIRONMENT`, else the config's `environment` (as for the hooks)."""
    try:
        extra: list[Path] = []
        env_policy = os.environ.get("SAFEHOLD_POLICY")
        if env_policy:
            extra.append(Path(env_policy))
        if policy is not None:
            extra.append(policy)
        cfg = load_config(config)
        claim = os.environ.get("SAFEHOLD_ENVIRONMENT") or cfg.session_environment
        return Guard.from_config(cfg, extra_policies=extra), claim
    except SafeholdError as exc:
        raise fail(str(exc), 2) from exc


def parse_input(kind: str, text: str) -> str | dict[str, Any]:
    """Shell and SQL are text; HTTP and MCP are JSON objects (HTTP may also be a raw request)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if kind in ("shell", "sql"):
        return text
    stripped = text.strip()
    if stripped.startswith("{"):
        value = json.loads(stripped)
        if not isinstance(value, dict):
            raise ValueError(f"{kind} input must be a JSON object")
        return value
    if kind == "http":
        return text
    raise ValueError(f"{kind} input must be a JSON object")
