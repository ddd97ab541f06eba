"""SQL and HTTP found inside shell commands, handed to the analyser of their own kind.

`psql -c 'DROP TABLE x'` is judged by the SQL analyser, `curl -X DELETE …` by the HTTP one, so
an embedded statement gets exactly the verdict it would get on its own. Where the text cannot be
recovered (a script file outside the working directory, SQL piped from a program) the finding
says so instead of guessing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from safehold.analysis.shell.paths import DYN
from safehold.analysis.shell.words import Arg, Output
from safehold.model import Effect, Facts, Operation, Target

if TYPE_CHECKING:
    from safehold.analysis.shell.state import State

SQL_CLIENTS = {"psql": "postgres", "mysql": "mysql", "mariadb": "mysql", "sqlite3": "sqlite",
               "sqlite": "sqlite"}
HTTP_CLIENTS = frozenset({"curl", "wget", "http", "https", "xh", "xhs"})
MAX_SQL_FILE = 256 * 1024

_SQL_OPTS: dict[str, dict[str, set[str]]] = {
    "postgres": {
        "sql": {"-c", "--command"},
        "file": {"-f", "--file"},
        "value": {"-d", "--dbname", "-h", "--host", "-p", "--port", "-U", "--username", "-v",
                  "--set", "--variable", "-o", "--output", "-L", "--log-file", "-P", "--pset",
                  "-T", "--table-attr", "-F", "--field-separator", "-R", "--record-separator"},
    },
    "mysql": {
        "sql": {"-e", "--execute"},
        "file": set(),
        "value": {"-u", "--user", "-h", "--host", "-P", "--port", "-D", "--database", "-S",
                  "--socket", "--default-character-set", "--defaults-file", "--login-path"},
    },
    "sqlite": {
        "sql": {"-cmd"},
        "file": {"-init"},
        "value": {"-separator", "-nullvalue", "-newline", "-vfs", "-maxsize", "-pagecache",
                  "-lookaside", "-mmap", "-heap"},
    },
}


class SqlSource:
    """The SQL texts a client call runs, plus reasons where they could not be recovered."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.unknowns: list[str] = []
        #: the database file a file-based client opens read-write (sqlite3 without -readonly)
        self.database: list[Arg] = []


def _read_file(path_text: str, cwd: str | None, what: str, src: SqlSource) -> None:
    if DYN in path_text or cwd is None:
        src.unknowns.append(f"{what} reads SQL from a file whose name is computed at run time")
        return
    path = os.path.normpath(os.path.join(cwd, path_text))
    if not (path == cwd or path.startswith(cwd.rstrip("/") + "/")):
        src.unknowns.append(f"{what} reads SQL from {path_text}, outside the working "
                            "directory; it was not read")
        return
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read(MAX_SQL_FILE + 1)
    except OSError as exc:
        src.unknowns.append(f"{what} reads SQL from {path_text}, which cannot be read "
                            f"({exc.strerror or type(exc).__name__})")
        return
    if len(text) > MAX_SQL_FILE:
        src.unknowns.append(f"{what} reads SQL from {path_text}, larger than {MAX_SQL_FILE} "
                            "bytes; not analysed")
        return
    src.texts.append(text)


def sql_source(name: str, args: Sequence[Arg], stdin: Output | None, inputs: Sequence[Arg],
               cwd: str | None) -> SqlSource:
    dialect = SQL_CLIENTS[name]
    opts = _SQL_OPTS[dialect]
    src = SqlSource()
    positionals: list[Arg] = []
    explicit = False
    i, n = 0, len(args)
    while i < n:
        a = args[i]
        t = a.text
        opt, eq, val = t.partition("=")
        if dialect == "sqlite" and t.startswith("--") and opt[1:] in opts["sql"] | opts["file"]:
            opt = opt[1:]
        if opt in opts["sql"] or opt in opts["file"] or (len(t) > 2 and t[:2] in opts["sql"]
                                                          and not t.startswith("--")):
            if opt in opts["sql"] or opt in opts["file"]:
                value = Arg(val, a.static) if eq else (args[i + 1] if i + 1 < n else Arg(""))
                i += 1 if eq else 2
            else:
                opt, value = t[:2], Arg(t[2:], a.static)
                i += 1
            explicit = True
            if opt in opts["file"]:
                if value.text == "-":
                    explicit = False
                else:
                    _read_file(value.text, cwd, name, src)
            elif not value.static:
                src.unknowns.append(f"{name} runs SQL that is computed at run time")
            else:
                src.texts.append(value.text)
            continue
        if opt in opts["value"] and not eq:
            i += 2
            continue
        if not t.startswith("-") or t == "-":
            positionals.append(a)
        i += 1
    if dialect == "sqlite" and positionals and not any(
            a.text in ("-readonly", "--readonly") or "mode=ro" in a.text for a in args):
        db = positionals[0]
        path = db.text[5:].split("?", 1)[0] if db.text.startswith("file:") else db.text
        src.database.append(Arg(path, db.static))
    if dialect == "sqlite" and len(positionals) > 1:
        explicit = True
        for p in positionals[1:]:
            if p.static:
                src.texts.append(p.text)
            else:
                src.unknowns.append(f"{name} runs SQL that is computed at run time")
    if explicit:
        return src
    for f in inputs:
        _read_file(f.text, cwd, name, src)
    if inputs:
        return src
    if stdin is not None:
        if stdin.text is not None:
            src.texts.append(stdin.text)
        else:
            what = ", ".join(stdin.producers) or "another program"
            src.unknowns.append(f"{name} reads SQL from the output of {what}")
    return src


def analyse_sql(state: State, name: str, args: Sequence[Arg], stdin: Output | None,
                inputs: Sequence[Arg], cwd: str | None, source: str) -> list[Arg]:
    """Hand the SQL on; returns the database file the client opens for writing, if any."""
    src = sql_source(name, args, stdin, inputs, cwd)
    for reason in src.unknowns:
        state.unknown("shell:sql-not-readable", reason, source)
    for text in src.texts:
        if text.strip():
            state.embedded.append(
                state.ctx.embedded("sql", text, {"dialect": SQL_CLIENTS[name]}, source))
    return src.database


def _fallback_request(name: str, args: Sequence[str]) -> dict[str, Any] | None:
    method = "GET"
    url = None
    sends = False
    i = 0
    while i < len(args):
        t = args[i]
        opt, eq, val = t.partition("=")
        if opt in ("-X", "--request", "--method") and (eq or i + 1 < len(args)):
            method = (val if eq else args[i + 1]).upper()
            i += 1 if eq else 2
            continue
        if t.startswith("-X") and len(t) > 2:
            method = t[2:].upper()
        elif opt in ("-d", "--data", "--data-raw", "--data-binary", "--data-urlencode", "-F",
                     "--form", "--json", "-T", "--upload-file", "--post-data", "--post-file",
                     "--body-data", "--body-file"):
            sends = True
            i += 1 if eq else 2
            continue
        elif t.startswith("-d") and len(t) > 2 and name == "curl":
            sends = True
        elif "://" in t and url is None:
            url = t
        elif name in ("http", "https", "xh", "xhs") and t.upper() in (
                "POST", "PUT", "PATCH", "DELETE"):
            method = t.upper()
        elif name in ("http", "https", "xh", "xhs") and ("=" in t or ":=" in t) and url:
            sends = True
        i += 1
    if sends and method == "GET":
        method = "POST"
    return {"method": method, "url": url or "", "headers": {}, "body": None}


def analyse_http(state: State, name: str, argv: Sequence[Arg], stdin: Output | None,
                 cwd: str | None, source: str) -> None:
    texts = [name, *(a.text.replace(DYN, "$?") for a in argv[1:])]
    request: dict[str, Any] | None = None
    try:
        from safehold.analysis.http.shell_clients import request_from_argv
    except ImportError:
        request_from_argv = None  # type: ignore[assignment]
    if request_from_argv is not None:
        try:
            request = request_from_argv(texts, stdin.text if stdin else None, cwd or "")
        except Exception as exc:
            state.unknown("shell:http-not-understood",
                          f"{name} call could not be read ({type(exc).__name__})", source)
            return
        if request is None:
            return  # no URL: --help, --version, a config-only call; nothing is sent
        state.embedded.append(state.ctx.embedded("http", request, {}, source))
        return
    request = _fallback_request(name, texts[1:])
    assert request is not None
    method = request["method"]
    effect = Effect.READ if method in ("GET", "HEAD", "OPTIONS") else Effect.WRITE
    state.embedded.append(Facts(kind="shell", operations=(Operation(
        id="shell:http-read" if effect is Effect.READ else "shell:http-write",
        effect=effect,
        reason=f"{name} sends an HTTP {method} request",
        source=source,
        targets=(Target("url", request["url"]),) if request["url"] else (),
    ),)))
