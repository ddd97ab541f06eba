"""Both authentications the proxy takes part in.

Towards the client the proxy is the server: the client's password is a safehold agent token,
checked by the token verification the server's API uses. The token is asked for with
AuthenticationCleartextPassword because it is a bearer secret stored only as its SHA-256:
SCRAM would need a verifier derived from the token itself, which safehold never keeps. The
listener therefore binds loopback only (docs/pg-proxy.md).

Towards the database the proxy is the client and answers whatever the server asks: trust,
cleartext, MD5 or SCRAM-SHA-256 (RFC 5802/7677), with the real credential the agent never sees.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from safehold.pgproxy.errors import UpstreamError

AUTH_OK = 0
AUTH_CLEARTEXT = 3
AUTH_MD5 = 5
AUTH_SASL = 10
AUTH_SASL_CONTINUE = 11
AUTH_SASL_FINAL = 12


@dataclass(frozen=True, slots=True)
class Client:
    """Who a verified token stands for: `identity` is what approvals and the audit record."""

    identity: str
    name: str


#: Takes the password a client sent; the client it proves, or None.
TokenVerifier = Callable[[str], Client | None]


def store_token_verifier(store: object) -> TokenVerifier:
    """API tokens (`shk_…`) from the store, verified as the server's API verifies them."""
    from safehold.server.accounts import Accounts

    accounts = Accounts(store)  # type: ignore[arg-type]

    def verify(secret: str) -> Client | None:
        principal = accounts.token_principal(secret.strip())
        if principal is None:
            return None
        return Client(identity=principal.identity, name=principal.name)

    return verify


def md5_password(user: str, password: str, salt: bytes) -> bytes:
    inner = hashlib.md5((password + user).encode()).hexdigest()
    return b"md5" + hashlib.md5(inner.encode() + salt).hexdigest().encode() + b"\x00"


class ScramClient:
    """The client side of SCRAM-SHA-256 without channel binding."""

    mechanism = "SCRAM-SHA-256"

    def __init__(self, password: str):
        self.password = password
        self.nonce = base64.b64encode(secrets.token_bytes(18)).decode()
        self.first_bare = f"n=,r={self.nonce}"
        self._server_signature = b""

    def first(self) -> bytes:
        return ("n,," + self.first_bare).encode()

    def final(self, server_first: bytes) -> bytes:
        attrs = _attributes(server_first.decode())
        nonce, salt, iterations = attrs.get("r", ""), attrs.get("s", ""), attrs.get("i", "")
        if not nonce.startswith(self.nonce) or not salt or not iterations.isdigit():
            raise UpstreamError("the database sent a malformed SCRAM challenge")
        salted = hashlib.pbkdf2_hmac(
            "sha256", self.password.encode(), base64.b64decode(salt), int(iterations)
        )
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = f"c=biws,r={nonce}"
        auth_message = f"{self.first_bare},{server_first.decode()},{without_proof}".encode()
        signature = hmac.new(stored_key, auth_message, "sha256").digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        server_key = hmac.new(salted, b"Server Key", "sha256").digest()
        self._server_signature = hmac.new(server_key, auth_message, "sha256").digest()
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify(self, server_final: bytes) -> None:
        attrs = _attributes(server_final.decode())
        got = base64.b64decode(attrs.get("v", ""))
        if not hmac.compare_digest(got, self._server_signature):
            raise UpstreamError("the database's SCRAM signature does not verify")


def _attributes(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if sep:
            out[key] = value
    return out
