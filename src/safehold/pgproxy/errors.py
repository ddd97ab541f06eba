"""Errors of the PostgreSQL proxy.

    SafeholdError
      PgProxyError            anything the proxy cannot do; the client gets an ErrorResponse
        ProtocolError         a client or server broke the wire protocol; the connection closes
        UpstreamError         the database cannot be reached or refused the proxy's credential
        AuthenticationFailed  the client's token is missing, unknown or revoked
"""

from __future__ import annotations

from safehold.errors import SafeholdError


class PgProxyError(SafeholdError):
    """Something the proxy cannot do; the message is shown to the client."""


class ProtocolError(PgProxyError):
    """A peer broke the wire protocol."""


class UpstreamError(PgProxyError):
    """The upstream database is unreachable or refused the proxy."""


class AuthenticationFailed(PgProxyError):
    """The client did not present a token safehold accepts."""
