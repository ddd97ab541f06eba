"""Credentials a request carries, named but never shown.

An agent calling a provider with a token it found in the workspace is half of the incident this
project exists for, so every credential in a request becomes a finding: which header or
parameter, which scheme, never the value. `redacted()` gives a copy of a request mapping that is
safe to record or display.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from safehold.analysis.http.names import Vocabulary
from safehold.analysis.http.request import HttpRequest
from safehold.model import Finding

REDACTED = "[redacted]"
#: A credential the request presents (a use, not a search: see Facts.credential_uses).
CARRIED = "http:credential"
_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_-]{0,30})\s+\S")


def _scheme(value: str) -> str:
    m = _SCHEME.match(value)
    return m.group(1) if m else "opaque"


def findings(req: HttpRequest, vocab: Vocabulary, extra_headers: frozenset[str]) -> list[Finding]:
    """One finding per credential-bearing header, query parameter or URL user-info."""
    out: list[Finding] = []
    where = req.display()
    seen: set[str] = set()
    for name, value in req.headers:
        lname = name.lower()
        if lname in seen or not (lname in vocab.credential_headers or lname in extra_headers):
            continue
        seen.add(lname)
        if lname in ("authorization", "proxy-authorization"):
            detail = f"{name} header ({_scheme(value)} credential, redacted)"
        else:
            detail = f"{name} header (redacted)"
        out.append(Finding("http:credential", f"request carries a credential: {detail}", where))
    for key, _ in req.query:
        if key.lower() in vocab.credential_params and key.lower() not in seen:
            seen.add(key.lower())
            out.append(
                Finding(
                    "http:credential",
                    f"request carries a credential in query parameter {key!r} (redacted)",
                    where,
                )
            )
    location = f"{req.host}{req.path}".lower()
    if any(location.startswith(prefix) for prefix in vocab.credential_endpoints):
        out.append(
            Finding("http:credential-endpoint",
                    "request fetches cloud credentials from an instance metadata service", where)
        )
    if req.userinfo:
        out.append(
            Finding("http:credential", "request URL carries user credentials (redacted)", where)
        )
    return out


def redact_url(url: str, vocab: Vocabulary) -> str:
    """The URL with user-info and credential parameters replaced."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if query:
        pairs = [
            (k, REDACTED if k.lower() in vocab.credential_params else v)
            for k, v in parse_qsl(query, keep_blank_values=True)
        ]
        query = urlencode(pairs, safe="[]")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redacted(request: Mapping[str, Any], vocab: Vocabulary) -> dict[str, Any]:
    """A copy of a request mapping with credential headers and URL secrets replaced."""
    out = dict(request)
    url = out.get("url")
    if isinstance(url, str):
        out["url"] = redact_url(url, vocab)
    headers = out.get("headers")
    if isinstance(headers, Mapping):
        out["headers"] = {
            k: (REDACTED if str(k).lower() in vocab.credential_headers else v)
            for k, v in headers.items()
        }
    elif isinstance(headers, list | tuple):
        cleaned: list[Any] = []
        for item in headers:
            if isinstance(item, list | tuple) and len(item) == 2:
                name = str(item[0])
                hidden = name.lower() in vocab.credential_headers
                cleaned.append([name, REDACTED if hidden else item[1]])
            elif isinstance(item, str) and ":" in item:
                name = item.partition(":")[0].strip()
                hidden = name.lower() in vocab.credential_headers
                cleaned.append(f"{name}: {REDACTED}" if hidden else item)
            else:
                cleaned.append(item)
        out["headers"] = cleaned
    return out
