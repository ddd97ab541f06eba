"""The address put in approval links the API hands back: one a person can open.

`[server] base_url` is the server's public address and always wins. Without it, a server bound
to every interface (`--host 0.0.0.0`) has no single address of its own; the address the caller
used (its `Host` header) reaches it, but a client chooses that header, so it is used only when
it names this machine (a local interface's address, the machine's name or localhost) on the
port being served, and only in the reply to that caller, never in a stored or sent link.
"""

from __future__ import annotations

import ipaddress
import socket

from fastapi import Request

from safehold.config import WILDCARD_HOSTS, ServerSettings


def link_base(request: Request, settings: ServerSettings) -> str:
    """The base of approval links in the reply to `request`."""
    if settings.base_url_set or settings.host not in WILDCARD_HOSTS:
        return settings.base_url
    host = request.headers.get("host", "")
    if names_this_server(host, settings.port):
        return f"{request.url.scheme}://{host}"
    return settings.base_url


def names_this_server(host_header: str, port: int) -> bool:
    """Whether a Host header (`name:port`, `[v6]:port`) names this machine on `port`."""
    name, sep, given = host_header.rpartition(":")
    if not sep or not given.isdigit() or int(given) != port or not name:
        return False
    name = name[1:-1] if name.startswith("[") and name.endswith("]") else name
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        lowered = name.lower().rstrip(".")
        own = {"localhost", socket.gethostname().lower(), socket.getfqdn().lower()}
        return lowered in own
    if address.is_unspecified or address.is_multicast:
        return False
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.bind((str(address), 0))  # succeeds only for an address of this machine
    except OSError:
        return False
    return True
