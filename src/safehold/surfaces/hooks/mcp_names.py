"""Which MCP server and tool a flat tool name stands for, when the agent sends only the name.

Gemini CLI names MCP tools `mcp_<server>_<tool>` and Copilot CLI `<server>-<tool>`; server and
tool names may themselves hold the separator (`my_db`, `github-mcp-server`), so the name alone
can often be read several ways, and a misread server loses the catalog entries and policies
written for the real one. A reading is therefore taken only when it is the single one the name
allows, or the single one naming a server configured in the agent's own settings; otherwise the
call is refused with the readings, never judged as a weaker guess.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping

from safehold.surfaces.hooks.protocol import HookInputError

#: servers an agent provides without any configuration (Copilot CLI's GitHub server)
BUILT_IN: dict[str, frozenset[str]] = {"copilot": frozenset({"github-mcp-server"})}


def split(rest: str, separator: str, known: Iterable[str], shown: str) -> tuple[str, str]:
    """(server, tool) for `rest` (the name without any agent prefix)."""
    splits = [
        (rest[:i], rest[i + len(separator):])
        for i in range(len(rest))
        if rest.startswith(separator, i) and 0 < i < len(rest) - len(separator)
    ]
    configured = set(known)
    matching = [s for s in splits if s[0] in configured]
    if len(matching) == 1:
        return matching[0]
    if len(splits) == 1 and not matching:
        return splits[0]
    readings = ", ".join(f"server {s!r} tool {t!r}" for s, t in (matching or splits)) or "none"
    raise HookInputError(
        f"the MCP tool name {shown!r} does not say which server it belongs to (it reads as "
        f"{readings}); safehold refuses rather than judge it against the wrong server. Name "
        "the server in the agent's MCP settings, or use a server name without "
        f"{separator!r}"
    )


def configured_servers(agent: str, environ: Mapping[str, str], cwd: str | None) -> set[str]:
    """Server names from the agent's own MCP settings (user and project), plus built-ins."""
    home = environ.get("HOME") or os.path.expanduser("~")
    if agent == "gemini":
        files = [os.path.join(home, ".gemini", "settings.json")]
        project = environ.get("GEMINI_PROJECT_DIR") or cwd
        if project:
            files.append(os.path.join(project, ".gemini", "settings.json"))
    elif agent == "copilot":
        base = environ.get("COPILOT_HOME") or os.path.join(home, ".copilot")
        files = [os.path.join(base, "mcp-config.json")]
    else:
        files = []
    names = set(BUILT_IN.get(agent, ()))
    for path in files:
        try:
            with open(path, encoding="utf-8") as fh:
                doc = json.load(fh)
        except (OSError, ValueError):
            continue
        servers = doc.get("mcpServers") if isinstance(doc, dict) else None
        if isinstance(servers, dict):
            names.update(k for k in servers if isinstance(k, str))
    return names
