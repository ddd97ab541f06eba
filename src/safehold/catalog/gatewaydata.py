"""How the gateway reaches each provider, as data (`data/gateway.yaml`).

The HTTP catalog says what a call does; this file says how to make one for an agent: the
default upstream, the header the real credential goes in, the provider's error shape, and the
environment variables its tools read. Loaded once; a malformed file is a CatalogError naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from safehold.catalog.files import read_yaml
from safehold.errors import CatalogError

GATEWAY_FILE = Path(__file__).parent / "data" / "gateway.yaml"
ERROR_SHAPES = ("graphql", "json")
_KEYS = {"upstream", "auth", "errors", "token_env", "endpoint_env"}


@dataclass(frozen=True, slots=True)
class ProviderAccess:
    name: str
    upstream: str
    auth_header: str
    auth_value: str
    errors: str
    token_env: tuple[str, ...] = ()
    endpoint_env: tuple[str, ...] = ()

    def auth(self, secret: str) -> tuple[str, str]:
        """The header that presents `secret` to the provider."""
        return self.auth_header, self.auth_value.replace("{secret}", secret)


def generic(name: str, upstream: str) -> ProviderAccess:
    """A provider the file does not describe: bearer auth, JSON errors, an explicit upstream."""
    return ProviderAccess(name, upstream, "Authorization", "Bearer {secret}", "json")


@lru_cache(maxsize=1)
def providers() -> dict[str, ProviderAccess]:
    return parse(read_yaml(GATEWAY_FILE, "gateway provider data"), str(GATEWAY_FILE))


def parse(data: Any, origin: str) -> dict[str, ProviderAccess]:
    if not isinstance(data, dict) or not isinstance(data.get("providers"), dict):
        raise CatalogError(f"{origin}: expected a mapping with a 'providers' table")
    out = {}
    for name, body in data["providers"].items():
        where = f"{origin}: providers.{name}"
        if not isinstance(body, dict) or set(body) - _KEYS:
            raise CatalogError(f"{where}: expected only {', '.join(sorted(_KEYS))}")
        upstream, auth, errors = body.get("upstream"), body.get("auth"), body.get("errors")
        if not isinstance(upstream, str) or not upstream.startswith(("https://", "http://")):
            raise CatalogError(f"{where}.upstream: must be an http(s) URL")
        if (not isinstance(auth, dict) or not isinstance(auth.get("header"), str)
                or "{secret}" not in str(auth.get("value", ""))):
            raise CatalogError(f"{where}.auth: needs a header and a value containing {{secret}}")
        if errors not in ERROR_SHAPES:
            raise CatalogError(f"{where}.errors: must be one of {', '.join(ERROR_SHAPES)}")
        lists = {}
        for key in ("token_env", "endpoint_env"):
            value = body.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise CatalogError(f"{where}.{key}: must be a list of variable names")
            lists[key] = tuple(value)
        out[name] = ProviderAccess(
            name=name,
            upstream=upstream.rstrip("/"),
            auth_header=auth["header"],
            auth_value=str(auth["value"]),
            errors=errors,
            **lists,
        )
    return out
