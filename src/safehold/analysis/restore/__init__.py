"""Restores of safehold's own snapshots, as actions the policy decides."""
