"""psql's backslash commands (`psql -c '\\dt'`), which are not SQL and no server parser accepts.

`psql -c` takes either SQL or one backslash command, and agents describe schemas with `\\d`
all the time, so a guard that called every `\\dt` "not understood" would cry wolf. The
describe-and-format commands are reads; `\\c` switches the connection; `\\copy` is COPY run by
the client; `\\!` runs a shell command. Every other backslash command (`\\i file`, `\\gexec`,
`\\o file`, …) runs or writes something safehold does not follow and stays unknown.
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


def is_meta(sql: str) -> bool:
    """Whether the text is a psql backslash command rather than SQL."""
    return sql.lstrip().startswith("\\")


def analyze_meta(sql: str, col: Collector, analyze_sql: Callable[[str, str], None]) -> None:
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
