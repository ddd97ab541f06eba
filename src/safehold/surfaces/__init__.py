"""Surfaces: the thin adapters through which agents' actions reach the one decision path.

Each surface speaks one outside protocol (an agent's hook JSON, MCP, HTTP), builds an `Action`,
asks `Guard.decide`, and answers in that protocol. None of them analyses or applies policy.
"""
