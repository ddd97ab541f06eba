"""Provider credentials held by safehold: encrypted at rest, never shown, used only by the
gateway on an allowed request."""

from safehold.credentials.store import CredentialError, CredentialInfo, CredentialStore

__all__ = ["CredentialError", "CredentialInfo", "CredentialStore"]
