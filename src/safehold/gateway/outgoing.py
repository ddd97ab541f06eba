"""The request the gateway would send, built from the request the agent sent.

What is decided is what is sent: the method, the upstream URL, the headers that will be
forwarded and the body, byte for byte. The only difference is the credential, which is added
after the decision. Whatever carried the agent's capability is removed first, so it never
reaches the provider; so are hop-by-hop headers and any credential the agent brought itself
(the provider sees the stored credential or nothing).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from safehold.capabilities.tokens import PREFIX

#: Headers that belong to one connection, or that the gateway sets itself.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-connection", "te", "trailer", "trailers",
    "transfer-encoding", "upgrade", "host", "content-length", "expect",
})
#: Headers that carry credentials of any kind; never forwarded from the agent.
CREDENTIAL_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "x-api-key", "api-key",
    "x-auth-token", "private-token", "x-safehold-capability",
})
#: Headers that would make the provider act on something other than what was decided: a
#: method override turns the decided POST into a DELETE upstream.
OVERRIDE_HEADERS = frozenset({"x-http-method-override", "x-http-method", "x-method-override"})
#: Gateway options the agent may send; consumed here, never forwarded.
OPTION_PREFIX = "x-safehold-"
MAX_HEADERS = 100


class BadRequest(ValueError):
    """A request the gateway will not even decide (it says why)."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def action_input(self) -> dict[str, Any]:
        """The `http` Action input: the request exactly as it will be sent, minus credential."""
        d: dict[str, Any] = {"method": self.method, "url": self.url,
                             "headers": dict(self.headers)}
        if self.body:
            d["body"] = self.body.decode("utf-8")
        return d

    def to_json(self) -> str:
        return json.dumps([list(h) for h in self.headers])


def capability_from(headers: list[tuple[str, str]]) -> str | None:
    """The capability the agent presented, in `Authorization: Bearer`, in
    `X-Safehold-Capability`, or in whatever header the agent's tool puts its token in.
    Two different capabilities in one request are refused."""
    found = set()
    for _name, value in headers:
        v = value.strip()
        if v.lower().startswith("bearer "):
            v = v[7:].strip()
        if v.startswith(PREFIX):
            found.add(v)
    if len(found) > 1:
        raise BadRequest("the request carries more than one capability")
    return found.pop() if found else None


def build(method: str, upstream: str, path: str, query: str,
          headers: list[tuple[str, str]], body: bytes,
          provider_credential_headers: frozenset[str] = frozenset()) -> Outgoing:
    """The outgoing request; BadRequest when it cannot be forwarded faithfully."""
    method = method.upper()
    if not method.isalpha() or len(method) > 16:
        raise BadRequest(f"HTTP method {method!r} is not forwarded")
    segments = unquote(path).replace("\\", "/").split("/")
    if any(seg in (".", "..") for seg in segments):
        raise BadRequest("the path may not contain '.' or '..' segments")
    if any(ord(ch) < 0x20 for ch in unquote(path) + unquote(query)):
        raise BadRequest("the path may not contain control characters")
    url = upstream.rstrip("/") + "/" + path.lstrip("/")
    if query:
        url += "?" + query
    if len(headers) > MAX_HEADERS:
        raise BadRequest(f"more than {MAX_HEADERS} headers")
    encoding = next((v for k, v in headers if k.lower() == "content-encoding"), "identity")
    if encoding.strip().lower() not in ("", "identity"):
        raise BadRequest(f"request bodies with Content-Encoding {encoding!r} are not forwarded: "
                         "the gateway decides on the body the provider will read")
    drop = HOP_BY_HOP | CREDENTIAL_HEADERS | OVERRIDE_HEADERS | provider_credential_headers
    kept: dict[str, str] = {}
    for name, value in headers:
        low = name.lower()
        if low in drop or low.startswith(OPTION_PREFIX) or PREFIX in value:
            continue
        # repeated headers are sent combined, as HTTP allows, so the decision sees them all
        kept[low] = f"{kept[low]}, {value}" if low in kept else value
    if body:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(
                "the body is not UTF-8 text; the gateway forwards only bodies it can read"
            ) from None
    return Outgoing(method, url, tuple(kept.items()), body)
