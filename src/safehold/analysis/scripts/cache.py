"""Remember what following a script found, keyed by the script's exact content.

Agents run the same scripts over and over (`make test`, `bash scripts/check.sh`); following a
10 KB shell script walks hundreds of commands. The findings a script adds to the analysis
depend only on its text and on what it starts with (language, arguments, working directory,
variables, home, temp dir, catalog, nesting depth), so they are kept under a digest of all of
that and replayed on the next identical run. A changed byte is a different key; nothing is
kept for a run that ran out of time.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from safehold.analysis.shell.words import Arg, Scope
from safehold.model import Facts, Finding, Operation

if TYPE_CHECKING:
    from safehold.analysis.shell.state import State

MAX_ENTRIES = 128
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Found:
    operations: tuple[Operation, ...]
    credentials: tuple[Finding, ...]
    unknowns: tuple[Finding, ...]
    code: tuple[Finding, ...]
    embedded: tuple[Facts, ...]
    written: tuple[tuple[str, str | None], ...]


_entries: OrderedDict[bytes, _Found] = OrderedDict()


def _key(state: State, lang: str, path: str, text: str, args: Sequence[Arg], scope: Scope,
         source: str) -> bytes:
    h = hashlib.blake2b(digest_size=20)
    for part in (lang, path, source, scope.cwd or "", state.home, state.ctx.tmpdir,
                 str(id(state.catalog)), str(state.depth), str(state.ctx.depth)):
        h.update(part.encode("utf-8", "surrogatepass") + b"\0")
    for a in args:
        h.update(f"{a.static}:{a.text}".encode("utf-8", "surrogatepass") + b"\0")
    for k, v in sorted(scope.env.items()):
        h.update(f"{k}={v!r}".encode("utf-8", "surrogatepass") + b"\0")
    h.update(b"\1" + text.encode("utf-8", "surrogatepass"))
    return h.digest()


def followed(state: State, lang: str, path: str, text: str, args: Sequence[Arg], scope: Scope,
             source: str, follow: Callable[[], T], default: T) -> T:
    """Run `follow` (which adds findings to `state`), or replay what it added last time."""
    key = _key(state, lang, path, text, args, scope, source)
    found = _entries.get(key)
    if found is not None:
        _entries.move_to_end(key)
        _replay(state, found)
        return default
    # Follow with an empty memory of what was already reported, so the entry holds everything
    # the script does even when the command reported some of it before; then put the findings
    # back through the usual de-duplication.
    before = (len(state.operations), len(state.creds), len(state.unknowns), len(state.embedded),
              dict(state.written), len(state.code))
    seen = state._seen
    state._seen = set()
    try:
        result = follow()
    finally:
        state._seen = seen | state._seen
    written = tuple((k, v) for k, v in state.written.items()
                    if k not in before[4] or before[4][k] != v)
    found = _Found(tuple(state.operations[before[0]:]), tuple(state.creds[before[1]:]),
                   tuple(state.unknowns[before[2]:]), tuple(state.code[before[5]:]),
                   tuple(state.embedded[before[3]:]), written)
    del state.operations[before[0]:], state.creds[before[1]:], state.unknowns[before[2]:]
    del state.code[before[5]:]
    del state.embedded[before[3]:]
    state._seen = seen
    _replay(state, found)
    if not state.expired():
        _entries[key] = found
        if len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return result


def _replay(state: State, found: _Found) -> None:
    for op in found.operations:
        state.operation(op)
    for c in found.credentials:
        state.credential(c.id, c.reason, c.source)
    for u in found.unknowns:
        state.unknown(u.id, u.reason, u.source)
    for k in found.code:
        state.code_fact(k.id, k.reason, k.source)
    state.embedded.extend(found.embedded)
    state.written.update(found.written)
