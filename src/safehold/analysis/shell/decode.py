"""What `printf FORMAT ARGS…` and `echo -e` print, so text decoded from escapes and piped into a
shell is read as the commands it spells (`printf '\\x72\\x6d -rf ~' | sh` is `rm -rf ~`).

Only what can be known exactly is produced: an unsupported conversion gives None (unknown),
never a guess.
"""

from __future__ import annotations

import re

_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{1,2}|u[0-9A-Fa-f]{1,4}|U[0-9A-Fa-f]{1,8}|0[0-7]{0,3}"
                     r"|[0-7]{1,3}|c|.)", re.DOTALL)
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v",
           "e": "\x1b", "E": "\x1b", "\\": "\\", '"': '"', "'": "'"}
_CONVERSION = re.compile(r"%(%|[-+ #0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?([sbdicqxXoufeEgG]))")


class _Stop(Exception):
    """`\\c` ends the output."""


def escapes(text: str, octal_needs_zero: bool = False) -> str | None:
    """Backslash escapes decoded as printf's format (`\\NNN`) or `echo -e` / `%b`
    (`\\0NNN`) would; None when `\\c` cuts the text (what follows is dropped)."""
    out: list[str] = []

    def repl(m: re.Match[str]) -> str:
        s = m.group(1)
        if s == "c":
            raise _Stop
        if s[0] in "xuU" and len(s) > 1:
            code = int(s[1:], 16)
            return chr(code) if code < 0x110000 else ""
        if s[0] == "0":
            return chr(int(s[1:] or "0", 8) & 0xFF)
        if s[0] in "1234567" and not octal_needs_zero:
            return chr(int(s, 8) & 0xFF)
        return _SIMPLE.get(s, "\\" + s)

    try:
        out.append(_ESCAPE.sub(repl, text))
    except _Stop:
        return None
    return "".join(out)


def _convert(m: re.Match[str], args: list[str], state: dict[str, int]) -> str:
    """One `%…` conversion; state['used'] counts arguments taken, state['failed'] is set when
    the result cannot be known exactly."""
    if m.group(1) == "%":
        return "%"
    kind = m.group(2)
    if "*" in m.group(1):
        state["failed"] = 1
        return ""
    value = args[state["used"]] if state["used"] < len(args) else ""
    state["used"] += 1
    if kind == "s":
        return value
    if kind == "b":
        decoded = escapes(value, octal_needs_zero=True)
        if decoded is None:
            state["failed"] = 1
        return decoded or ""
    if kind in "di":
        try:
            return str(int(value or "0", 0))
        except ValueError:
            state["failed"] = 1
            return ""
    if kind == "c":
        return value[:1]
    state["failed"] = 1
    return ""


def printf(fmt: str, args: list[str]) -> str | None:
    """The output of `printf fmt args…`, or None when it cannot be known exactly."""
    body = escapes(fmt)
    if body is None:
        return None
    pieces: list[str] = []
    remaining = list(args)
    for _ in range(64):  # printf reuses the format until the arguments run out
        state = {"used": 0, "failed": 0}
        rest = remaining
        pieces.append(_CONVERSION.sub(lambda m, r=rest, st=state: _convert(m, r, st), body))
        if state["failed"]:
            return None
        remaining = remaining[state["used"]:]
        if not remaining or state["used"] == 0:
            break
    return "".join(pieces)
