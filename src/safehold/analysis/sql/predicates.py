"""Does a WHERE clause restrict which rows a statement touches?

Both front ends (libpg_query and sqlglot) fold their own expression trees through the same small
algebra here, so `WHERE 1=1` means the same in every dialect. A folded value is either a
constant (`Const`) or something that varies (`Row`). The rule, stated once:

    a WHERE restricts  iff  it is not constant-true  and  it depends on the row.

A predicate that depends on no column of the row (`WHERE true`, `WHERE now() > '2000-01-01'`,
`WHERE $1`, `WHERE EXISTS (SELECT 1 FROM other)`) is the same for every row, so it selects all
of them or none; when it might select all, the statement is treated as unrestricted. Constants
are folded (`1 = 1`, `'a' = 'a'`, `NOT false`), `A OR <true>` is true, `A AND <true>` is `A`,
`x = x`, `x IS NULL OR x IS NOT NULL` and `x > 0 OR x <= 0` are true. These last are taken as
true although SQL's NULLs make `x = x` skip rows where x is NULL: they still select every
row that has a value, which is what the guard must see.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Const:
    """A value known before any row is read; `None` is SQL NULL."""

    value: Any


@dataclass(frozen=True, slots=True)
class Row:
    """A value that may vary. `refs`: it reads a column of the row; `key`: a canonical text of
    the expression (columns and tests on them), so `x = x` and `P OR NOT P` can be recognised."""

    refs: bool
    key: str | None = None


Value = Const | Row

TRUE = Const(True)
FALSE = Const(False)
NULL = Const(None)
CONSTANT = Row(refs=False)
VARYING = Row(refs=True)
#: The current time (`now()`, `CURRENT_TIMESTAMP`): the same for every row.
NOW = Row(refs=False, key="now")
#: A test every real row passes although it names a column (see `covers_key_space`).
ALL_ROWS = Const(True)

_BOOL_WORDS = {
    "t": True,
    "true": True,
    "y": True,
    "yes": True,
    "on": True,
    "f": False,
    "false": False,
    "n": False,
    "no": False,
    "off": False,
}


def column(key: str) -> Row:
    return Row(refs=True, key="col:" + key.lower())


def opaque(parts: Iterable[Value]) -> Row:
    """An expression we do not evaluate (a function call, arithmetic on columns): it varies by
    row iff one of its parts does."""
    return Row(refs=any(isinstance(p, Row) and p.refs for p in parts))


def truthy(value: Any) -> bool | None:
    """SQL truth of a constant in a WHERE: booleans, non-zero numbers (MySQL, SQLite `WHERE 1`),
    and strings PostgreSQL or MySQL would read as true."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    text = str(value).strip().lower()
    if text in _BOOL_WORDS:
        return _BOOL_WORDS[text]
    try:
        return float(text) != 0
    except ValueError:
        return False


def _num(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    if isinstance(value, bool):
        return int(value)
    return value


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "==": operator.eq,
    "<>": operator.ne,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}
_SELF_TRUE = {"=", "==", "<=", ">="}
_FLIP = {"=": "=", "==": "=", "<>": "<>", "!=": "<>", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
_CANONICAL = {
    "=": (False, "="),
    "==": (False, "="),
    "<>": (True, "="),
    "!=": (True, "="),
    "<=": (False, "<="),
    ">": (True, "<="),
    ">=": (False, ">="),
    "<": (True, ">="),
}


#: A surrogate key: `id`, `user_id`. Sequences and identity columns start at 1.
_KEY_COLUMN = re.compile(r"(?:^|_)id$")
#: When a row was recorded: `created_at`, `inserted_on`, `updated_at`, `modified`. Every
#: recorded row lies before the present.
_RECORD_TIME = re.compile(r"^(?:created|inserted|updated|modified|recorded)(?:_|$)")
_DATE = re.compile(r"^(\d{4})-\d{2}-\d{2}")
_TIME_FUNCTIONS = frozenset({"now", "current_timestamp", "localtimestamp", "current_date",
                             "transaction_timestamp", "statement_timestamp", "clock_timestamp",
                             "getdate", "sysdate", "utc_timestamp", "current_datetime"})


def time_function(name: str) -> bool:
    """`now()` and its spellings: the present, the same for every row."""
    return name.lower() in _TIME_FUNCTIONS


def _column_name(key: str | None) -> str | None:
    if key is None or not key.startswith("col:"):
        return None
    return key[4:].rsplit(".", 1)[-1].strip('"`[]')


def covers_key_space(key: str | None, op: str, value: Any) -> bool:
    """Whether `column op value` holds for every real row: a surrogate key above the bottom of
    its sequence (`id > 0`, `id >= 1`, `id <> -1`), any date after the epoch's start
    (`created_at > '1970-01-01'`), a record time before now (`created_at <= now()`)."""
    name = _column_name(key)
    if name is None:
        return False
    if value is NOW:
        return op in ("<", "<=") and _RECORD_TIME.match(name) is not None
    if isinstance(value, Row):
        return False
    v = _num(value)
    if _KEY_COLUMN.search(name) and isinstance(v, int | float) and not isinstance(v, bool):
        return (op == ">" and v < 1) or (op == ">=" and v <= 1) or (op in ("<>", "!=") and v < 1)
    m = _DATE.match(str(value)) if isinstance(value, str) else None
    return m is not None and op in (">", ">=") and int(m.group(1)) <= 1970


def compare(op: str, left: Value, right: Value) -> Value:
    """`left op right`, folded when both are constants or both are the same column."""
    if right is NOW and isinstance(left, Row) and covers_key_space(left.key, op, NOW):
        return ALL_ROWS
    if left is NOW and isinstance(right, Row) and op in _FLIP:
        return compare(_FLIP[op], right, left)
    fn = _COMPARE.get(op)
    if isinstance(left, Const) and isinstance(right, Const):
        if left.value is None or right.value is None:
            return NULL
        if fn is None:
            return CONSTANT
        a, b = left.value, right.value
        if type(a) is not type(b):
            a, b = _num(a), _num(b)
        try:
            return Const(bool(fn(a, b)))
        except TypeError:
            return CONSTANT
    if isinstance(left, Row) and isinstance(right, Row) and fn is not None:  # noqa: SIM102
        if left.key and left.key == right.key:
            return TRUE if op in _SELF_TRUE else FALSE
    if isinstance(right, Row) and isinstance(left, Const) and op in _FLIP:
        left, right, op = right, left, _FLIP[op]
    if (isinstance(left, Row) and isinstance(right, Const) and right.value is not None
            and covers_key_space(left.key, op, right.value)):
        return ALL_ROWS
    if isinstance(left, Row) and left.key and isinstance(right, Const) and op in _CANONICAL:
        # `x > 0` is `NOT (x <= 0)`: one key per pair, so `x > 0 OR x <= 0` is recognised
        negated, base = _CANONICAL[op]
        key = f"cmp:{left.key}:{base}:{right.value!r}"
        return Row(refs=left.refs, key="not:" + key if negated else key)
    return opaque((left, right))


def not_(value: Value) -> Value:
    if isinstance(value, Const):
        t = truthy(value.value)
        return NULL if t is None else Const(not t)
    if value.key is None:
        return value
    if value.key.startswith("isnull:"):
        return is_null(Row(refs=value.refs, key=value.key[7:]), negated=True)
    key = value.key[4:] if value.key.startswith("not:") else "not:" + value.key
    return Row(refs=value.refs, key=key)


def and_(values: Iterable[Value]) -> Value:
    rest: list[Row] = []
    saw_null = False
    for v in values:
        if isinstance(v, Const):
            t = truthy(v.value)
            if t is False:
                return FALSE
            saw_null = saw_null or t is None
        else:
            rest.append(v)
    if not rest:
        return NULL if saw_null else TRUE
    if len(rest) == 1 and not saw_null:
        return rest[0]
    return Row(refs=any(r.refs for r in rest))


def or_(values: Iterable[Value]) -> Value:
    rest: list[Row] = []
    saw_null = False
    for v in values:
        if isinstance(v, Const):
            t = truthy(v.value)
            if t:
                return TRUE
            saw_null = saw_null or t is None
        else:
            rest.append(v)
    keys = {r.key for r in rest if r.key}
    if any(k.startswith("not:") and k[4:] in keys for k in keys):
        return TRUE
    if not rest:
        return NULL if saw_null else FALSE
    if len(rest) == 1:
        return rest[0]
    return Row(refs=any(r.refs for r in rest))


def is_null(value: Value, negated: bool = False) -> Value:
    if isinstance(value, Const):
        return Const((value.value is None) != negated)
    if value.key is None:
        return Row(refs=value.refs)
    name = _column_name(value.key)
    if negated and name is not None and _KEY_COLUMN.search(name):
        return ALL_ROWS  # every row has a key
    key = "isnull:" + value.key
    return Row(refs=value.refs, key="not:" + key if negated else key)


def in_list(value: Value, items: list[Value], negated: bool = False) -> Value:
    result = or_(compare("=", value, item) for item in items)
    return not_(result) if negated else result


def between(value: Value, low: Value, high: Value, negated: bool = False) -> Value:
    result = and_((compare(">=", value, low), compare("<=", value, high)))
    return not_(result) if negated else result


def _like_regex(pattern: str) -> re.Pattern[str]:
    out = []
    for ch in pattern:
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
    return re.compile("".join(out), re.DOTALL)


def like(value: Value, pattern: Value, negated: bool = False, nocase: bool = False) -> Value:
    """LIKE: folded on constants; `col LIKE '%'` matches every row that has a value."""
    result: Value
    if isinstance(pattern, Const) and isinstance(pattern.value, str):
        if isinstance(value, Const):
            if value.value is None:
                return NULL
            flags_text, pat = str(value.value), pattern.value
            if nocase:
                flags_text, pat = flags_text.lower(), pat.lower()
            result = Const(_like_regex(pat).fullmatch(flags_text) is not None)
        elif pattern.value and set(pattern.value) == {"%"}:
            result = TRUE
        else:
            result = opaque((value,))
    else:
        result = opaque((value, pattern))
    return not_(result) if negated else result


def restricts(where: Value | None) -> bool:
    """True when the WHERE selects rows by their content; False when it selects every row."""
    if where is None:
        return False
    if isinstance(where, Const):
        return truthy(where.value) is not True
    return where.refs
