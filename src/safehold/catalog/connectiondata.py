"""How each client names what it connects to, as data (`data/connections.yaml`).

A database client, kubectl, ssh or terraform acts on something the command line names with
flags, positionals, URLs, conninfo strings or environment variables. Each client declares
those spellings here, so the shell analyser can turn any of them into a target the
inventory places in an environment, and a reviewer adds a client without touching code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from safehold.catalog.files import read_yaml
from safehold.errors import CatalogError

CONNECTIONS_FILE = Path(__file__).parent / "data" / "connections.yaml"

#: What a connection's parts make: one target of these kinds.
TARGETS = ("database", "path", "kubernetes", "host", "bucket", "remote", "none")
#: The parts a flag, positional or variable can name.
PARTS = ("url", "host", "port", "dbname", "address", "path", "context", "cluster", "namespace",
         "bucket", "kubeconfig", "remote", "subcommand")
_KEYS = {
    "id", "commands", "target", "scheme", "urls", "conninfo", "options", "flags",
    "positionals", "env", "default", "qualifies", "provider", "command_follows", "examples",
    "url_args", "subcommands",
}


@dataclass(frozen=True, slots=True)
class Client:
    """One client's spellings of its connection target."""

    id: str
    commands: tuple[str, ...]
    target: str
    scheme: str | None
    urls: frozenset[str]
    conninfo: bool
    options: Mapping[str, str]
    flags: frozenset[str]
    positionals: tuple[str, ...]
    env: Mapping[str, str]
    default: Mapping[str, str]
    qualifies: frozenset[str]
    provider: str | None
    command_follows: bool
    url_args: bool
    subcommands: frozenset[str]
    examples: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class ConnectionData:
    clients: tuple[Client, ...]
    by_command: Mapping[str, Client]

    def get(self, command: str) -> Client | None:
        return self.by_command.get(command)


def _strs(value: Any, where: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CatalogError(f"{where}: {key} must be a list of strings")
    return tuple(value)


def _parts(value: Any, where: str, key: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise CatalogError(f"{where}: {key} must map names to parts")
    for part in value.values():
        if part not in PARTS and not (part.startswith("id:") and len(part) > 3):
            raise CatalogError(f"{where}: {key}: unknown part {part!r}; expected one of "
                               f"{list(PARTS)} or id:<kind>")
    return dict(value)


def _client(raw: Any, file: str, index: int) -> Client:
    where = f"{file}: client {index}"
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: must be a mapping")
    if isinstance(raw.get("id"), str):
        where = f"{file}: client {raw['id']!r}"
    unknown = set(raw) - _KEYS
    if unknown:
        raise CatalogError(f"{where}: unknown keys: {sorted(unknown)}")
    if not isinstance(raw.get("id"), str) or not raw["id"]:
        raise CatalogError(f"{where}: id is required")
    commands = _strs(raw.get("commands"), where, "commands")
    if not commands:
        raise CatalogError(f"{where}: commands are required")
    target = raw.get("target")
    if target not in TARGETS:
        raise CatalogError(f"{where}: target must be one of {list(TARGETS)}")
    positionals = _strs(raw.get("positionals"), where, "positionals")
    for part in positionals:
        if part not in PARTS:
            raise CatalogError(f"{where}: positionals: unknown part {part!r}")
    examples = []
    for ex in raw.get("examples") or []:
        if not isinstance(ex, dict) or not isinstance(ex.get("command"), str):
            raise CatalogError(f"{where}: each example needs a command and its targets")
        examples.append((ex["command"], _strs(ex.get("targets"), where, "examples.targets")))
    if not examples:
        raise CatalogError(f"{where}: examples are required")
    for key in ("scheme", "provider"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise CatalogError(f"{where}: {key} must be a string")
    return Client(
        id=raw["id"],
        commands=commands,
        target=target,
        scheme=raw.get("scheme"),
        urls=frozenset(_strs(raw.get("urls"), where, "urls")),
        conninfo=bool(raw.get("conninfo", False)),
        options=_parts(raw.get("options"), where, "options"),
        flags=frozenset(_strs(raw.get("flags"), where, "flags")),
        positionals=positionals,
        env=_parts(raw.get("env"), where, "env"),
        default=_parts_values(raw.get("default"), where),
        qualifies=frozenset(_strs(raw.get("qualifies"), where, "qualifies")),
        provider=raw.get("provider"),
        command_follows=bool(raw.get("command_follows", False)),
        url_args=bool(raw.get("url_args", False)),
        subcommands=frozenset(_strs(raw.get("subcommands"), where, "subcommands")),
        examples=tuple(examples),
    )


def _parts_values(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        k in PARTS and isinstance(v, str) for k, v in value.items()
    ):
        raise CatalogError(f"{where}: default must map parts to values")
    return dict(value)


def parse_connection_data(raw: Any, file: str) -> ConnectionData:
    if not isinstance(raw, dict) or set(raw) != {"clients"}:
        raise CatalogError(f"{file}: top level: must be a mapping with one key, clients")
    if not isinstance(raw["clients"], list):
        raise CatalogError(f"{file}: clients must be a list")
    clients = tuple(_client(c, file, i) for i, c in enumerate(raw["clients"]))
    by_command: dict[str, Client] = {}
    for c in clients:
        for cmd in c.commands:
            if cmd in by_command:
                raise CatalogError(f"{file}: client {c.id!r}: command {cmd!r} is already "
                                   f"described by {by_command[cmd].id!r}")
            by_command[cmd] = c
    return ConnectionData(clients, by_command)


@lru_cache(maxsize=4)
def load_connection_data(file: str = str(CONNECTIONS_FILE)) -> ConnectionData:
    return parse_connection_data(read_yaml(Path(file), "connection data"), file)
