"""Errors safehold raises, in one place.

SafeholdError
├── AnalysisError      an analyser could not finish (the caller turns it into an "unknown" fact)
├── CatalogError       a catalog data file is malformed (names the file and entry)
├── PolicyError        a policy file does not parse or validate (names the file and line)
├── ConfigError        a configuration file is malformed or inconsistent
├── StoreError         the database cannot be opened, migrated or written
├── AuditError         an audit record cannot be written or read
├── ApprovalError      an approval request or vote is refused (NotFound, SelfApproval, …)
├── DelayError         a delayed action cannot be held, cancelled or run
├── SnapshotError      a snapshot cannot be taken, stored, verified or restored
├── KeyFileError       a key file or the key directory is missing, unsafe or unreadable
├── CredentialError    a stored provider credential cannot be added, found or decrypted
└── CapabilityError    a capability token is malformed, forged, expired, revoked or too narrow

Third-party errors are converted at the boundary (`raise PolicyError(...) from exc`); only the
CLI turns an error into an exit status.
"""

from __future__ import annotations


class SafeholdError(Exception):
    """Base class of every error safehold raises on purpose."""


class AnalysisError(SafeholdError):
    pass


class CatalogError(SafeholdError):
    pass


class PolicyError(SafeholdError):
    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        where = path or "<policy>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
        self.detail = message


class ConfigError(SafeholdError):
    pass


class StoreError(SafeholdError):
    pass


class AuditError(SafeholdError):
    pass


class ApprovalError(SafeholdError):
    pass


class ApprovalNotFound(ApprovalError):
    pass


class SelfApprovalError(ApprovalError):
    pass


class ApprovalClosed(ApprovalError):
    """A vote on a request that is no longer pending (decided, expired or used)."""


class DelayError(SafeholdError):
    pass


class DelayNotFound(DelayError):
    pass


class SnapshotError(SafeholdError):
    """A snapshot could not be taken, stored, verified or restored.

    SnapshotError
    ├── NoDriver           no snapshot driver covers a target (so the action is not released)
    ├── SnapshotStoreError a store refused or failed a write or read (same device, full disk…)
    ├── SnapshotNotFound   no snapshot by that id in the store
    └── CorruptSnapshot    a part is missing or its checksum differs: nothing is restored
    """


class NoDriver(SnapshotError):
    pass


class SnapshotStoreError(SnapshotError):
    pass


class SnapshotNotFound(SnapshotError):
    pass


class CorruptSnapshot(SnapshotError):
    pass
class KeyFileError(SafeholdError):
    pass


class CredentialError(SafeholdError):
    pass


class CapabilityError(SafeholdError):
    """`reason` is what the gateway tells the agent; it never contains the token."""
