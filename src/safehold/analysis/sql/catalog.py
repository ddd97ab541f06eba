"""The SQL catalog: what each statement class costs, loaded from `catalog/data/sql.yaml`.

The analyser's front ends (libpg_query, sqlglot) only name what they found; effects, reasons and
suggestions live in the data file so a reviewer can change what `DROP INDEX` costs without
reading Python. A broken file is a loud error at load, never a silently empty catalog.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from safehold.model import Effect, Operation, Target

NONE = "none"
DYNAMIC_RULE = "dynamic"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SqlCatalogError(ValueError):
    """The SQL catalog file is malformed."""


@dataclass(frozen=True, slots=True)
class Example:
    """One example statement of an entry, in the dialect it is written in."""

    sql: str
    dialect: str = "postgres"


@dataclass(frozen=True, slots=True)
class Entry:
    """One statement class: `sql:drop-table` and what it costs."""

    id: str
    effect: Effect
    reason: str
    suggestion: str | None = None
    match: tuple[Example, ...] = ()
    no_match: tuple[Example, ...] = ()

    def operation(self, targets: Iterable[Target], source: str) -> Operation:
        return Operation(
            id=self.id,
            effect=self.effect,
            reason=self.reason,
            source=source,
            targets=tuple(targets),
            suggestion=self.suggestion,
        )


@dataclass(frozen=True, slots=True)
class FunctionRule:
    """A function whose call matters: an operation id, or the argument that holds SQL text."""

    id: str | None = None
    sql_arg: int | None = None


@dataclass(frozen=True, slots=True)
class SqlCatalog:
    """Everything the SQL analyser knows as data."""

    entries: Mapping[str, Entry]
    postgres_statements: Mapping[str, str]
    drop_objects: Mapping[str, str]
    lossless_types: frozenset[str]
    functions: Mapping[str, FunctionRule]
    read_functions: frozenset[str]
    pg_builtins: frozenset[str]
    generic_commands: Mapping[str, str] = field(default_factory=dict)
    generic_functions: Mapping[str, str] = field(default_factory=dict)
    system_schemas: frozenset[str] = frozenset()
    system_tables: frozenset[str] = frozenset()

    def entry(self, id: str) -> Entry:
        return self.entries[id]

    def drop_id(self, object_word: str) -> str:
        return self.drop_objects.get(object_word.lower(), "sql:drop-other")


def _examples(raw: Any, where: str) -> tuple[Example, ...]:
    out = []
    for item in raw or ():
        if isinstance(item, str):
            out.append(Example(item))
        elif isinstance(item, Mapping) and isinstance(item.get("sql"), str):
            out.append(Example(item["sql"], str(item.get("dialect", "postgres"))))
        else:
            raise SqlCatalogError(f"{where}: an example must be a string or {{sql, dialect}}")
    return tuple(out)


def _entry(raw: Mapping[str, Any]) -> Entry:
    id = raw.get("id")
    if not isinstance(id, str) or not id.startswith(("sql:", "privilege:")):
        raise SqlCatalogError(f"entry id {id!r} must be a string starting with 'sql:' (or "
                              "'privilege:' for a change of security posture)")
    try:
        effect = Effect.parse(str(raw.get("effect", "")))
    except ValueError as exc:
        raise SqlCatalogError(f"{id}: {exc}") from None
    reason = raw.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise SqlCatalogError(f"{id}: a reason is required")
    examples = raw.get("examples") or {}
    return Entry(
        id=id,
        effect=effect,
        reason=" ".join(reason.split()),
        suggestion=raw.get("suggestion"),
        match=_examples(examples.get("match"), f"{id} match"),
        no_match=_examples(examples.get("no_match"), f"{id} no_match"),
    )


def _inverted(raw: Mapping[str, Iterable[str]], known: Mapping[str, Entry], where: str) -> dict:
    out: dict[str, str] = {}
    for id, names in (raw or {}).items():
        if id != NONE and id not in known:
            raise SqlCatalogError(f"{where}: {id!r} is not an entry")
        for name in names:
            if name in out:
                raise SqlCatalogError(f"{where}: {name!r} listed twice")
            out[name] = id
    return out


def _functions(raw: Mapping[str, Any], known: Mapping[str, Entry]) -> dict[str, FunctionRule]:
    out = {}
    for name, rule in (raw or {}).items():
        if isinstance(rule, str):
            if rule not in known:
                raise SqlCatalogError(f"functions: {name}: {rule!r} is not an entry")
            out[name.lower()] = FunctionRule(id=rule)
        elif isinstance(rule, Mapping) and isinstance(rule.get("sql"), int):
            out[name.lower()] = FunctionRule(sql_arg=rule["sql"])
        else:
            raise SqlCatalogError(f"functions: {name}: expected an id or {{sql: <argument>}}")
    return out


def parse_catalog(doc: Mapping[str, Any], pg_builtins: Iterable[str] = ()) -> SqlCatalog:
    """Build a catalog from the YAML document; raises SqlCatalogError on any inconsistency."""
    entries: dict[str, Entry] = {}
    for raw in doc.get("entries") or ():
        entry = _entry(raw)
        if entry.id in entries:
            raise SqlCatalogError(f"{entry.id} defined twice")
        entries[entry.id] = entry
    drops = {str(k).lower(): v for k, v in (doc.get("drop_objects") or {}).items()}
    for word, id in drops.items():
        if id not in entries:
            raise SqlCatalogError(f"drop_objects: {word}: {id!r} is not an entry")
    commands = {str(k).upper(): v for k, v in (doc.get("generic_commands") or {}).items()}
    gfuncs = {str(k).lower(): v for k, v in (doc.get("generic_functions") or {}).items()}
    for name, id in gfuncs.items():
        if id != DYNAMIC_RULE and id not in entries:
            raise SqlCatalogError(f"generic_functions: {name}: {id!r} is not an entry")
    for word, id in commands.items():
        if id not in entries:
            raise SqlCatalogError(f"generic_commands: {word}: {id!r} is not an entry")
    return SqlCatalog(
        entries=entries,
        postgres_statements=_inverted(
            doc.get("postgres_statements") or {}, entries, "postgres_statements"
        ),
        drop_objects=drops,
        lossless_types=frozenset(t.lower() for t in doc.get("lossless_types") or ()),
        functions=_functions(doc.get("functions") or {}, entries),
        read_functions=frozenset(f.lower() for f in doc.get("read_functions") or ()),
        pg_builtins=frozenset(pg_builtins),
        generic_commands=commands,
        generic_functions=gfuncs,
        system_schemas=frozenset(x.lower() for x in doc.get("system_schemas") or ()),
        system_tables=frozenset(x.lower() for x in doc.get("system_tables") or ()),
    )


def _data_file(name: str) -> str:
    return resources.files("safehold.catalog").joinpath("data", name).read_text("utf-8")


def _names(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


@cache
def load_catalog(path: str | None = None) -> SqlCatalog:
    """The built-in catalog, or the one at `path`; parsed once per process."""
    text = Path(path).read_text("utf-8") if path else _data_file("sql.yaml")
    doc = yaml.load(text, Loader=_LOADER)
    if not isinstance(doc, Mapping) or doc.get("family") != "sql":
        raise SqlCatalogError("the SQL catalog must be a mapping with `family: sql`")
    return parse_catalog(doc, _names(_data_file("sql_pg_functions.txt")))
