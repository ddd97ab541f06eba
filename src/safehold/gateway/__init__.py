"""The provider gateway: the boundary that holds the credentials.

An agent calls `/gateway/{credential}/{path}` with its capability; the gateway decides the exact
request on the one decision path and, only when allowed, sends it upstream with the real
credential. See docs/gateway.md.
"""
