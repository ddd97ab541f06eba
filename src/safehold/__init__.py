"""safehold: a policy boundary between AI agents and production infrastructure."""

__version__ = "0.1.0"
