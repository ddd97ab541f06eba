"""Putting safehold's hook into agents' configuration files, taking it out, and checking it."""
