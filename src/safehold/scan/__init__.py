"""Stray secrets: provider credentials lying in a workspace, found by their content."""
