"""A PostgreSQL wire-protocol proxy: the agent connects to safehold, never to the database.

protocol.py (framing), auth.py (token in, real credential out), upstream.py (the database
connection), judge.py (statements on the one decision path), session.py (one client's relay),
listener.py (the socket). See docs/pg-proxy.md.
"""
