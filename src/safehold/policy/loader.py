"""Loading Cedar policy text into a validated, pre-parsed bundle.

Cedar reports a parse error without a position, so the text is split into statements first:
when the whole file fails, each statement is parsed alone to name the line at fault. The
parsed `PolicySet` handle is kept in the bundle, so a decision never re-parses policy text.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import cedarpy

from safehold.errors import PolicyError
from safehold.model import Verdict

DEFAULT_POLICY_NAME = "<built-in default.cedar>"
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class Statement:
    """One policy statement with where it came from."""

    text: str
    path: str
    line: int


@dataclass(frozen=True, slots=True)
class Rule:
    """What safehold reads from a statement's annotations."""

    id: str
    effect: str  # "permit" | "forbid"
    verdict: Verdict
    reason: str
    snapshot: bool
    delay_seconds: int | None
    path: str
    line: int


@dataclass(frozen=True)
class PolicyBundle:
    """A validated policy set ready for evaluation, with each rule's meaning by Cedar id."""

    policy_set: cedarpy.PolicySet
    rules: dict[str, Rule]
    text: str
    version: str
    sources: tuple[str, ...]
    schema: cedarpy.Schema = field(repr=False)


def split_statements(text: str, path: str) -> list[Statement]:
    """Split Cedar text at top-level semicolons, skipping strings and comments."""
    out: list[Statement] = []
    i, n, line = 0, len(text), 1
    start: int | None = None
    start_line = 1
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
            continue
        if c == "/" and text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if c.isspace():
            i += 1
            continue
        if start is None:
            start, start_line = i, line
        if c == '"':
            i += 1
            while i < n and text[i] != '"':
                if text[i] == "\\":
                    i += 1
                elif text[i] == "\n":
                    line += 1
                i += 1
            i += 1
            continue
        if c == ";":
            out.append(Statement(text[start : i + 1], path, start_line))
            start = None
        i += 1
    if start is not None:
        out.append(Statement(text[start:], path, start_line))
    return out


def parse_duration(text: str) -> int:
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"bad duration {text!r}; use e.g. 90s, 15m, 2h, 1d")
    return int(m.group(1)) * _UNITS[m.group(2)]


def _parse_statement(stmt: Statement) -> cedarpy.PolicySet:
    try:
        return cedarpy.PolicySet.from_str(stmt.text)
    except ValueError as exc:
        raise PolicyError(f"does not parse: {exc}", path=stmt.path, line=stmt.line) from exc


def _rule_from(stmt: Statement, effect: str, annotations: dict[str, str]) -> Rule:
    def bad(msg: str) -> PolicyError:
        return PolicyError(msg, path=stmt.path, line=stmt.line)

    rule_id = annotations.get("id") or f"{Path(stmt.path).name}:{stmt.line}"
    if effect == "forbid":
        verdict = Verdict.DENY
        if annotations.get("decision", "deny") != "deny":
            raise bad(f"rule {rule_id!r}: a forbid rule always denies; drop its @decision")
    else:
        raw = annotations.get("decision", "allow")
        try:
            verdict = Verdict(raw)
        except ValueError:
            raise bad(
                f"rule {rule_id!r}: @decision({raw!r}) is not one of allow, delay, ask, deny"
            ) from None
    delay = None
    if "delay" in annotations:
        try:
            delay = parse_duration(annotations["delay"])
        except ValueError as exc:
            raise bad(f"rule {rule_id!r}: @delay: {exc}") from None
    elif verdict is Verdict.DELAY:
        raise bad(f"rule {rule_id!r}: @decision(\"delay\") needs @delay(\"15m\")-style duration")
    snapshot = annotations.get("snapshot", "false").strip().lower()
    if snapshot not in ("true", "false"):
        raise bad(f"rule {rule_id!r}: @snapshot must be \"true\" or \"false\"")
    return Rule(
        id=rule_id,
        effect=effect,
        verdict=verdict,
        reason=annotations.get("reason", ""),
        snapshot=snapshot == "true",
        delay_seconds=delay,
        path=stmt.path,
        line=stmt.line,
    )


def _read_file(path: Path) -> list[tuple[Statement, Rule]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read policy file: {exc.strerror}", path=str(path)) from exc
    return _parse_text(text, str(path))


def _parse_text(text: str, path: str) -> list[tuple[Statement, Rule]]:
    statements = split_statements(text, path)
    out: list[tuple[Statement, Rule]] = []
    for stmt in statements:
        pst = _parse_statement(stmt).to_pst()
        policies = list(pst.static_policies.values()) + list(pst.templates.values())
        if len(policies) != 1:
            raise PolicyError("expected exactly one policy statement", path=path, line=stmt.line)
        p = policies[0]
        out.append((stmt, _rule_from(stmt, p.effect, dict(p.annotations))))
    return out


def _schema_text() -> str:
    return resources.files("safehold.policy").joinpath("schema.cedarschema").read_text("utf-8")


def default_policy_text() -> str:
    return resources.files("safehold.policy").joinpath("default.cedar").read_text("utf-8")


def load_bundle(user_paths: list[Path] | tuple[Path, ...] = ()) -> PolicyBundle:
    """The built-in policy plus the user's files. A user rule whose @id matches a built-in
    rule replaces it; any error names the file and line and loads nothing."""
    entries = _parse_text(default_policy_text(), DEFAULT_POLICY_NAME)
    sources = [DEFAULT_POLICY_NAME]
    for path in user_paths:
        user = _read_file(Path(path))
        sources.append(str(path))
        replaced = {rule.id for _, rule in user}
        entries = [(s, r) for s, r in entries if r.id not in replaced] + user

    seen: dict[str, Statement] = {}
    for stmt, rule in entries:
        if rule.id in seen:
            first = seen[rule.id]
            raise PolicyError(
                f"duplicate rule id {rule.id!r} (first at {first.path}:{first.line})",
                path=stmt.path,
                line=stmt.line,
            )
        seen[rule.id] = stmt

    text = "\n".join(stmt.text for stmt, _ in entries) + "\n"
    schema_text = _schema_text()
    result = cedarpy.validate_policies(text, schema_text)
    if not result.validation_passed:
        err = result.errors[0]
        index = int(err.policy_id.removeprefix("policy")) if err.policy_id else 0
        stmt = entries[min(index, len(entries) - 1)][0]
        raise PolicyError(f"does not validate: {err.error}", path=stmt.path, line=stmt.line)
    try:
        policy_set = cedarpy.PolicySet.from_str(text)
        schema = cedarpy.Schema.from_str(schema_text)
    except ValueError as exc:  # pragma: no cover - each statement already parsed alone
        raise PolicyError(f"does not parse: {exc}") from exc
    rules = {f"policy{i}": rule for i, (_, rule) in enumerate(entries)}
    version = hashlib.sha256(text.encode()).hexdigest()[:12]
    return PolicyBundle(policy_set, rules, text, version, tuple(sources), schema)
