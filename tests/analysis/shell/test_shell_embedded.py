"""SQL and HTTP inside shell commands go to their own analysers."""

from __future__ import annotations

from pathlib import Path

import pytest
from shell_helpers import decide, facts

from safehold.decide import Guard
from safehold.model import Verdict


def _sql_ids(cmd: str, cwd: str | None = None) -> set[str]:
    f = facts(cmd, cwd) if cwd else facts(cmd)
    return {o.id for o in f.operations if o.id.startswith("sql:")} | {
        u.id for u in f.unknowns if u.id.startswith(("sql:", "shell:sql"))}


@pytest.mark.parametrize("cmd", [
    "psql -c 'DROP TABLE users'",
    "psql -h db -U app -d prod --command='DROP TABLE users'",
    "psql <<EOF\nDROP TABLE users;\nEOF",
    "echo 'DROP TABLE users' | psql prod",
    "mysql -u root -e 'DROP TABLE users'",
    "sqlite3 app.db 'DROP TABLE users'",
    "docker exec -i db psql -U app -c 'DROP TABLE users'",
    "kubectl exec db-0 -- psql -c 'DROP TABLE users'",
    "ssh db1 \"psql -c 'DROP TABLE users'\"",
])
def test_sql_in_a_client_call_is_analysed_as_sql(guard: Guard, cmd: str) -> None:
    assert _sql_ids(cmd), facts(cmd).to_dict()
    assert decide(guard, cmd).verdict is Verdict.ASK


def test_select_through_psql_is_read(guard: Guard) -> None:
    f = facts("psql -c 'SELECT count(*) FROM users'")
    assert not f.unknowns
    assert decide(guard, "psql -c 'SELECT count(*) FROM users'").allowed


def test_psql_file_inside_the_workspace_is_read(guard: Guard, tmp_path: Path) -> None:
    (tmp_path / "wipe.sql").write_text("DROP TABLE users;\n")
    (tmp_path / "count.sql").write_text("SELECT 1;\n")
    assert decide(guard, "psql -f wipe.sql", str(tmp_path)).verdict is Verdict.ASK
    assert decide(guard, "psql -f count.sql", str(tmp_path)).allowed
    assert decide(guard, "psql < wipe.sql", str(tmp_path)).verdict is Verdict.ASK


@pytest.mark.parametrize("cmd", ["psql -f missing.sql", "psql -f /etc/x.sql",
                                 "cat dump.sql | psql", "psql -c \"$QUERY\""])
def test_sql_that_cannot_be_read_is_unknown(guard: Guard, cmd: str, tmp_path: Path) -> None:
    f = facts(cmd, str(tmp_path))
    assert any(u.id == "shell:sql-not-readable" for u in f.unknowns), f.to_dict()
    assert decide(guard, cmd, str(tmp_path)).verdict is Verdict.ASK


def test_http_clients_become_http_requests(guard: Guard) -> None:
    assert decide(guard, "curl https://example.com").allowed
    f = facts("curl -X DELETE https://api.example.com/v1/things/1")
    assert f.effect.label in ("write", "destructive", "irreversible") or f.unknowns
