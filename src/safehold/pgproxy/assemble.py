"""Build a proxy from what safehold stores: the database credential and who may log in.

`safehold pg-proxy --credential NAME` and `safehold serve` (for each `[[pgproxy]]` table of
safehold.toml) both come here. The database's address, login user and environment come from a
`postgresql` credential in the credential store, and its password is read from the store each
time the proxy opens a connection (so a rotation takes effect on the next one). Clients log in
with an API token or a capability for that credential (logins.py).
"""

from __future__ import annotations

from typing import Any

from safehold.pgproxy.auth import ScramLookup, TokenVerifier, any_verifier, store_token_verifier
from safehold.pgproxy.errors import PgProxyError
from safehold.pgproxy.listener import PgProxy, ProxySettings
from safehold.pgproxy.settings import ProxyDeclaration
from safehold.pgproxy.upstream import UpstreamTarget


def stored_target(credentials: Any, name: str) -> tuple[UpstreamTarget, str]:
    """The upstream of `postgresql` credential `name` and its environment; the password is
    opened from the store at each connection, never kept by the proxy."""
    from safehold.credentials.store import DATABASE_PROVIDER

    info = credentials.get(name)
    if info.provider != DATABASE_PROVIDER:
        raise PgProxyError(f"credential {name!r} is a {info.provider} credential, not a "
                           f"{DATABASE_PROVIDER} one")

    def password() -> str:
        _, secret = credentials.secret(name)
        credentials.mark_used(name)
        return str(secret)

    return UpstreamTarget.from_url(info.upstream, password), info.environment


def logins(store: Any, capabilities: Any | None, credential: str | None,
           environment: str) -> tuple[TokenVerifier, ScramLookup | None]:
    """API tokens always; capabilities for `credential` when the proxy serves a stored one."""
    tokens = store_token_verifier(store)
    if capabilities is None or credential is None:
        return tokens, None
    from safehold.pgproxy.logins import CapabilityLogins, Database

    caps = CapabilityLogins(capabilities, Database(credential, environment))
    return any_verifier(caps.verify, tokens), caps.scram


def stored_proxy(sh: Any, config: Any, declaration: ProxyDeclaration) -> PgProxy:
    """The proxy `declaration` describes, on the server's store, keys and policy."""
    from safehold.audit import AuditLog
    from safehold.capabilities.registry import Capabilities
    from safehold.credentials.keys import key_dir_for
    from safehold.credentials.store import CredentialStore

    keys = key_dir_for(config)
    audit: AuditLog = sh.audit
    creds = CredentialStore.open(sh.store, audit, keys, actor="pgproxy")
    caps = Capabilities.open(sh.store, audit, keys, actor="pgproxy")
    target, environment = stored_target(creds, declaration.credential)
    verify, scram = logins(sh.store, caps, declaration.credential, environment)
    host, port = declaration.host_port
    settings = ProxySettings(host, port, environment, declaration.max_statement_bytes,
                             hold_seconds=declaration.hold_seconds,
                             tls_cert=declaration.tls_cert, tls_key=declaration.tls_key)
    return PgProxy(settings, target, sh, verify, scram)


class BackgroundProxies:
    """Proxies on an event loop thread of their own, beside a server that owns the main
    thread (`safehold serve` runs uvicorn there)."""

    def __init__(self, proxies: list[PgProxy]):
        import asyncio
        import threading

        self.proxies = proxies
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="pgproxy",
                                       daemon=True)

    def start(self, timeout: float = 30.0) -> list[int]:
        """Listen on every proxy's address; the bound ports. Raises when one cannot listen."""
        import asyncio

        self.thread.start()
        ports = []
        try:
            for proxy in self.proxies:
                ports.append(asyncio.run_coroutine_threadsafe(
                    proxy.start(), self.loop).result(timeout))
        except BaseException:
            self.stop()
            raise
        return ports

    def stop(self, timeout: float = 30.0) -> None:
        import asyncio

        if not self.thread.is_alive():
            return
        for proxy in self.proxies:
            try:
                asyncio.run_coroutine_threadsafe(proxy.close(), self.loop).result(timeout)
            except Exception:  # closing is best effort; the process is ending
                continue
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout)
