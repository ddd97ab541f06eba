"""MySQL runs `/*! … */` comment bodies; safehold reads them as the SQL they are."""

from __future__ import annotations

import pytest

from safehold.analysis.registry import analyze
from safehold.decide import Guard
from safehold.model import Action


@pytest.mark.parametrize(("sql", "dialect", "ident"), [
    ("/*!50000 DROP TABLE users */", "mysql", "sql:drop-table"),
    ("SELECT 1 /*! ; DROP TABLE users */", "mysql", "sql:drop-table"),
    ("SELECT 1 /*M! ; TRUNCATE orders */", "mariadb", "sql:truncate"),
])
def test_executable_comment_is_analysed(sql: str, dialect: str, ident: str) -> None:
    facts = analyze(Action("sql", sql, options={"dialect": dialect}))
    assert ident in {o.id for o in facts.operations}


def test_plain_comments_and_other_dialects_stay_comments() -> None:
    for sql, dialect in (("SELECT 1 /* ; DROP TABLE users */", "mysql"),
                         ("SELECT 1 /*! DROP TABLE users */", "postgres")):
        ops = {o.id for o in analyze(Action("sql", sql, options={"dialect": dialect})).operations}
        assert "sql:drop-table" not in ops


def test_mysql_client_with_executable_comment_is_held() -> None:
    d = Guard.load().decide(Action("shell", "mysql -e 'SELECT 1 /*! ; DROP TABLE users */'",
                                   cwd="/home/dev/project"))
    assert d.verdict != "allow"
