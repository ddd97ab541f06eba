"""libpg_query's two JSON entry points, called through ctypes.

The library is the one the `postgast` wheel bundles. Importing `postgast` itself loads its
protobuf schema (~70 ms), and a hook runs in a fresh process per call, so the analyser binds
the functions it needs — parse to JSON, parse PL/pgSQL to JSON, split with the scanner —
straight from that library instead. The structures mirror libpg_query's `pg_query.h`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import platform
from ctypes import POINTER, Structure, c_char_p, c_int
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

_LIB_NAMES = {"Linux": "libpg_query.so", "Darwin": "libpg_query.dylib", "Windows": "pg_query.dll"}


class PgParseError(Exception):
    """PostgreSQL's parser rejected the text; `cursorpos` is a 1-based byte offset (0: unknown)."""

    def __init__(self, message: str, cursorpos: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.cursorpos = cursorpos


class _Error(Structure):
    _fields_ = [
        ("message", c_char_p),
        ("funcname", c_char_p),
        ("filename", c_char_p),
        ("lineno", c_int),
        ("cursorpos", c_int),
        ("context", c_char_p),
    ]


class _ParseResult(Structure):
    _fields_ = [
        ("parse_tree", c_char_p),
        ("stderr_buffer", c_char_p),
        ("error", POINTER(_Error)),
    ]


class _SplitStmt(Structure):
    _fields_ = [("stmt_location", c_int), ("stmt_len", c_int)]


class _SplitResult(Structure):
    _fields_ = [
        ("stmts", POINTER(POINTER(_SplitStmt))),
        ("n_stmts", c_int),
        ("stderr_buffer", c_char_p),
        ("error", POINTER(_Error)),
    ]


class _PlpgsqlResult(Structure):
    _fields_ = [("plpgsql_funcs", c_char_p), ("error", POINTER(_Error))]


def _library_path() -> str:
    spec = find_spec("postgast")  # locates the package without importing it
    name = _LIB_NAMES.get(platform.system())
    if spec is not None and spec.origin and name:
        candidate = Path(spec.origin).parent / name
        if candidate.is_file():
            return str(candidate)
    found = ctypes.util.find_library("pg_query")
    if found is None:
        raise OSError("libpg_query not found: install the postgast wheel")
    return found


@cache
def _lib() -> ctypes.CDLL:
    lib = ctypes.CDLL(_library_path())
    lib.pg_query_parse.argtypes = [c_char_p]
    lib.pg_query_parse.restype = _ParseResult
    lib.pg_query_free_parse_result.argtypes = [_ParseResult]
    lib.pg_query_free_parse_result.restype = None
    lib.pg_query_parse_plpgsql.argtypes = [c_char_p]
    lib.pg_query_parse_plpgsql.restype = _PlpgsqlResult
    lib.pg_query_free_plpgsql_parse_result.argtypes = [_PlpgsqlResult]
    lib.pg_query_free_plpgsql_parse_result.restype = None
    lib.pg_query_split_with_scanner.argtypes = [c_char_p]
    lib.pg_query_split_with_scanner.restype = _SplitResult
    lib.pg_query_free_split_result.argtypes = [_SplitResult]
    lib.pg_query_free_split_result.restype = None
    return lib


def _raise_if_error(error: Any) -> None:
    if error:
        err = error.contents
        message = err.message.decode("utf-8", "replace") if err.message else "unknown error"
        raise PgParseError(message, err.cursorpos)


def parse_json(sql: str) -> dict[str, Any]:
    """The parse tree of `sql` as plain dicts; raises PgParseError on a syntax error."""
    lib = _lib()
    result = lib.pg_query_parse(sql.encode("utf-8"))
    try:
        _raise_if_error(result.error)
        return json.loads(result.parse_tree)
    finally:
        lib.pg_query_free_parse_result(result)


def parse_plpgsql_json(sql: str) -> list[dict[str, Any]]:
    """The PL/pgSQL tree of a `CREATE FUNCTION … LANGUAGE plpgsql` statement."""
    lib = _lib()
    result = lib.pg_query_parse_plpgsql(sql.encode("utf-8"))
    try:
        _raise_if_error(result.error)
        return json.loads(result.plpgsql_funcs)
    finally:
        lib.pg_query_free_plpgsql_parse_result(result)


def split_statements(sql: str) -> list[str]:
    """`sql` cut into statements by PostgreSQL's scanner, which (unlike the parser) gets
    through text with syntax errors; quotes and comments are respected. The scanner skips
    what it cannot place (a lone word, the text after an unbalanced parenthesis), so every
    stretch between and after its statements is returned too: together the pieces hold all
    of `sql`."""
    lib = _lib()
    raw = sql.encode("utf-8")
    result = lib.pg_query_split_with_scanner(raw)
    try:
        _raise_if_error(result.error)
        spans = []
        for i in range(result.n_stmts):
            stmt = result.stmts[i].contents
            spans.append((stmt.stmt_location, stmt.stmt_location + stmt.stmt_len))
    finally:
        lib.pg_query_free_split_result(result)
    pieces: list[bytes] = []
    pos = 0
    for start, end in sorted(spans):
        if start > pos:
            pieces.append(raw[pos:start])
        pieces.append(raw[max(start, pos) : end])
        pos = max(pos, end)
    pieces.append(raw[pos:])
    out = []
    for piece in pieces:
        text = piece.decode("utf-8", "replace").strip(" \t\r\n;")
        if text:
            out.append(text)
    return out
