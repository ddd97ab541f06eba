"""A PostgreSQL wire-protocol proxy: the agent connects to safehold, never to the database.

protocol.py (framing), auth.py (tokens and the SCRAM server in, the real credential out),
logins.py (capabilities as logins), handshake.py (startup, TLS, login), upstream.py (the
database connection), judge.py (statements on the one decision path), prepared.py (what an
Execute runs), session.py (one client's relay), listener.py (the socket), settings.py and
assemble.py (proxies from safehold.toml and the credential store). See docs/pg-proxy.md.
"""
