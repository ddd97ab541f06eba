"""TLS towards clients: sslmode=require works, and a token in clear from a client that is not
trusted for it needs TLS."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import socket
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pgproxy_fixtures import Running, start_proxy

import pg
from safehold.pgproxy import protocol


def self_signed(directory: Path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "proxy.crt", directory / "proxy.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(key_path, 0o600)
    return str(cert_path), str(key_path)


@pytest.fixture
def tls_proxy(tmp_path: Path, scram_pg: pg.PostgresServer) -> Iterator[Running]:
    cert, key = self_signed(tmp_path)
    # no client is trusted to send a token in clear without TLS (as one off this machine)
    running, runner = start_proxy(tmp_path, scram_pg, tls_cert=cert, tls_key=key,
                                  cleartext_networks=())
    try:
        yield running
    finally:
        runner.stop()
        running.safehold.close()


def test_sslmode_require_carries_the_token_and_plain_is_refused(tls_proxy: Running) -> None:
    with psycopg.connect(tls_proxy.dsn(sslmode="require"), autocommit=True) as conn:
        assert conn.pgconn.ssl_in_use
        assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (50,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DROP TABLE accounts")
    with pytest.raises(psycopg.OperationalError, match="over TLS"):
        psycopg.connect(tls_proxy.dsn(sslmode="disable"))
    connected = [json.loads(e.payload) for e in tls_proxy.audit("pgproxy.connected")]
    assert [c["tls"] for c in connected] == [True]


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql not installed")
def test_psql_with_sslmode_require(tls_proxy: Running) -> None:
    env = {**os.environ, "PGPASSWORD": tls_proxy.token, "PGSSLMODE": "require"}
    run = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(tls_proxy.port), "-U", "agent", "-d",
         tls_proxy.database, "-X", "-At", "-c", "SELECT count(*) FROM accounts"],
        capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 0 and run.stdout.strip() == "50", run.stderr


def test_bytes_sent_before_the_handshake_are_not_taken_as_inside_tls(tls_proxy: Running) -> None:
    """A man in the middle appending a startup packet to the client's SSLRequest must not get
    it read as if it came over TLS."""
    sock = socket.create_connection(("127.0.0.1", tls_proxy.port), timeout=20)
    startup = protocol.startup_message({"user": "agent", "database": tls_proxy.database})
    sock.sendall(struct.pack("!ii", 8, protocol.SSL_REQUEST) + startup)
    got = b""
    try:
        while chunk := sock.recv(100):
            got += chunk
    except ConnectionError:
        pass
    sock.close()
    assert got == b""
    assert tls_proxy.audit("pgproxy.connected") == []
