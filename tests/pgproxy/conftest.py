"""Fixtures for the proxy tests live in pgproxy_fixtures, which the tests also import."""

from pgproxy_fixtures import proxy, scram_pg

__all__ = ["proxy", "scram_pg"]
