"""Capability tokens for agents: signed, scoped, short-lived, attenuable, revocable."""

from safehold.capabilities.tokens import (
    ACTION_LEVELS,
    Grant,
    Request,
    attenuate,
    inspect,
)

__all__ = ["ACTION_LEVELS", "Grant", "Request", "attenuate", "inspect"]
