"""One HTTP request, normalised from whichever form a surface handed over.

Surfaces give a mapping (`method`, `url`, `headers`, `body`) or the raw text of a request
(`METHOD url` line, header lines, a blank line, the body). Both become the same `HttpRequest`,
so `curl …` in a shell hook and the same call through the gateway are judged alike. What cannot
be made sense of (a malformed request line, a body nobody could read) is kept in `problems`
for the analyser to report as unknown, never dropped.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

_METHODS = frozenset(
    {"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "TRACE", "CONNECT"}
)
_NO_BODY = object()
_OVERRIDE_HEADERS = frozenset({"x-http-method-override", "x-http-method", "x-method-override"})


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """A request with its URL split and its body decoded where the content type allows."""

    method: str
    url: str
    scheme: str
    host: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    body_text: str | None
    body_json: Any = _NO_BODY
    form: tuple[tuple[str, str], ...] = ()
    userinfo: bool = False
    problems: tuple[str, ...] = field(default=())
    port: int | None = None

    def header(self, name: str) -> str | None:
        """The last value of a header, compared case-insensitively."""
        lname = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == lname:
                found = value
        return found

    @property
    def has_json(self) -> bool:
        return self.body_json is not _NO_BODY

    def param(self, name: str) -> str | None:
        """A named parameter from the query string, a form body or a top-level JSON key.

        Query-protocol APIs (AWS) accept parameters in either place, so matchers look in all.
        """
        for key, value in (*self.query, *self.form):
            if key == name:
                return value
        if self.has_json and isinstance(self.body_json, dict) and name in self.body_json:
            value = self.body_json[name]
            if isinstance(value, str):
                return value
            return json.dumps(value)
        return None

    def params(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.has_json and isinstance(self.body_json, dict):
            for key, value in self.body_json.items():
                out[str(key)] = value if isinstance(value, str) else json.dumps(value)
        for key, value in (*self.form, *self.query):
            out.setdefault(key, value)
        return out

    def location(self) -> str:
        """`scheme://host[:port]/path`, no query or credentials: how the inventory names a URL."""
        port = f":{self.port}" if self.port else ""
        return f"{self.scheme or 'https'}://{self.host}{port}{self.path}"

    def display(self) -> str:
        """`METHOD host/path`, without query string or credentials: safe for reasons."""
        return f"{self.method} {self.host}{self.path}"


_Split = tuple[str, str, str, tuple[tuple[str, str], ...], bool, list[str], int | None]


def _split_url(url: str) -> _Split:
    problems: list[str] = []
    text = url.strip()
    if "://" not in text and not text.startswith("/"):
        text = "https://" + text
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
        userinfo = "@" in parts.netloc
        port = parts.port
    except ValueError as exc:
        problems.append(f"URL could not be parsed ({exc})")
        return "", "", "/", (), False, problems, None
    path = _normalise_path(unquote(parts.path))
    query = tuple(parse_qsl(parts.query, keep_blank_values=True))
    if not host and "://" in text:
        problems.append("URL has no host")
    return parts.scheme.lower(), host, path, query, userinfo, problems, port


def _normalise_path(path: str) -> str:
    """`//v2/./volumes/../volumes/x` -> `/v2/volumes/x`: servers resolve these, so must we."""
    if not path:
        return "/"
    trailing = path.endswith("/") and len(path) > 1
    out = posixpath.normpath("/" + re.sub(r"/+", "/", path).lstrip("/"))
    out = "/" + out.lstrip("/")
    return out + "/" if trailing and out != "/" else out


def _decode_body(
    body: Any, content_type: str
) -> tuple[str | None, Any, tuple[tuple[str, str], ...]]:
    if body is None or body == "":
        return None, _NO_BODY, ()
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str):
        return json.dumps(body, default=str), body, ()
    ctype = content_type.lower()
    stripped = body.lstrip()
    if "json" in ctype or stripped[:1] in ("{", "["):
        try:
            return body, json.loads(body), ()
        except ValueError:
            pass
    if "x-www-form-urlencoded" in ctype or ("=" in body and stripped[:1] not in ("{", "[")):
        pairs = tuple(parse_qsl(body, keep_blank_values=True))
        if pairs:
            return body, _NO_BODY, pairs
    return body, _NO_BODY, ()


def _headers_from(value: Any) -> tuple[tuple[tuple[str, str], ...], list[str]]:
    if value is None:
        return (), []
    if isinstance(value, Mapping):
        return tuple((str(k), str(v)) for k, v in value.items()), []
    if isinstance(value, list | tuple):
        out: list[tuple[str, str]] = []
        for item in value:
            if isinstance(item, list | tuple) and len(item) == 2:
                out.append((str(item[0]), str(item[1])))
            elif isinstance(item, str) and ":" in item:
                name, _, val = item.partition(":")
                out.append((name.strip(), val.strip()))
            else:
                return tuple(out), ["a header entry is not a name/value pair"]
        return tuple(out), []
    return (), ["headers are neither a mapping nor a list"]


def build(method: Any, url: Any, headers: Any, body: Any, problems: list[str]) -> HttpRequest:
    """An `HttpRequest` from its parts; anything odd becomes a problem, not an exception."""
    if not isinstance(method, str) or not method.strip():
        if method is not None:
            problems.append("method is not a string")
        method = "POST" if body not in (None, "") else "GET"
    method = method.strip().upper()
    if method not in _METHODS:
        problems.append(f"unusual HTTP method {method[:20]!r}")
    if not isinstance(url, str) or not url.strip():
        problems.append("request has no URL")
        url = ""
    hdrs, hdr_problems = _headers_from(headers)
    problems.extend(hdr_problems)
    override = next((v for k, v in hdrs if k.lower() in _OVERRIDE_HEADERS and v.strip()), None)
    scheme, host, path, query, userinfo, url_problems, port = _split_url(url) if url else (
        "", "", "/", (), False, [], None
    )
    problems.extend(url_problems)
    if override is None:
        override = next((v for k, v in query if k == "_method" and v.strip()), None)
    if override is not None:
        method = override.strip().upper()  # the server acts on the overriding method
        if method not in _METHODS:
            problems.append(f"unusual HTTP method override {method[:20]!r}")
    if not host:
        for key, value in hdrs:
            if key.lower() == "host":
                host = value.strip().lower().split(":")[0]
    content_type = next((v for k, v in hdrs if k.lower() == "content-type"), "")
    body_text, body_json, form = _decode_body(body, content_type)
    return HttpRequest(
        method=method,
        url=url,
        scheme=scheme,
        host=host,
        path=path,
        query=query,
        headers=hdrs,
        body_text=body_text,
        body_json=body_json,
        form=form,
        userinfo=userinfo,
        problems=tuple(problems),
        port=port,
    )


def parse_raw(text: str) -> HttpRequest:
    """`METHOD url [HTTP/x]`, header lines, a blank line, then the body."""
    normalised = text.replace("\r\n", "\n").lstrip("\n")
    head, sep, body = normalised.partition("\n\n")
    lines = head.split("\n")
    request_line = lines[0].split()
    problems: list[str] = []
    if len(request_line) < 2:
        problems.append("raw request has no `METHOD url` line")
        return build("GET", "", (), None, problems)
    method, target = request_line[0], request_line[1]
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or " " in name.strip():
            problems.append("raw request has a malformed header line")
            continue
        headers.append((name.strip(), value.strip()))
    if target.startswith("/"):
        host = next((v for k, v in headers if k.lower() == "host"), "")
        if host:
            target = f"https://{host.strip()}{target}"
    return build(method, target, headers, body if sep else None, problems)


def from_input(value: Any) -> HttpRequest:
    """The request an analyser was handed: a mapping, or the raw text of a request."""
    if isinstance(value, str):
        return parse_raw(value)
    if not isinstance(value, Mapping):
        return build("GET", "", (), None, ["input is neither a request mapping nor raw text"])
    problems = [str(p) for p in value.get("unknown") or () if isinstance(p, str)]
    return build(value.get("method"), value.get("url"), value.get("headers"),
                 value.get("body"), problems)
