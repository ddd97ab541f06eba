"""The statements of an SQL text as the parser splits and names them, for `safehold explain`."""

from __future__ import annotations

from safehold.analysis.sql.analyzer import ALIASES, POSTGRES_NAMES


def describe(text: str, dialect: str) -> str:
    dialect = ALIASES.get(dialect, dialect)
    lines: list[str] = []
    try:
        if dialect in POSTGRES_NAMES:
            from safehold.analysis.sql.pg_native import parse_json

            raw = text.encode("utf-8")
            for i, stmt in enumerate(parse_json(text).get("stmts", []), start=1):
                start = stmt.get("stmt_location", 0)
                length = stmt.get("stmt_len") or len(raw) - start
                node = next(iter(stmt.get("stmt", {})), "?")
                body = raw[start:start + length].decode("utf-8", "replace").strip()
                lines.append(f"{i}. {node}: {body}")
            return "\n".join(lines) or "(no statements)"
        import sqlglot

        for i, expr in enumerate(sqlglot.parse(text, read=dialect), start=1):
            if expr is not None:
                lines.append(f"{i}. {expr.key}: {expr.sql(dialect=dialect)}")
        return f"({dialect})\n" + ("\n".join(lines) or "(no statements)")
    except Exception as exc:  # explain reports a parse failure, it does not crash on one
        return f"does not parse as {dialect} SQL: {exc}"
