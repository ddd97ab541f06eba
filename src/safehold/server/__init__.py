"""`safehold serve`: the JSON API, the dashboard and the accounts that may use them."""

from safehold.server.app import create_app

__all__ = ["create_app"]
