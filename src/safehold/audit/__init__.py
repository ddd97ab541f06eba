"""The tamper-evident audit log: hash-chained records, verification, export, redaction."""

from safehold.audit.log import (
    AuditEntry,
    AuditLog,
    VerifyResult,
    canonical_json,
    entries_from_export,
    verify_entries,
)
from safehold.audit.recorder import decision_payload, record_decision, recorder_for
from safehold.audit.redact import redact, redact_text

__all__ = [
    "AuditEntry",
    "AuditLog",
    "VerifyResult",
    "canonical_json",
    "decision_payload",
    "entries_from_export",
    "record_decision",
    "recorder_for",
    "redact",
    "redact_text",
    "verify_entries",
]
