"""The shape of a catalog family file, validated into frozen dataclasses.

Validation happens once, at load time, and every error names the file and the entry, so a
reviewer who breaks a data file learns where at once instead of at the first matching command.
Regexes are compiled here so matching never compiles anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from safehold.errors import CatalogError
from safehold.model import Effect

#: Where a path can point, from the most to the least harmless; see docs/catalog.md.
PATH_CLASSES = ("routine", "workspace", "outside", "protected", "critical", "guard", "unknown")
#: Structural patterns the shell analyser recognises (a pipeline into a shell, …).
CONSTRUCTS = ("pipe-to-shell", "shell-from-network", "source-remote", "redirect-truncate",
              "redirect-append", "find-delete", "guard-path", "startup-file")
PATH_ARGS = ("all", "first", "last", "allbutlast")

_FAMILY_KEYS = {
    "family", "commands", "options_with_value", "short_flag_clusters",
    "negatable_long_options", "abbreviated_long_options", "entries",
}
_ENTRY_KEYS = {
    "id", "effect", "reason", "suggestion", "when", "targets", "paths", "path_args",
    "path_regex", "options_with_value", "examples",
}
_WHEN_KEYS = {
    "subcommand", "flags_any", "flags_all", "flags_none", "args_any", "args_none",
    "args_min", "args_max", "construct", "command",
}
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*:[A-Za-z0-9][A-Za-z0-9_.:-]*$")


@dataclass(frozen=True, slots=True)
class When:
    """Conditions on one call; every condition given must hold."""

    subcommand: tuple[frozenset[str], ...] = ()
    flags_any: frozenset[str] = frozenset()
    flags_all: tuple[frozenset[str], ...] = ()
    flags_none: frozenset[str] = frozenset()
    args_any: tuple[re.Pattern[str], ...] = ()
    args_none: tuple[re.Pattern[str], ...] = ()
    args_min: int = 0
    args_max: int | None = None
    construct: str | None = None
    command: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Entry:
    """One known operation of a tool: what it costs and how to recognise it."""

    id: str
    effect: Effect
    reason: str
    suggestion: str | None
    when: When
    targets: str | None
    paths: Mapping[str, Effect | None] | None  # None value = "unknown"
    path_args: str
    path_regex: re.Pattern[str] | None
    options_with_value: frozenset[str] | None
    examples_match: tuple[str, ...]
    examples_no_match: tuple[str, ...]
    family: str
    file: str

    def path_effect(self, path_class: str) -> Effect | None:
        """The effect for a path of this class; None means the target cannot be judged."""
        assert self.paths is not None
        if path_class in self.paths:
            return self.paths[path_class]
        if path_class in ("critical", "guard") and "protected" in self.paths:
            return self.paths["protected"]
        return self.effect


@dataclass(frozen=True, slots=True)
class Family:
    family: str
    commands: tuple[str, ...]
    options_with_value: frozenset[str]
    short_flag_clusters: bool
    negatable_long_options: bool
    abbreviated_long_options: bool
    entries: tuple[Entry, ...]
    file: str
    extra: Mapping[str, Any] = field(default_factory=dict)


def _fail(file: str, where: str, msg: str) -> CatalogError:
    return CatalogError(f"{file}: {where}: {msg}")


def _str_list(value: Any, file: str, where: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(file, where, f"{key} must be a list of strings")
    return tuple(value)


def _regexes(value: Any, file: str, where: str, key: str) -> tuple[re.Pattern[str], ...]:
    out = []
    for pattern in _str_list(value, file, where, key):
        try:
            out.append(re.compile(pattern))
        except re.error as exc:
            raise _fail(file, where, f"{key}: bad regex {pattern!r}: {exc}") from None
    return tuple(out)


def _effect(value: Any, file: str, where: str, key: str) -> Effect:
    if not isinstance(value, str):
        raise _fail(file, where, f"{key} must be a string")
    try:
        return Effect.parse(value)
    except ValueError as exc:
        raise _fail(file, where, f"{key}: {exc}") from None


def _flag_groups(value: Any, file: str, where: str) -> tuple[frozenset[str], ...]:
    """flags_all: each element is a flag, or a list of alternatives of which one must be given."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail(file, where, "flags_all must be a list")
    return tuple(frozenset(_str_list(v, file, where, "flags_all")) for v in value)


def _when(raw: Any, file: str, where: str) -> When:
    if raw is None:
        return When()
    if not isinstance(raw, dict):
        raise _fail(file, where, "when must be a mapping")
    unknown = set(raw) - _WHEN_KEYS
    if unknown:
        raise _fail(file, where, f"unknown when keys: {sorted(unknown)}")
    subcommand = []
    for element in raw.get("subcommand") or []:
        alts = _str_list(element, file, where, "subcommand")
        if not alts:
            raise _fail(file, where, "subcommand elements must not be empty")
        subcommand.append(frozenset(a.lower() for a in alts))
    construct = raw.get("construct")
    if construct is not None and construct not in CONSTRUCTS:
        raise _fail(file, where, f"construct must be one of {list(CONSTRUCTS)}")
    args_min = raw.get("args_min", 0)
    if not isinstance(args_min, int) or args_min < 0:
        raise _fail(file, where, "args_min must be a non-negative integer")
    args_max = raw.get("args_max")
    if args_max is not None and (not isinstance(args_max, int) or args_max < 0):
        raise _fail(file, where, "args_max must be a non-negative integer")
    return When(
        subcommand=tuple(subcommand),
        flags_any=frozenset(_str_list(raw.get("flags_any"), file, where, "flags_any")),
        flags_all=_flag_groups(raw.get("flags_all"), file, where),
        flags_none=frozenset(_str_list(raw.get("flags_none"), file, where, "flags_none")),
        args_any=_regexes(raw.get("args_any"), file, where, "args_any"),
        args_none=_regexes(raw.get("args_none"), file, where, "args_none"),
        args_min=args_min,
        args_max=args_max,
        construct=construct,
        command=frozenset(c.lower() for c in _str_list(raw.get("command"), file, where,
                                                        "command")),
    )


def _paths(raw: Any, file: str, where: str) -> dict[str, Effect | None] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _fail(file, where, "paths must be a mapping of path class to effect")
    out: dict[str, Effect | None] = {}
    for cls, value in raw.items():
        if cls not in PATH_CLASSES:
            raise _fail(file, where, f"paths: unknown path class {cls!r}; expected {PATH_CLASSES}")
        out[cls] = None if value == "unknown" else _effect(value, file, where, f"paths.{cls}")
    return out


def parse_entry(raw: Any, family: str, file: str, index: int) -> Entry:
    where = f"entry {index}"
    if not isinstance(raw, dict):
        raise _fail(file, where, "an entry must be a mapping")
    if isinstance(raw.get("id"), str):
        where = f"entry {raw['id']!r}"
    unknown = set(raw) - _ENTRY_KEYS
    if unknown:
        raise _fail(file, where, f"unknown keys: {sorted(unknown)}")
    entry_id = raw.get("id")
    if not isinstance(entry_id, str) or not _ID.match(entry_id):
        raise _fail(file, where, "id must look like '<family>:<name>'")
    if entry_id.split(":", 1)[0] != family:
        raise _fail(file, where, f"id must start with the family name {family!r}")
    for key in ("reason",):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise _fail(file, where, f"{key} is required")
    suggestion = raw.get("suggestion")
    if suggestion is not None and not isinstance(suggestion, str):
        raise _fail(file, where, "suggestion must be a string")
    examples = raw.get("examples")
    if not isinstance(examples, dict):
        raise _fail(file, where, "examples with match and no_match are required")
    match = _str_list(examples.get("match"), file, where, "examples.match")
    no_match = _str_list(examples.get("no_match"), file, where, "examples.no_match")
    if not match or not no_match:
        raise _fail(file, where, "examples need at least one match and one no_match")
    path_args = raw.get("path_args", "all")
    if path_args not in PATH_ARGS:
        raise _fail(file, where, f"path_args must be one of {list(PATH_ARGS)}")
    path_regex = None
    if raw.get("path_regex") is not None:
        (path_regex,) = _regexes(raw["path_regex"], file, where, "path_regex")
        if path_regex.groups != 1:
            raise _fail(file, where, "path_regex must have exactly one group")
    owv = raw.get("options_with_value")
    targets = raw.get("targets")
    if targets is not None and not isinstance(targets, str):
        raise _fail(file, where, "targets must be a string")
    return Entry(
        id=entry_id,
        effect=_effect(raw.get("effect"), file, where, "effect"),
        reason=raw["reason"].strip(),
        suggestion=suggestion.strip() if suggestion else None,
        when=_when(raw.get("when"), file, where),
        targets=targets,
        paths=_paths(raw.get("paths"), file, where),
        path_args=path_args,
        path_regex=path_regex,
        options_with_value=(
            None if owv is None else frozenset(_str_list(owv, file, where, "options_with_value"))
        ),
        examples_match=match,
        examples_no_match=no_match,
        family=family,
        file=file,
    )


def parse_family(raw: Any, file: str) -> Family:
    """Validate one family file's content; raises CatalogError naming file and entry."""
    if not isinstance(raw, dict):
        raise _fail(file, "top level", "a family file must be a mapping")
    unknown = set(raw) - _FAMILY_KEYS
    if unknown:
        raise _fail(file, "top level", f"unknown keys: {sorted(unknown)}")
    family = raw.get("family")
    if not isinstance(family, str) or not re.match(r"^[a-z0-9][a-z0-9_.-]*$", family):
        raise _fail(file, "top level", "family must be a lower-case name")
    commands = tuple(c.lower() for c in _str_list(raw.get("commands"), file, "top level",
                                                    "commands"))
    entries_raw = raw.get("entries")
    if not isinstance(entries_raw, list) or not entries_raw:
        raise _fail(file, "top level", "entries must be a non-empty list")
    entries = tuple(parse_entry(e, family, file, i) for i, e in enumerate(entries_raw))
    for e in entries:
        stray = e.when.command - set(commands)
        if stray:
            raise _fail(file, f"entry {e.id!r}", f"when.command names {sorted(stray)}, which "
                        "are not in the family's commands")
    if not commands and any(e.when.construct is None for e in entries):
        raise _fail(file, "top level", "commands are required unless every entry is a construct")
    flags = {}
    for key in ("short_flag_clusters", "negatable_long_options", "abbreviated_long_options"):
        value = raw.get(key, key == "short_flag_clusters")
        if not isinstance(value, bool):
            raise _fail(file, "top level", f"{key} must be true or false")
        flags[key] = value
    return Family(
        family=family,
        commands=commands,
        options_with_value=frozenset(
            _str_list(raw.get("options_with_value"), file, "top level", "options_with_value")
        ),
        short_flag_clusters=flags["short_flag_clusters"],
        negatable_long_options=flags["negatable_long_options"],
        abbreviated_long_options=flags["abbreviated_long_options"],
        entries=entries,
        file=file,
    )
