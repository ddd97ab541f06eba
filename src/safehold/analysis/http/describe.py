"""A request as the HTTP analyser normalised it, for `safehold explain`: method, URL without
credentials, header names (never values), and the GraphQL root fields a body would run."""

from __future__ import annotations

import json
from typing import Any

from safehold.analysis.http.request import from_input


def describe(value: Any) -> str:
    req = from_input(value)
    query = "&".join(k for k, _ in req.query)
    lines = [f"{req.method} {req.location()}" + (f"?{query}=…" if query else "")]
    if req.headers:
        lines.append("headers: " + ", ".join(name for name, _ in req.headers))
    lines.extend(f"problem: {p}" for p in req.problems)
    body = req.body_json if req.has_json else None
    if isinstance(body, dict) and isinstance(body.get("query"), str):
        from safehold.analysis.http.graphql_doc import analyse

        parsed = analyse(body["query"], body.get("variables"), body.get("operationName"))
        for f in parsed.fields:
            alias = f" (as {f.alias})" if f.alias else ""
            lines.append(f"graphql {f.operation} {f.name}{alias} {json.dumps(f.args, default=str)}")
        lines.extend(f"graphql problem: {p}" for p in parsed.problems)
    elif req.body_text:
        lines.append(f"body: {len(req.body_text)} characters")
    return "\n".join(lines)
