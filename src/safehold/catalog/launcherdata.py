"""Launchers as data: which programs run another command, and how to find it in their words.

Loaded once from `data/launchers.yaml`; the shell analyser's unwrapping (`wrappers.py`) holds
no launcher knowledge of its own, so adding `systemd-run` or tar's `--to-command` is a data
change a reviewer reads in one file. Each entry's examples run as tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from safehold.catalog.files import read_yaml
from safehold.errors import CatalogError

LAUNCHERS_FILE = Path(__file__).parent / "data" / "launchers.yaml"
_TOP = {"launchers", "subcommand_launchers", "option_commands", "option_command_examples"}
_KEYS = {"value_options": "value_opts", "skip_positionals": "skip_positionals",
         "assignments": "assignments", "no_exec_options": "no_exec_flags",
         "shell_options": "shell_flags", "joins_shell": "joins_shell",
         "argv_options": "argv_flags", "split_options": "split_flags", "examples": ""}


@dataclass(frozen=True, slots=True)
class Launcher:
    value_opts: frozenset[str] = frozenset()
    skip_positionals: int = 0          # words before the command (timeout's duration…)
    assignments: bool = False          # VAR=value words before the command (env)
    no_exec_flags: frozenset[str] = frozenset()   # flags that mean nothing is run
    shell_flags: frozenset[str] = frozenset()     # options whose value is a shell string
    joins_shell: bool = False          # the remaining words are joined into a shell string
    argv_flags: frozenset[str] = frozenset()      # …unless one of these flags is given
    split_flags: frozenset[str] = frozenset()     # options whose value is split into words


@dataclass(frozen=True, slots=True)
class LauncherData:
    launchers: dict[str, Launcher]
    subcommands: dict[str, frozenset[str]]
    option_commands: dict[str, dict[str, str]]
    #: (command line, what it runs) per launcher; (command line, commands) for options.
    examples: tuple[tuple[str, str], ...]
    option_examples: tuple[tuple[str, tuple[str, ...]], ...]


def _strings(value: Any, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CatalogError(f"{where}: must be a list of strings")
    return frozenset(value)


def _launcher(name: str, raw: Any, file: str) -> tuple[Launcher, list[tuple[str, str]]]:
    where = f"{file}: launchers.{name}"
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: must be a mapping")
    unknown = set(raw) - set(_KEYS)
    if unknown:
        raise CatalogError(f"{where}: unknown keys: {sorted(unknown)}")
    fields: dict[str, Any] = {}
    for key, attr in _KEYS.items():
        if key not in raw or not attr:
            continue
        value = raw[key]
        if key == "skip_positionals":
            if not isinstance(value, int) or value < 0:
                raise CatalogError(f"{where}.{key}: must be a non-negative integer")
            fields[attr] = value
        elif key in ("assignments", "joins_shell"):
            if not isinstance(value, bool):
                raise CatalogError(f"{where}.{key}: must be true or false")
            fields[attr] = value
        else:
            fields[attr] = _strings(value, f"{where}.{key}")
    examples = raw.get("examples") or []
    if not isinstance(examples, list) or not all(
            isinstance(e, list) and len(e) == 2 and all(isinstance(x, str) for x in e)
            for e in examples):
        raise CatalogError(f"{where}.examples: must be a list of [command line, command] pairs")
    return Launcher(**fields), [(e[0], e[1]) for e in examples]


def parse_launcher_data(raw: Any, file: str) -> LauncherData:
    if not isinstance(raw, dict):
        raise CatalogError(f"{file}: top level: must be a mapping")
    unknown = set(raw) - _TOP
    if unknown:
        raise CatalogError(f"{file}: top level: unknown keys: {sorted(unknown)}")
    launchers: dict[str, Launcher] = {}
    examples: list[tuple[str, str]] = []
    for name, spec in (raw.get("launchers") or {}).items():
        launchers[name], ex = _launcher(name, spec, file)
        examples.extend(ex)
    subcommands = {name: _strings(subs, f"{file}: subcommand_launchers.{name}")
                   for name, subs in (raw.get("subcommand_launchers") or {}).items()}
    options: dict[str, dict[str, str]] = {}
    for name, opts in (raw.get("option_commands") or {}).items():
        if not isinstance(opts, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in opts.items()):
            raise CatalogError(f"{file}: option_commands.{name}: must map options to prefixes")
        options[name] = dict(opts)
    option_examples = []
    for e in raw.get("option_command_examples") or []:
        if not (isinstance(e, list) and len(e) == 2 and isinstance(e[0], str)
                and isinstance(e[1], list) and all(isinstance(x, str) for x in e[1])):
            raise CatalogError(f"{file}: option_command_examples: {e!r} must be "
                               "[command line, [commands]]")
        option_examples.append((e[0], tuple(e[1])))
    return LauncherData(launchers, subcommands, options, tuple(examples), tuple(option_examples))


@lru_cache(maxsize=2)
def load_launcher_data(file: str = str(LAUNCHERS_FILE)) -> LauncherData:
    return parse_launcher_data(read_yaml(Path(file), "launcher data"), file)
