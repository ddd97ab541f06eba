"""Secrets never reach the audit log: recorded inputs are redacted before they are written.

Two layers. Known credential carriers are cut by pattern (HTTP auth headers, password flags,
`PGPASSWORD=…`-style assignments, `scheme://user:pass@`, bearer tokens, safehold's own `shk_`
API tokens, private key blocks, secret-named keys in mappings). Then detect-secrets' detectors
run over what is left and every value they report is replaced. A value found once is a secret
everywhere in the same record: `redact` also removes it from the other fields (a password cut
from a command is cut from the agent's stated reason too). detect-secrets' high-entropy and
public-IP detectors are left out on purpose: they would erase commit ids, digests and hosts,
which are what an audit is for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

MASK = "[REDACTED]"

_SKIPPED_DETECTORS = {
    "Base64HighEntropyString",
    "HexHighEntropyString",
    "IPPublicDetector",
}

_KEY = (
    r"(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|"
    r"client[_-]?secret|private[_-]?key|auth[_-]?token|credentials?|session[_-]?key)"
)

#: Mapping keys whose whole value is a secret (HTTP headers, JSON bodies, MCP arguments).
SECRET_KEY = re.compile(
    rf"^(?:authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token|"
    rf"api-key|x-amz-security-token|.*{_KEY})$",
    re.IGNORECASE,
)
#: Mapping keys that only look secret: our own ids and digests, and counters.
NOT_SECRET_KEY = re.compile(
    r"^(?:tool_use_id|token_id|.*_hash|hash|digest|prev_hash|max_tokens|tokens?_used|"
    r"token_count|.*_tokens)$",
    re.IGNORECASE,
)

_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _keep(group: int) -> Callable[[re.Match[str]], str]:
    return lambda m: m.group(group) + MASK


_RULES: tuple[_Rule, ...] = (
    (re.compile(r"\bshk_[A-Za-z0-9_-]{16,}"), lambda m: MASK),
    (
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)",
            re.DOTALL,
        ),
        lambda m: MASK,
    ),
    (
        re.compile(
            r"(?i)(\b(?:proxy-)?authorization\s*[:=]\s*[\"']?(?:(?:bearer|basic|token|digest)\s+)?)"
            r"[^\s\"',;]+"
        ),
        _keep(1),
    ),
    (
        re.compile(
            r"(?i)(\b(?:x-api-key|x-auth-token|api-key|x-amz-security-token|cookie|set-cookie)"
            r"\s*:\s*)[^\r\n\"']+"
        ),
        _keep(1),
    ),
    (re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{6,}"), _keep(1)),
    (
        re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s:/@\"']+:)[^\s@/\"']+(@)"),
        lambda m: m.group(1) + MASK + m.group(2),
    ),
    (
        re.compile(
            r"\b([A-Z_][A-Z0-9_]*(?:PASSWORD|PASSWD|PASS|SECRET|TOKEN|API_KEY|APIKEY|"
            r"ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?|AUTH)[A-Z0-9_]*=)"
            r"(\"[^\"]*\"|'[^']*'|[^\s;&|]+)"
        ),
        _keep(1),
    ),
    (
        re.compile(
            r"(?i)((?:^|\s)--?(?:password|passwd|pass|token|secret|api-key|apikey|access-key|"
            r"secret-key|client-secret|auth-token)(?:=|\s+))(\"[^\"]*\"|'[^']*'|[^\s;&|]+)"
        ),
        _keep(1),
    ),
    (re.compile(r"(\bsshpass\s+-p\s*)([^\s;&|]+)"), _keep(1)),
    (
        re.compile(
            r"(?i)((?<![A-Za-z0-9])(?:pass(?:word|wd|phrase)|secret|api[_-]?key|client[_-]?secret)"
            r":)([^\s\"',;}&]+)"
        ),
        _keep(1),
    ),
    (re.compile(r"(?i)((?:^|\s)(?:-u|--user)\s+[^\s:;&|]+:)([^\s;&|]+)"), _keep(1)),
    (
        re.compile(
            rf"(?i)((?:[\"'](?<![A-Za-z0-9]){_KEY}[\"']\s*[:=]|(?<![A-Za-z0-9]){_KEY}\s*=|"
            rf"(?<![A-Za-z0-9]){_KEY}:\s)\s*)(\"[^\"]*\"|'[^']*'|[^\s,;}}&\"']+)"
        ),
        lambda m: (
            m.group(1) + (m.group(2)[0] + MASK + m.group(2)[0] if m.group(2)[0] in "\"'" else MASK)
        ),
    ),
)


@lru_cache(maxsize=1)
def _detectors() -> tuple[Any, ...]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    classes: list[Any] = list(get_mapping_from_secret_type_to_class().values())
    return tuple(cls() for cls in classes if cls.__name__ not in _SKIPPED_DETECTORS)


def redact_text(text: str) -> str:
    """`text` with every recognised secret replaced by `[REDACTED]`."""
    return _scan(text)[0]


def _scan(text: str) -> tuple[str, frozenset[str]]:
    """The redacted text and the secret values that were cut from it."""
    if not text:
        return text, frozenset()
    if len(text) <= 2048:
        return _redact_cached(text)
    return _redact_text(text)


@lru_cache(maxsize=8192)
def _redact_cached(text: str) -> tuple[str, frozenset[str]]:
    """Reasons, rule texts and repeated commands recur in every record; scan each once."""
    return _redact_text(text)


_MYSQL = re.compile(r"\b(?:mysql|mysqldump|mysqladmin|mariadb)\b")
_MYSQL_PASSWORD = re.compile(r"(\s-p)([^\s;&|]+)")


def _mysql_passwords(text: str, cut: set[str]) -> str:
    """`mysql -pSECRET`: the password is glued to `-p`, which elsewhere means a port."""
    if not _MYSQL.search(text):
        return text
    keep = _noting(lambda m: m.group(1) + MASK, cut)
    return "\n".join(
        _MYSQL_PASSWORD.sub(keep, line) if _MYSQL.search(line) else line
        for line in text.split("\n")
    )


def _redact_text(text: str) -> tuple[str, frozenset[str]]:
    cut: set[str] = set()
    for pattern, replace in _RULES:
        text = pattern.sub(_noting(replace, cut), text)
    text = _mysql_passwords(text, cut)
    found: set[str] = set()
    for line in text.splitlines() or [text]:
        found.update(_detected(line[:10_000]))
    for secret in sorted(found, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text, frozenset(
        s for s in cut | found if len(s) >= _MIN_SECRET and s not in _NOT_SECRETS
    )


_MIN_SECRET = 4
#: Values a secret-named key often holds that are no secret, and too common to erase elsewhere.
_NOT_SECRETS = frozenset({"true", "false", "null", "none", "True", "False", "None"})


def _noting(
    replace: Callable[[re.Match[str]], str], cut: set[str]
) -> Callable[[re.Match[str]], str]:
    """`replace`, also noting the secret it cut: what the match held beyond the kept prefix
    and suffix, without quotes."""

    def sub(m: re.Match[str]) -> str:
        whole, out = m.group(0), replace(m)
        head = len(out.split(MASK, 1)[0])
        tail = len(out.rsplit(MASK, 1)[-1]) if MASK in out else 0
        secret = whole[head : len(whole) - tail].strip("\"'")
        if secret and MASK not in secret:
            cut.add(secret)
        return out

    return sub


def _detected(line: str) -> set[str]:
    """Secret values detect-secrets' detectors see in one line.

    Pattern detectors are matched here rather than through `analyze_string`, which yields a
    pattern's first group (`ghp` for a GitHub token) instead of the token itself.
    """
    found: set[str] = set()
    for detector in _detectors():
        try:
            patterns = getattr(detector, "denylist", None)
            if patterns and not hasattr(detector, "keyword_exclude"):
                for pattern in patterns:
                    for m in pattern.finditer(line):
                        groups = [g for g in m.groups() if g]
                        longest = max(groups, key=len, default="")
                        found.add(longest if len(longest) >= 12 else m.group(0))
            else:
                found.update(s for s in detector.analyze_string(line) if isinstance(s, str))
        except Exception:  # a detector bug must not stop an audit record
            continue
    return {s for s in found if len(s) >= 4 and MASK not in s}


def redact(value: Any) -> Any:
    """A copy of `value` (str, mapping, sequence, scalar) with secrets redacted, and every
    secret found in one field removed from all the others."""
    cut: set[str] = set()
    out = _redact(value, cut)
    if not cut:
        return out
    ordered = sorted(cut, key=len, reverse=True)
    return _scrub(out, ordered)


def _redact(value: Any, cut: set[str]) -> Any:
    if isinstance(value, str):
        text, found = _scan(value)
        cut.update(found)
        return text
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            key = str(k)
            if (
                v not in (None, "")
                and isinstance(v, str | int | float | bytes)
                and SECRET_KEY.match(key)
                and not NOT_SECRET_KEY.match(key)
            ):
                out[key] = MASK
                secret = v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                if len(secret) >= _MIN_SECRET and MASK not in secret and (
                    secret not in _NOT_SECRETS
                ):
                    cut.add(secret)
            else:
                out[key] = _redact(v, cut)
        return out
    if isinstance(value, list | tuple):
        return [_redact(v, cut) for v in value]
    if isinstance(value, bytes):
        return _redact(value.decode("utf-8", "replace"), cut)
    return value


def _scrub(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value
    if isinstance(value, Mapping):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    return value
