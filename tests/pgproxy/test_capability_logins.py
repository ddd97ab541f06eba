"""Agents log in with their capability (SCRAM-SHA-256, or in clear from loopback); the database
password comes from the credential store and never reaches the agent."""

from __future__ import annotations

import base64
import json
import os
import shutil
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import scramp
from capability_fixtures import StoredProxy, start_stored_proxy, stop, timedelta
from pgproxy_fixtures import UPSTREAM_PASSWORD, Wire

import pg
from safehold.pgproxy import protocol


@pytest.fixture
def stored(tmp_path: Path, scram_pg: pg.PostgresServer) -> Iterator[StoredProxy]:
    running = start_stored_proxy(tmp_path, scram_pg)
    try:
        yield running
    finally:
        stop(running)


def connected(running: StoredProxy) -> list[dict[str, object]]:
    out = []
    for e in running.audit("pgproxy.connected"):
        payload = json.loads(e.payload)
        payload["actor"] = e.actor
        out.append(payload)
    return out


def test_safehold_env_prints_a_scram_database_url_without_the_database_password(
    stored: StoredProxy,
) -> None:
    exported = stored.env("--agent", "claude", "--credential", "shop-db")
    url = exported["DATABASE_URL"]
    assert exported["DATABASE_URL_SHOP_DB"] == url
    assert url.startswith("postgresql://cap-") and f"@127.0.0.1:{stored.port}/" in url
    assert not any(UPSTREAM_PASSWORD in v for v in exported.values())
    # require_auth: the client itself refuses to go on unless the server asks for SCRAM
    with stored.connect(url, require_auth="scram-sha-256") as conn:
        assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (20,)
        conn.execute("UPDATE accounts SET balance = 1 WHERE id = 1")
    seen = connected(stored)
    assert seen[-1]["auth"] == "scram-sha-256"
    assert seen[-1]["actor"] == "capability/claude"


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql not installed")
def test_psql_logs_in_with_the_url_and_drop_is_still_held(stored: StoredProxy) -> None:
    url = stored.env("--agent", "claude", "--credential", "shop-db",
                     "--actions", "destructive")["DATABASE_URL"]
    run = subprocess.run(["psql", url, "-X", "-At", "-c", "SELECT count(*) FROM accounts"],
                         capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in os.environ.items() if not k.startswith("PG")})
    assert run.returncode == 0 and run.stdout.strip() == "20", run.stderr
    drop = subprocess.run(["psql", url, "-X", "-c", "DROP TABLE accounts"],
                          capture_output=True, text=True, timeout=60)
    assert drop.returncode != 0 and "approval" in drop.stderr
    assert connected(stored)[-1]["auth"] == "scram-sha-256"


def test_a_wrong_token_for_a_scram_login_is_refused_and_audited(stored: StoredProxy) -> None:
    cid, token = stored.issue()
    from safehold.pgproxy.logins import enrol

    login = enrol(stored.capabilities, cid, token)
    _, other = stored.issue("mallory")
    for wrong in (other, token + "x", UPSTREAM_PASSWORD):
        with pytest.raises(psycopg.OperationalError, match="SCRAM proof does not verify"):
            stored.connect(stored.dsn(login, wrong))
    failed = [json.loads(e.payload) for e in stored.audit("pgproxy.auth-failed")]
    assert len(failed) == 3 and all(f["user"] == login for f in failed)
    assert stored.audit("pgproxy.connected") == []


class RawScram(Wire):
    """A client speaking the startup and SASL messages by hand, to replay and forge them."""

    def __init__(self, port: int, user: str, database: str):
        super().__init__(port)
        self.sock.sendall(protocol.startup_message({"user": user, "database": database}))

    def send_first(self, first: str) -> str:
        kind, body = self.read()
        assert kind == b"R" and struct.unpack_from("!i", body)[0] == 10
        data = first.encode()
        self.sock.sendall(protocol.encode(
            b"p", b"SCRAM-SHA-256\x00" + struct.pack("!i", len(data)) + data))
        kind, body = self.read()
        assert kind == b"R" and struct.unpack_from("!i", body)[0] == 11
        return body[4:].decode()

    def send_final(self, final: str) -> tuple[bytes, bytes]:
        self.sock.sendall(protocol.encode(b"p", final.encode()))
        return self.read()


def test_replayed_and_forged_scram_proofs_are_refused(stored: StoredProxy) -> None:
    cid, token = stored.issue()
    from safehold.pgproxy.logins import enrol

    login = enrol(stored.capabilities, cid, token)
    # an honest exchange, recorded by someone on the wire
    honest = scramp.ScramClient(["SCRAM-SHA-256"], "agent", token)
    first = honest.get_client_first()
    raw = RawScram(stored.port, login, stored.database)
    honest.set_server_first(raw.send_first(first))
    final = honest.get_client_final()
    kind, body = raw.send_final(final)
    assert kind == b"R" and struct.unpack_from("!i", body)[0] == 12
    raw.close()
    # replay: same client-first and client-final on a new connection (new server nonce)
    replay = RawScram(stored.port, login, stored.database)
    replay.send_first(first)
    kind, body = replay.send_final(final)
    assert kind == b"E" and b"28P01" in body
    replay.close()
    # forged: someone holding the stored verifier row (StoredKey, ServerKey) but not the token
    from safehold.store.models import PgProxyLogin

    with stored.safehold.store.session() as s:
        row = s.get(PgProxyLogin, login)
        assert row is not None
        stored_key = bytes(row.stored_key)
    forger = RawScram(stored.port, login, stored.database)
    client_first_bare = "n=,r=forgednonce0123456789"
    server_first = forger.send_first("n,," + client_first_bare)
    nonce = dict(p.split("=", 1) for p in server_first.split(","))["r"]
    without_proof = f"c=biws,r={nonce}"
    import hashlib
    import hmac

    auth = f"{client_first_bare},{server_first},{without_proof}".encode()
    signature = hmac.new(stored_key, auth, "sha256").digest()
    proof = bytes(a ^ b for a, b in zip(stored_key, signature, strict=True))
    assert hashlib.sha256(stored_key).digest() != stored_key
    kind, body = forger.send_final(f"{without_proof},p={base64.b64encode(proof).decode()}")
    assert kind == b"E" and b"28P01" in body
    forger.close()
    assert len(stored.audit("pgproxy.auth-failed")) == 2


def test_revoked_expired_and_wrong_environment_capabilities_are_refused(
    stored: StoredProxy,
) -> None:
    from safehold.pgproxy.logins import enrol

    cid, token = stored.issue()
    login = enrol(stored.capabilities, cid, token)
    with stored.connect(stored.dsn(login, token)) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        stored.capabilities.revoke(cid)
        # the open session stops at its next statement
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="revoked"):
            conn.execute("SELECT 1")
    with pytest.raises(psycopg.OperationalError, match="revoked"):
        stored.connect(stored.dsn(login, token))
    # the same token in clear from loopback is verified in full and refused too
    with pytest.raises(psycopg.OperationalError, match="revoked"):
        stored.connect(stored.dsn("anyone", token))

    cid, token = stored.issue(ttl=timedelta(seconds=1))
    login = enrol(stored.capabilities, cid, token)
    time.sleep(2.1)  # let it expire; nothing is measured
    with pytest.raises(psycopg.OperationalError, match="expired"):
        stored.connect(stored.dsn(login, token))
    with pytest.raises(psycopg.OperationalError, match=r"expired|time"):
        stored.connect(stored.dsn("anyone", token))

    for credential, why in (("staging-db", "staging"), ("other-db", "does not cover")):
        cid, token = stored.issue(credential=credential)
        login = enrol(stored.capabilities, cid, token)
        with pytest.raises(psycopg.OperationalError, match=why):
            stored.connect(stored.dsn(login, token))
        with pytest.raises(psycopg.OperationalError, match=r"28P01|capabilit"):
            stored.connect(stored.dsn("anyone", token))


def test_a_read_only_capability_cannot_write_through_either_login(stored: StoredProxy) -> None:
    from safehold.pgproxy.logins import enrol

    cid, token = stored.issue(actions="read-only")
    login = enrol(stored.capabilities, cid, token)
    for user in (login, "agent-in-clear"):
        with stored.connect(stored.dsn(user, token)) as conn:
            assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (20,)
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="read"):
                conn.execute("UPDATE accounts SET balance = 0 WHERE id = %s", (2,))
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="read"):
                conn.execute("INSERT INTO accounts VALUES (99, 'x', 0)", prepare=True)
    with psycopg.connect(host="127.0.0.1", port=stored.upstream.port, user=pg.SUPERUSER,
                         dbname=stored.database, password=UPSTREAM_PASSWORD) as conn:
        assert conn.execute("SELECT balance FROM accounts WHERE id = 2").fetchone() == (100,)
        assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (20,)
    assert len(stored.audit("pgproxy.capability-refused")) == 4


def test_a_token_in_clear_is_never_asked_of_a_client_off_this_machine(
    tmp_path: Path, scram_pg: pg.PostgresServer,
) -> None:
    running = start_stored_proxy(tmp_path, scram_pg, cleartext_networks=())
    try:
        from safehold.server.accounts import Accounts

        api_token = Accounts(running.safehold.store).create_token("a1", "agent").secret
        _, cap = running.issue()
        for secret in (api_token, cap):
            raw = RawScram(running.port, "agent", running.database)
            kind, body = raw.read()  # the proxy's first answer: never AuthenticationCleartext
            assert kind == b"E" and b"SCRAM" in body, body
            raw.close()
            with pytest.raises(psycopg.OperationalError, match="in clear only"):
                running.connect(running.dsn("agent", secret))
        # the SCRAM login still works for that client
        url = running.env("--agent", "claude", "--credential", "shop-db")["DATABASE_URL"]
        with running.connect(url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        stop(running)


def test_the_upstream_password_is_read_from_the_store_at_each_connection(
    stored: StoredProxy,
) -> None:
    url = stored.env("--agent", "claude", "--credential", "shop-db")["DATABASE_URL"]
    stored.credentials.rotate("shop-db", "not-the-password")
    with pytest.raises(psycopg.OperationalError, match="could not open the database"):
        stored.connect(url)
    stored.credentials.rotate("shop-db", UPSTREAM_PASSWORD)
    with stored.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert len(stored.audit("pgproxy.upstream-failed")) == 1
