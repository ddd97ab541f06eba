"""The credential store and the key directory: encrypted at rest, keys out of the database."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from gateway_helpers import RAILWAY_TOKEN

from safehold.audit import AuditLog
from safehold.capabilities.registry import Capabilities
from safehold.credentials.keys import ensure_dir, load_or_create, random_key
from safehold.credentials.store import CredentialStore
from safehold.errors import CapabilityError, CredentialError, KeyFileError
from safehold.store import Store
from safehold.store.models import Credential


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    return tmp_path / "server" / "keys"


def test_values_are_sealed_and_only_secret_opens_them(store: Store, keys: Path) -> None:
    audit = AuditLog(store)
    creds = CredentialStore.open(store, audit, keys, actor="test")
    creds.add("rw", "railway", "production", RAILWAY_TOKEN + "\n")
    with store.session() as s:
        row = s.get(Credential, "rw")
        assert row is not None and RAILWAY_TOKEN.encode() not in row.ciphertext
    assert creds.secret("rw")[1] == RAILWAY_TOKEN
    listed = creds.list()
    assert [c.name for c in listed] == ["rw"] and listed[0].upstream.startswith("https://")
    assert RAILWAY_TOKEN not in repr(listed)
    creds.rotate("rw", "rw-new-value-0123456789")
    assert creds.secret("rw")[1] == "rw-new-value-0123456789"
    creds.remove("rw")
    with pytest.raises(CredentialError):
        creds.secret("rw")
    types = [r.type for r in audit.tail(10) if r.type.startswith("credential.")]
    assert types == ["credential.added", "credential.rotated", "credential.removed"]
    assert all(RAILWAY_TOKEN not in str(r.data) for r in audit.tail(10))


def test_key_files_are_private_and_a_readable_one_is_refused(keys: Path) -> None:
    load_or_create(keys / "credentials.key", random_key(32))
    assert oct(keys.stat().st_mode & 0o777) == "0o700"
    assert oct((keys / "credentials.key").stat().st_mode & 0o777) == "0o600"
    os.chmod(keys / "credentials.key", 0o644)
    with pytest.raises(KeyFileError, match="readable by other users"):
        load_or_create(keys / "credentials.key", random_key(32))
    os.chmod(keys, 0o755)
    with pytest.raises(KeyFileError, match="accessible to other users"):
        ensure_dir(keys)


def test_a_ciphertext_moved_to_another_name_does_not_open(store: Store, keys: Path) -> None:
    creds = CredentialStore.open(store, None, keys)
    creds.add("a", "railway", "production", "secret-a-0123456789")
    creds.add("b", "railway", "staging", "secret-b-0123456789")
    with store.write() as s:
        a, b = s.get(Credential, "a"), s.get(Credential, "b")
        assert a is not None and b is not None
        b.ciphertext = a.ciphertext
    with pytest.raises(CredentialError, match="does not open"):
        creds.secret("b")


def test_another_servers_key_does_not_open_the_store(store: Store, tmp_path: Path) -> None:
    CredentialStore.open(store, None, tmp_path / "k1").add("a", "railway", "production", "v" * 20)
    with pytest.raises(CredentialError, match="does not open"):
        CredentialStore.open(store, None, tmp_path / "k2").secret("a")


@pytest.mark.parametrize("value", ["", "   \n", "two\nlines", "x" * 20000])
def test_bad_values_are_refused(store: Store, keys: Path, value: str) -> None:
    with pytest.raises(CredentialError):
        CredentialStore.open(store, None, keys).add("rw", "railway", "production", value)


def test_unknown_provider_needs_an_upstream(store: Store, keys: Path) -> None:
    creds = CredentialStore.open(store, None, keys)
    with pytest.raises(CredentialError, match="no default upstream"):
        creds.add("x", "acme", "production", "value-0123456789")
    assert creds.add("x", "acme", "production", "value-0123456789",
                     "https://api.acme.test/").upstream == "https://api.acme.test"


def test_capabilities_cover_credentials_of_one_environment(store: Store, keys: Path) -> None:
    creds = CredentialStore.open(store, None, keys)
    creds.add("p", "railway", "production", "value-0123456789")
    creds.add("s", "railway", "staging", "value-0123456789")
    caps = Capabilities.open(store, None, keys)
    with pytest.raises(CapabilityError, match="several environments"):
        caps.issue("claude", credentials=["p", "s"])
    with pytest.raises(CapabilityError, match="reaches 'production', not 'staging'"):
        caps.issue("claude", credentials=["p"], environment="staging")
    with pytest.raises(CredentialError, match="no credential"):
        caps.issue("claude", credentials=["nope"])
    issued, token = caps.issue("claude", credentials=["p"])
    assert issued.environment == "production" and token.startswith("shc_")
    assert [c.id for c in caps.list()] == [issued.id]
    assert caps.revoke("claude") == [issued.revocation_id]
    assert caps.list()[0].revoked and caps.revoked([issued.revocation_id])
