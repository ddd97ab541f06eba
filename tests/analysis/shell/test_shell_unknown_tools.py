"""Tools safehold does not know by name still get verb semantics and their SQL analysed."""

from __future__ import annotations

import pytest
from shell_helpers import decide, ids

from safehold.decide import Guard


@pytest.mark.parametrize(("cmd", "allowed", "ident"), [
    ("acmectl bucket delete --all", False, "shell:unknown-tool-destroy"),
    ("mytool db drop --force", False, "shell:unknown-tool-destroy"),
    ("vendorcli cache purge '*'", False, "shell:unknown-tool-destroy"),
    ("opsctl cluster wipe -y prod", False, "shell:unknown-tool-destroy"),
    ("snowsql -q 'DROP DATABASE prod'", False, "sql:drop-database"),
    ("cockroach sql -e 'DROP TABLE users'", False, "sql:drop-table"),
    ("trino --execute 'DELETE FROM orders'", False, "sql:delete-all"),
    ("usql pg://prod -c \"TRUNCATE users\"", False, "sql:truncate"),
    ("mytool delete item-42", True, None),
    ("foo cache clear", True, None),
    ("snowsql -q 'SELECT count(*) FROM orders'", True, None),
    ("mytool --config prod.yaml status", True, None),
])
def test_unknown_tool_semantics(guard: Guard, cmd: str, allowed: bool,
                                ident: str | None) -> None:
    d = decide(guard, cmd)
    assert (d.verdict == "allow") is allowed, (d.verdict, d.reasons)
    if ident:
        assert ident in ids(d.facts), ids(d.facts)
