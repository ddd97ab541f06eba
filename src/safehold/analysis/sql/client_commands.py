"""Commands of the SQL clients themselves, which are not SQL and no server parser accepts:
psql's backslash commands (`psql -c '\\dt'`) and sqlite3's dot commands (`sqlite3 db .tables`).

Agents describe schemas with `\\d` and `.schema` all the time, so a guard that called them
"not understood" would cry wolf. Describe-and-format commands are reads; `\\c` switches the
connection; `\\copy` is COPY run by the client; `\\!`, `.shell` and `.system` run a shell
command, which the shell analyser judges. Every other client command (`\\i file`, `\\gexec`,
`.read`, `.output`, `.import`, …) runs or writes something safehold does not follow and stays
unknown.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from safehold.analysis.sql.collect import NOT_UNDERSTOOD, Collector, source_text

_READS = re.compile(
    r"(d[a-zA-Z+]*|l\+?|list|x|timing|conninfo|q|quit|\?|h|help|encoding|pset|a|t|H|echo"
    r"|qecho|set|unset|sf\+?|sv\+?|z|dp|errverbose|p|print|r|reset|f|C|T|copyright|warn)"
)
_CONNECT = {"c", "connect"}


_COPY_WORDS = {
    "program": "PROGRAM",
    "stdin": "STDIN",
    "stdout": "STDOUT",
    "pstdin": "STDIN",
    "pstdout": "STDOUT",
}


def _quote_copy_target(rest: str) -> str:
    """`\\copy t to out.csv` names files without quotes; COPY needs them."""
    depth = 0
    for m in re.finditer(r"[()]|\b(from|to)\s+", rest, re.IGNORECASE):
        if m.group() == "(":
            depth += 1
        elif m.group() == ")":
            depth -= 1
        elif depth == 0:
            after = rest[m.end() :]
            word, _, tail = after.partition(" ")
            if not word or word.startswith("'"):
                return rest
            keyword = _COPY_WORDS.get(word.lower())
            target = keyword or "'" + word.replace("'", "''") + "'"
            return f"{rest[: m.end()]}{target} {tail}"
    return rest


def is_psql_command(sql: str) -> bool:
    """Whether the text is a psql backslash command rather than SQL."""
    return sql.lstrip().startswith("\\")


def analyze_psql_command(sql: str, col: Collector, analyze_sql: Callable[[str, str], None]) -> None:
    """Judge one psql backslash command; `analyze_sql(text, origin)` judges SQL it carries."""
    text = sql.strip()
    src = source_text(text)
    name, _, rest = text[1:].partition(" ")
    if not name and rest:
        name, _, rest = rest.partition(" ")
    if name == "!":
        if rest.strip():
            col.embedded("shell", rest.strip(), f"psql \\!: {src}")
        return
    if name == "copy":
        analyze_sql("COPY " + _quote_copy_target(rest), "psql \\copy")
        return
    if name in _CONNECT:
        col.add("sql:set", src)
        return
    commands = [c for c in re.split(r"\s*\\", "\\" + text[1:]) if c]
    if commands and all(_READS.fullmatch(c.split()[0]) for c in commands):
        col.add("sql:show", src)
        return
    col.unknown(
        NOT_UNDERSTOOD,
        f"psql command \\{name} runs or writes something safehold does not follow",
        src,
    )


_SQLITE_READS = frozenset(
    {
        "tables",
        "table",
        "schema",
        "fullschema",
        "indexes",
        "indices",
        "headers",
        "header",
        "mode",
        "width",
        "show",
        "help",
        "databases",
        "dbinfo",
        "nullvalue",
        "separator",
        "timer",
        "echo",
        "eqp",
        "explain",
        "print",
        "stats",
        "version",
        "quit",
        "exit",
        "bail",
        "changes",
        "dump",
        "columns",
        "lint",
        "prompt",
        "timeout",
        "scanstats",
        "dbconfig",
    }
)


def split_sqlite_script(script: str) -> list[tuple[bool, str]]:
    """A sqlite3 script as `(is_dot_command, text)` parts, in order: dot commands are the
    lines that start with a dot, the SQL between them is kept together."""
    parts: list[tuple[bool, str]] = []
    sql: list[str] = []
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("."):
            if "".join(sql).strip():
                parts.append((False, "".join(sql)))
            sql = []
            parts.append((True, line.strip()))
        else:
            sql.append(line)
    if "".join(sql).strip():
        parts.append((False, "".join(sql)))
    return parts


def analyze_sqlite_command(command: str, col: Collector) -> None:
    """Judge one sqlite3 dot command."""
    src = source_text(command)
    name, _, rest = command[1:].partition(" ")
    name = name.lower()
    if name in ("shell", "system"):
        if rest.strip():
            col.embedded("shell", rest.strip(), f"sqlite3 .{name}: {src}")
        return
    if name in _SQLITE_READS:
        col.add("sql:show", src)
        return
    col.unknown(
        NOT_UNDERSTOOD,
        f"sqlite3 command .{name} runs or writes something safehold does not follow",
        src,
    )
