"""A small real MCP server for the proxy tests: notes kept in a JSON file.

Run `python notes_server.py STORE.json` for stdio, or add `--http PORT` for streamable HTTP.
Every call that reaches it is appended to STORE.json's `calls`, so a test can prove a refused
call never arrived.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mcp.server.mcpserver import MCPServer

STORE = Path(sys.argv[1])
server = MCPServer("notes")


def _load() -> dict:
    if STORE.exists():
        return json.loads(STORE.read_text())
    return {"notes": {"welcome": "hello"}, "calls": []}


def _save(data: dict, call: str) -> None:
    data["calls"].append(call)
    STORE.write_text(json.dumps(data))


@server.tool()
def read_note(name: str) -> str:
    """Read one note."""
    data = _load()
    _save(data, f"read_note:{name}")
    return data["notes"].get(name, "")


@server.tool()
def list_notes() -> list[str]:
    """List note names."""
    data = _load()
    _save(data, "list_notes")
    return sorted(data["notes"])


@server.tool()
def delete_all_notes() -> str:
    """Delete every note."""
    data = _load()
    data["notes"] = {}
    _save(data, "delete_all_notes")
    return "deleted"


if __name__ == "__main__":
    if "--http" in sys.argv:
        port = int(sys.argv[sys.argv.index("--http") + 1])
        server.run("streamable-http", host="127.0.0.1", port=port)
    else:
        server.run()
