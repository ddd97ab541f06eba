"""Match one command's arguments against the catalog entries of its family.

Arguments are split into flags and positionals the way the tools themselves read them: `--`
ends options, `--opt=value` is `--opt`, `-fd` is `-f -d`, options that take a value consume it
(so `git -C dir push` still finds `push`). Git-style tools also accept `--no-x` to cancel `--x`
and unique prefixes of long options (`--forc`), which the family file switches on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from safehold.catalog.schema import Entry, Family, When


@dataclass(frozen=True, slots=True)
class ParsedArgs:
    """A command's arguments as flags and positionals; `--` shows up as a flag of its own."""

    flags: frozenset[str]
    positionals: tuple[str, ...]
    long_flags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Match:
    """An entry that holds for a call, with the positionals after its subcommand."""

    entry: Entry
    args: tuple[str, ...]


#: Asks any command line tool for its usage text instead of running the command.
HELP = "--help"


def parse_args(
    args: Sequence[str],
    options_with_value: frozenset[str],
    clusters: bool = True,
    negatable: bool = False,
) -> ParsedArgs:
    flags: dict[str, None] = {}
    positionals: list[str] = []
    i, n = 0, len(args)
    ended = False
    while i < n:
        a = args[i]
        i += 1
        if ended or len(a) < 2 or a[0] != "-":
            positionals.append(a)
            continue
        if a == "--":
            ended = True
            flags["--"] = None
            continue
        if a.startswith("--"):
            name, eq, _ = a.partition("=")
            name = name.lower()
            if negatable and name.startswith("--no-"):
                flags.pop("--" + name[5:], None)
            elif negatable:
                flags.pop("--no-" + name[2:], None)
            flags[name] = None
            if not eq and name in options_with_value and i < n:
                i += 1
            continue
        if not clusters or a in options_with_value:
            name, eq, _ = a.partition("=") if not clusters else (a, "", "")
            flags[name] = None
            if not eq and name in options_with_value and i < n:
                i += 1
            continue
        for j, ch in enumerate(a[1:], start=1):
            flag = "-" + ch
            flags[flag] = None
            if flag in options_with_value:
                if j == len(a) - 1 and i < n:
                    i += 1
                break
    return ParsedArgs(
        flags=frozenset(flags),
        positionals=tuple(positionals),
        long_flags=tuple(f for f in flags if f.startswith("--") and f != "--"),
    )


def _has(flag: str, parsed: ParsedArgs, known: frozenset[str], abbreviated: bool) -> bool:
    if flag in parsed.flags:
        return True
    if abbreviated and flag.startswith("--"):
        return any(
            len(g) >= 4 and g not in known and flag.startswith(g) for g in parsed.long_flags
        )
    return False


def when_holds(when: When, parsed: ParsedArgs, abbreviated: bool) -> tuple[str, ...] | None:
    """The positionals after the subcommand when every condition holds, else None."""
    pos = parsed.positionals
    if len(pos) < len(when.subcommand):
        return None
    for word, alts in zip(pos, when.subcommand, strict=False):
        if word.lower() not in alts:
            return None
    rest = pos[len(when.subcommand):]
    known = when.flags_any.union(*when.flags_all) | when.flags_none
    if when.flags_any and not any(_has(f, parsed, known, abbreviated) for f in when.flags_any):
        return None
    for group in when.flags_all:
        if not any(_has(f, parsed, known, abbreviated) for f in group):
            return None
    if when.flags_none and any(_has(f, parsed, known, abbreviated) for f in when.flags_none):
        return None
    if when.args_any and not any(p.search(a) for p in when.args_any for a in rest):
        return None
    if when.args_none and any(p.search(a) for p in when.args_none for a in rest):
        return None
    if len(rest) < when.args_min:
        return None
    if when.args_max is not None and len(rest) > when.args_max:
        return None
    return rest


_index: dict[tuple[int, str], tuple[Family, dict[str, tuple[Entry, ...]], tuple[Entry, ...]]] = {}


def _entries_by_verb(family: Family, command: str
                     ) -> tuple[dict[str, tuple[Entry, ...]], tuple[Entry, ...]]:
    """The entries that apply to `command`, keyed by their first subcommand word, plus those
    without one (built once per family and command)."""
    key = (id(family), command)
    hit = _index.get(key)
    if hit is not None and hit[0] is family:
        return hit[1], hit[2]
    by_verb: dict[str, list[Entry]] = {}
    always: list[Entry] = []
    for entry in family.entries:
        if entry.when.construct is not None:
            continue
        if entry.when.command and command not in entry.when.command:
            continue
        if entry.when.subcommand:
            for word in entry.when.subcommand[0]:
                by_verb.setdefault(word, []).append(entry)
        else:
            always.append(entry)
    verbs = {k: tuple(v) for k, v in by_verb.items()}
    _index[key] = (family, verbs, tuple(always))
    return verbs, tuple(always)


def match_family(family: Family, args: Sequence[str], command: str = "") -> list[Match]:
    """Every entry of `family` that holds for `command` called with these arguments."""
    cache: dict[frozenset[str], ParsedArgs] = {}
    out: list[Match] = []
    verbs, always = _entries_by_verb(family, command)
    base = parse_args(args, family.options_with_value, family.short_flag_clusters,
                      family.negatable_long_options)
    cache[family.options_with_value] = base
    candidates: tuple[Entry, ...] = always
    if verbs and base.positionals:
        candidates = always + verbs.get(base.positionals[0].lower(), ())
    for entry in candidates:
        owv = family.options_with_value
        if entry.options_with_value is not None:
            owv = owv | entry.options_with_value
        parsed = cache.get(owv)
        if parsed is None:
            parsed = parse_args(
                args, owv, family.short_flag_clusters, family.negatable_long_options
            )
            cache[owv] = parsed
        if HELP in parsed.flags:
            continue  # `tool verb --help` prints the verb's help and does nothing else
        rest = when_holds(entry.when, parsed, family.abbreviated_long_options)
        if rest is not None:
            out.append(Match(entry, rest))
    return out
