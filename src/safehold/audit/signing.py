"""The Ed25519 key that signs audit checkpoints, kept in a file only the server's user reads.

The private key never enters the database: whoever can rewrite the database (and recompute
every hash with `AuditEntry.computed_hash`) still cannot sign a checkpoint for the rewritten
chain. The public key is written beside it (`….pub`) so a verifier needs no secret; it is 0600
too, since in the system deployment only the server's user (or root) verifies. A private key
file readable by group or others is refused, as ssh refuses such a key: a signature from a key
the agent could read proves nothing.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from safehold.errors import AuditError
from safehold.owner_only import FILE_MODE, private_dir, readable_by_others


def key_id(public: Ed25519PublicKey) -> str:
    """A short fingerprint naming the key a checkpoint was signed with."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_path(private_path: str | os.PathLike[str]) -> Path:
    return Path(f"{private_path}.pub")


@dataclass(frozen=True, slots=True)
class Verifier:
    """A public key that checks checkpoint signatures."""

    public: Ed25519PublicKey

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def valid(self, message: bytes, signature_b64: str) -> bool:
        try:
            self.public.verify(base64.b64decode(signature_b64, validate=True), message)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True, slots=True)
class Signer:
    private: Ed25519PrivateKey

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.private.public_key())

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.private.sign(message)).decode("ascii")


def load_or_create_signer(path: str | os.PathLike[str]) -> Signer:
    """The key in `path`; created (0600, in a 0700 directory) with its `.pub` on first use."""
    p = Path(path)
    if not p.exists():
        _create(p)
    if readable_by_others(p):
        raise AuditError(
            f"{p}: the checkpoint signing key is readable by other users; "
            f"run `chmod 600 {p}` (and keep its directory 0700)"
        )
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise AuditError(f"cannot read the checkpoint signing key {p}: {exc.strerror}") from exc
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except ValueError as exc:
        raise AuditError(f"{p}: not a PEM private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditError(f"{p}: the checkpoint signing key must be an Ed25519 key")
    pub = public_path(p)
    if not pub.exists():
        _write_public(pub, key.public_key())
    return Signer(key)


def load_verifier(private_path: str | os.PathLike[str]) -> Verifier | None:
    """The public key beside `private_path`, or None when no key was ever made there."""
    pub = public_path(private_path)
    try:
        data = pub.read_bytes()
    except FileNotFoundError:
        if Path(private_path).exists():
            return load_or_create_signer(private_path).verifier
        return None
    except OSError as exc:
        raise AuditError(f"cannot read the checkpoint public key {pub}: {exc.strerror}") from exc
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise AuditError(f"{pub}: not a PEM public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise AuditError(f"{pub}: the checkpoint public key must be an Ed25519 key")
    return Verifier(key)


def _create(p: Path) -> None:
    private_dir(p.parent, dedicated=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return  # another process made it first; use theirs
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())
    _write_public(public_path(p), key.public_key())


def _write_public(pub: Path, key: Ed25519PublicKey) -> None:
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    tmp = pub.with_name(pub.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    os.replace(tmp, pub)
