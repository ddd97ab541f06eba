"""Is there a live provider credential in this text? Which, on which line, for what provider.

Two kinds of evidence, both data (`catalog/data/secrets.yaml`): tokens recognisable by their own
shape (`ghp_…`, `AKIA…`, a private key block, a kubeconfig's client key), and provider variables
assigned a value (`RAILWAY_TOKEN=…`, Railway tokens being plain UUIDs). detect-secrets' pattern
detectors add the formats it knows. A value that is a placeholder — empty, `<token>`,
`${VAR}`, `changeme`, `your-token-here`, a `safehold:credential/…` reference — is not a secret,
so an `.env.example` or an `.npmrc` with settings only reads as what it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from safehold.catalog.files import read_yaml
from safehold.errors import CatalogError

SECRETS_FILE = Path(__file__).resolve().parents[1] / "catalog" / "data" / "secrets.yaml"
MAX_LINE = 10_000
_ASSIGN = (r"""(?:^|(?<=[\s{{,;(]))(?:export\s+)?["']?({names})["']?\s*[:=]\s*"""
           r"""(?:["']([^"'\n]*)["']|([^\s#"',}}]+))""")
_SKIPPED_DETECTORS = {"Base64HighEntropyString", "HexHighEntropyString", "IPPublicDetector",
                      "KeywordDetector"}


@dataclass(frozen=True, slots=True)
class Secret:
    """One credential in a text: where it is and what it is. `value` stays in memory only."""

    line: int
    rule: str
    provider: str | None
    can: str | None
    value: str
    start: int
    end: int

    def describe(self) -> str:
        who = self.provider or "unknown provider"
        return f"{self.rule} ({who})" + (f"; it could: {self.can}" if self.can else "")


@dataclass(frozen=True, slots=True)
class _Format:
    id: str
    provider: str | None
    pattern: re.Pattern[str]
    within: re.Pattern[str] | None
    can: str | None


@dataclass(frozen=True, slots=True)
class _Rules:
    formats: tuple[_Format, ...]
    assign: re.Pattern[str]
    variables: dict[str, tuple[str, str | None]]
    placeholders: tuple[re.Pattern[str], ...]
    token_value: re.Pattern[str]
    name_words: frozenset[str]
    generic_assign: re.Pattern[str]
    not_a_literal: re.Pattern[str]
    content_decides: frozenset[str]


@lru_cache(maxsize=1)
def rules() -> _Rules:
    return parse(read_yaml(SECRETS_FILE, "secret formats"), str(SECRETS_FILE))


def parse(data: Any, origin: str) -> _Rules:
    try:
        formats = tuple(
            _Format(f["id"], f.get("provider"), re.compile(f["pattern"], re.MULTILINE),
                    re.compile(f["within"]) if f.get("within") else None, f.get("can"))
            for f in data["formats"]
        )
        variables: dict[str, tuple[str, str | None]] = {}
        for v in data["variables"]:
            for name in v["names"]:
                variables[name.upper()] = (v["provider"], v.get("can"))
        names = "|".join(sorted((re.escape(n) for n in variables), key=len, reverse=True))
        assign = re.compile(_ASSIGN.format(names=names), re.MULTILINE | re.IGNORECASE)
        placeholders = tuple(re.compile(p) for p in data["placeholders"])
        token_value = re.compile(data["token_files"]["value"])
        name_words = frozenset(data["token_files"]["name_words"])
        generic_assign = re.compile(
            r"""^\s*(?:export\s+)?([A-Z][A-Z0-9_]*?"""
            + data["secret_variable_names"][:-1]
            + r""")\s*=\s*(?:["']([^"'\n]*)["']|([^\s#"']+))""",
            re.MULTILINE,
        )
        not_a_literal = re.compile(data["not_a_literal"])
        content_decides = frozenset(data["content_decides"])
    except (KeyError, TypeError, re.error) as exc:
        raise CatalogError(f"{origin}: malformed secret formats: {exc}") from exc
    return _Rules(formats, assign, variables, placeholders, token_value, name_words,
                  generic_assign, not_a_literal, content_decides)


def is_placeholder(value: str) -> bool:
    v = value.strip()
    return len(v) < 8 or any(p.search(v) for p in rules().placeholders)


def find(text: str, name: str | None = None) -> list[Secret]:
    """Every live-looking credential in `text` (the content of file `name`, when it is one),
    in order, one per value."""
    r = rules()
    starts = _line_starts(text)
    found: dict[tuple[int, int], Secret] = {}

    def add(rule: str, provider: str | None, can: str | None, start: int, end: int) -> None:
        value = text[start:end]
        if rule != "secret:private-key" and is_placeholder(value):
            return
        if any(s <= start < e or start <= s < end for s, e in found):
            return
        found[(start, end)] = Secret(_line_of(starts, start), rule, provider, can, value,
                                     start, end)

    for f in r.formats:
        if f.within is not None and not f.within.search(text):
            continue
        for m in f.pattern.finditer(text):
            g = 1 if m.groups() and m.group(1) else 0
            add(f.id, f.provider, f.can, m.start(g), m.end(g))
    for m in r.assign.finditer(text):
        provider, can = r.variables[m.group(1).upper()]
        g = 2 if m.group(2) is not None else 3
        add(f"secret:{provider}-variable", provider, can, m.start(g), m.end(g))
    for m in r.generic_assign.finditer(text):
        g = 2 if m.group(2) is not None else 3
        if not r.not_a_literal.search(m.group(g)):
            add("secret:secret-variable", None, None, m.start(g), m.end(g))
    for lineno, line in enumerate(text.splitlines(), 1):
        for value in _detect_secrets(line[:MAX_LINE]):
            at = line.find(value)
            if at >= 0:
                base = starts[lineno - 1]
                add("secret:detect-secrets", None, None, base + at, base + at + len(value))
    if not found and name is not None:
        bare = _token_file(text, name)
        if bare is not None:
            can = next((c for p, c in r.variables.values() if p == bare and c), None)
            add("secret:token-file", bare or None, can, *bare_span(text))
    return sorted(found.values(), key=lambda s: s.start)


def _token_file(text: str, name: str) -> str | None:
    """The provider (or "" when unknown) a file holding one bare token belongs to."""
    r = rules()
    value = text.strip()
    if not r.token_value.match(value) or is_placeholder(value):
        return None
    words = set(re.split(r"[^a-z0-9]+", name.lower())) - {""}
    providers = {p for p, _ in r.variables.values()}
    named = sorted(words & providers)
    if named:
        return named[0]
    return "" if words & r.name_words else None


def bare_span(text: str) -> tuple[int, int]:
    start = len(text) - len(text.lstrip())
    return start, start + len(text.strip())


def _detect_secrets(line: str) -> set[str]:
    out: set[str] = set()
    for detector in _detectors():
        for pattern in getattr(detector, "denylist", ()):
            for m in pattern.finditer(line):
                groups = [g for g in m.groups() if g]
                longest = max(groups, key=len, default="")
                out.add(longest if len(longest) >= 12 else m.group(0))
    return {s for s in out if len(s) >= 12}


@lru_cache(maxsize=1)
def _detectors() -> tuple[Any, ...]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    classes: list[Any] = list(get_mapping_from_secret_type_to_class().values())
    return tuple(c() for c in classes if c.__name__ not in _SKIPPED_DETECTORS)


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    return starts


def _line_of(starts: list[int], offset: int) -> int:
    import bisect

    return bisect.bisect_right(starts, offset)
