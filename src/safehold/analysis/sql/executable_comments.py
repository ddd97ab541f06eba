"""MySQL and MariaDB run the text of `/*! … */` comments (and `/*!50700 … */`, `/*M! … */`)
as SQL; to the parser they are comments. Their bodies are put back in place before parsing, so
`SELECT 1 /*! ; DROP TABLE users */` is seen as the DROP it is."""

from __future__ import annotations

import re

MYSQL_DIALECTS = frozenset({"mysql", "mariadb", "singlestore", "tidb", "doris", "starrocks"})
_EXECUTABLE = re.compile(r"/\*M?!(?:\d{5,6})?(.*?)\*/", re.DOTALL)


def expand(sql: str, dialect: str) -> str:
    """The statement text the server executes."""
    if dialect not in MYSQL_DIALECTS or "/*" not in sql:
        return sql
    return _EXECUTABLE.sub(lambda m: f" {m.group(1)} ", sql)
