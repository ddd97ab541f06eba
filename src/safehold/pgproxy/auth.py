"""Both authentications the proxy takes part in.

Towards the client the proxy is the server. A login name with a SCRAM verifier (a capability
enrolled by `safehold env`, see logins.py) is checked with SCRAM-SHA-256: the token never
crosses the socket. Any other login sends its token (`shk_` API token or `shc_` capability)
with AuthenticationCleartextPassword, which the proxy asks for only from a loopback client;
a bearer token safehold stores only as its SHA-256 cannot be checked with SCRAM.

Towards the database the proxy is the client and answers whatever the server asks: trust,
cleartext, MD5 or SCRAM-SHA-256 (RFC 5802/7677), with the real credential the agent never sees.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from safehold.model import Effect
from safehold.pgproxy.errors import AuthenticationFailed, UpstreamError

AUTH_OK = 0
AUTH_CLEARTEXT = 3
AUTH_MD5 = 5
AUTH_SASL = 10
AUTH_SASL_CONTINUE = 11
AUTH_SASL_FINAL = 12


#: Asked before each statement with its effect: None when the client's credential still
#: allows it, else why not (a capability expired, was revoked, or grants less).
Permit = Callable[[Effect], str | None]


@dataclass(frozen=True, slots=True)
class Client:
    """Who a verified token stands for: `identity` is what approvals and the audit record."""

    identity: str
    name: str
    permit: Permit | None = field(default=None, compare=False)


#: Takes the password a client sent; the client it proves, or None. May raise
#: AuthenticationFailed to say why a recognised token is refused (expired, revoked, …).
TokenVerifier = Callable[[str], Client | None]


@dataclass(frozen=True, slots=True)
class ScramLogin:
    """What the server side of SCRAM needs for one login, and what it admits once the proof
    verified: `admit` re-checks the credential behind it (expiry, revocation, environment)
    and raises AuthenticationFailed when it no longer holds."""

    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes
    admit: Callable[[], Client]


#: The SCRAM login for a startup user name, or None when that name has none.
ScramLookup = Callable[[str], ScramLogin | None]


def no_scram_logins(_user: str) -> ScramLogin | None:
    return None


def any_verifier(*verifiers: TokenVerifier) -> TokenVerifier:
    """The first verifier that recognises the secret decides."""

    def verify(secret: str) -> Client | None:
        for one in verifiers:
            client = one(secret)
            if client is not None:
                return client
        return None

    return verify


def store_token_verifier(store: object) -> TokenVerifier:
    """API tokens (`shk_…`) from the store, verified as the server's API verifies them."""
    from safehold.server.accounts import TOKEN_PREFIX, Accounts

    accounts = Accounts(store)  # type: ignore[arg-type]

    def verify(secret: str) -> Client | None:
        if not secret.strip().startswith(TOKEN_PREFIX):
            return None
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


class ScramServer:
    """The server side of SCRAM-SHA-256 (RFC 5802/7677) as PostgreSQL runs it: the user name
    comes from the startup packet, so the client sends an empty `n=`; no channel binding is
    offered. (scramp's server refuses that empty name, so the exchange is written here and
    tested against scramp's client.) Every malformed or wrong message raises
    AuthenticationFailed; nothing about the verifier is revealed before the proof checks."""

    def __init__(self, login: ScramLogin):
        self.login = login
        self.gs2_header = ""
        self.first_bare = ""
        self.server_first = ""
        self.nonce = ""

    def first(self, client_first: str) -> str:
        """The server-first message answering `client_first`."""
        flag, sep, rest = client_first.partition(",")
        authzid, sep2, bare = rest.partition(",")
        if not sep or not sep2 or flag not in ("n", "y") or authzid:
            raise _scram_refused("channel binding or an authorization identity was requested")
        attrs = _ordered(bare)
        if [k for k, _ in attrs[:2]] != ["n", "r"] or not attrs[1][1] or any(
            k == "m" for k, _ in attrs
        ):
            raise _scram_refused("the client-first message is malformed")
        client_nonce = attrs[1][1]
        if not all(0x21 <= ord(c) <= 0x7E and c != "," for c in client_nonce):
            raise _scram_refused("the client nonce is not printable")
        self.gs2_header = f"{flag},,"
        self.first_bare = bare
        self.nonce = client_nonce + base64.b64encode(secrets.token_bytes(18)).decode()
        salt = base64.b64encode(self.login.salt).decode()
        self.server_first = f"r={self.nonce},s={salt},i={self.login.iterations}"
        return self.server_first

    def final(self, client_final: str) -> str:
        """The server-final message, once the client's proof verified."""
        without_proof, sep, proof_b64 = client_final.rpartition(",p=")
        pairs = _ordered(without_proof) if sep else []
        attrs = dict(pairs)
        if [k for k, _ in pairs[:2]] != ["c", "r"]:
            raise _scram_refused("the client-final message is malformed")
        binding = base64.b64encode(self.gs2_header.encode()).decode()
        if not hmac.compare_digest(attrs["c"], binding):
            raise _scram_refused("the channel binding does not match")
        if not hmac.compare_digest(attrs["r"].encode(), self.nonce.encode()):
            raise _scram_refused("the nonce is not this exchange's")
        try:
            proof = base64.b64decode(proof_b64, validate=True)
        except ValueError:
            raise _scram_refused("the proof is not base64") from None
        auth_message = f"{self.first_bare},{self.server_first},{without_proof}".encode()
        signature = hmac.new(self.login.stored_key, auth_message, "sha256").digest()
        if len(proof) != len(signature):
            raise _scram_refused("the proof has the wrong length")
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        if not hmac.compare_digest(hashlib.sha256(client_key).digest(), self.login.stored_key):
            raise _scram_refused("the proof does not verify")
        server_signature = hmac.new(self.login.server_key, auth_message, "sha256").digest()
        return "v=" + base64.b64encode(server_signature).decode()


def _scram_refused(why: str) -> AuthenticationFailed:
    return AuthenticationFailed(
        f"password authentication failed: the SCRAM proof does not verify (wrong token, or a "
        f"replayed or altered exchange: {why})")


def _ordered(text: str) -> list[tuple[str, str]]:
    out = []
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or len(key) != 1:
            raise _scram_refused("an attribute is malformed")
        out.append((key, value))
    return out
