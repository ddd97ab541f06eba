"""Commands that run a command template over items: xargs, parallel, find -exec / -delete.

The template is what runs, so it is analysed like any command; the items fill the `{}` slots
(or are appended). Items known statically (`echo / | xargs rm -rf`, `parallel … ::: a b`) are
substituted; items read at run time become unknown arguments, so `xargs rm -rf` is a recursive
delete of unknown targets, never a routine one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from safehold.analysis.shell.paths import BELOW, DYN, DYN_TEXT
from safehold.analysis.shell.words import Arg, Output

MAX_ITEMS = 16

_XARGS_VALUE = {"-I", "-J", "-L", "-n", "-P", "-s", "-S", "-d", "-E", "-a", "-R", "--arg-file",
                "--delimiter", "--max-args", "--max-procs", "--max-lines", "--max-chars", "--eof",
                "--process-slot-var"}
_XARGS_OPTIONAL = {"-i", "-e", "-l"}
_PARALLEL_VALUE = {"-j", "--jobs", "-S", "--sshlogin", "--results", "--res", "--joblog",
                   "--env", "-a", "--arg-file", "--delay", "--timeout", "--tmpdir", "--workdir",
                   "--wd", "-N", "--max-args", "-n", "--colsep", "-C", "--halt", "--memfree",
                   "--load", "--nice", "-I", "--basefile", "--return", "--tagstring",
                   "--sshloginfile", "--slf", "-E", "--eof", "--block", "--recstart",
                   "--recend", "--termseq", "--retries", "--shebang-wrap", "-d", "--delimiter",
                   "--process-slot-var", "--limit", "--resume-failed", "--seqreplace"}
_PARALLEL_NOEXEC = {"--dry-run", "--dryrun", "--version", "--help", "-h", "--number-of-cpus",
                    "--number-of-cores", "--citation"}
_REPLACE = re.compile(r"\{[0-9]*[./#%]*[/.]*\}")


@dataclass(slots=True)
class Plan:
    """Command lines a template command will run; `shell` ones are parsed as shell."""

    argvs: list[list[Arg]] = field(default_factory=list)
    shells: list[Arg] = field(default_factory=list)


def _items(stdin: Output | None, lines: bool, null: bool) -> list[Arg] | None:
    if stdin is not None and stdin.items is not None:
        return list(stdin.items)
    if stdin is None or stdin.text is None:
        return None
    text = stdin.text
    if null:
        parts = [p for p in text.split("\0") if p]
    elif lines:
        parts = [p.strip() for p in text.splitlines() if p.strip()]
    else:
        parts = text.split()
    return _capped([Arg(p.replace(DYN_TEXT, DYN), DYN not in p and DYN_TEXT not in p, False)
                    for p in parts[:MAX_ITEMS + 1]])


def _capped(items: list[Arg]) -> list[Arg]:
    """At most MAX_ITEMS items are followed; the rest stand as one item only known at run time,
    so an item past the cap (`… p / | xargs rm -rf`) is never dropped unseen."""
    if len(items) <= MAX_ITEMS:
        return items
    return [*items[:MAX_ITEMS], Arg(DYN, False, False, ("items past the first "
                                                        f"{MAX_ITEMS}",))]


def _unknown_item(stdin: Output | None, what: str) -> Arg:
    producers = stdin.producers if stdin is not None else ()
    return Arg(DYN, False, False, producers or (what,))


def _fill(template: Sequence[Arg], slot: str | re.Pattern[str] | None, items: list[Arg],
          each: bool, append_without_slot: bool = False) -> list[list[Arg]]:
    """Put items in the template: replace `slot` (one line per item) or append them.

    xargs -I only replaces (a template without the slot runs as written); parallel appends
    the item when its template has no replacement string."""

    def has_slot(a: Arg) -> bool:
        if slot is None:
            return False
        return bool(slot.search(a.text)) if isinstance(slot, re.Pattern) else slot in a.text

    if slot is None:
        if each:
            return [[*template, item] for item in items]
        return [[*template, *items]]
    if not any(has_slot(a) for a in template):
        if append_without_slot:
            return [[*template, item] for item in items]
        return [list(template)]
    out = []
    for item in items:
        line = []
        value = item.text
        for a in template:
            if has_slot(a):
                text = (slot.sub(lambda _m, v=value: v, a.text)  # type: ignore[misc]
                        if isinstance(slot, re.Pattern) else a.text.replace(slot, value))
                line.append(Arg(text, a.static and item.static, a.glob, a.sources + item.sources))
            else:
                line.append(a)
        out.append(line)
    return out


def xargs(args: Sequence[Arg], stdin: Output | None) -> Plan:
    replace: str | None = None
    lines = null = False
    from_file = False
    i, n = 0, len(args)
    while i < n:
        t = args[i].text
        if t == "--":
            i += 1
            break
        if not t.startswith("-") or len(t) < 2:
            break
        opt, eq, val = t.partition("=")
        if opt == "--replace":
            replace = val if eq and val else "{}"
            lines = True
        elif opt in ("--null",):
            null = True
        elif opt in ("--arg-file",):
            from_file = True
            i += 0 if eq else 1
        elif opt in _XARGS_VALUE and opt.startswith("--"):
            if opt == "--delimiter":
                delim = val if eq else (args[i + 1].text if i + 1 < n else "")
                lines = lines or delim in ("\\n", "\n")
                from_file = from_file or delim not in ("\\n", "\n")
            i += 0 if eq else 1
        elif opt.startswith("--"):
            pass
        else:
            j = 1
            while j < len(t):
                f = "-" + t[j]
                rest = t[j + 1:]
                if f == "-0":
                    null = True
                elif f in ("-I", "-J"):
                    replace = rest or (args[i + 1].text if i + 1 < n else "{}")
                    if not rest:
                        i += 1
                    lines = True
                    break
                elif f == "-i":
                    replace, lines = rest or "{}", True
                    break
                elif f in _XARGS_OPTIONAL:
                    lines = lines or f == "-l"
                    break
                elif f in _XARGS_VALUE:
                    if f == "-a":
                        from_file = True
                    if f == "-d":
                        delim = rest or (args[i + 1].text if i + 1 < n else "")
                        # items are whole lines for a newline delimiter; any other split is
                        # not modelled, so the items stay unknown
                        lines = lines or delim in ("\\n", "\n")
                        from_file = from_file or delim not in ("\\n", "\n")
                    if f == "-L":
                        lines = True
                    if not rest:
                        i += 1
                    break
                j += 1
        i += 1
    template = list(args[i:]) or [Arg("echo")]
    items = None if from_file else _items(stdin, lines, null)
    if items is None:
        items = [_unknown_item(stdin if not from_file else None, "xargs input")]
    return Plan(argvs=_fill(template, replace, items, each=replace is not None))


def parallel(args: Sequence[Arg], stdin: Output | None) -> Plan:
    i, n = 0, len(args)
    replace: str | re.Pattern[str] = _REPLACE
    while i < n:
        t = args[i].text
        if t in _PARALLEL_NOEXEC:
            return Plan()
        if t == "--":
            i += 1
            break
        if not t.startswith("-") or len(t) < 2 or t.startswith(":::"):
            break
        opt, eq, _ = t.partition("=")
        if opt == "-I" and not eq and i + 1 < n:
            replace = args[i + 1].text
            i += 2
            continue
        if opt in _PARALLEL_VALUE and not eq and len(t) == len(opt):
            i += 2
            continue
        i += 1
    template: list[Arg] = []
    while i < n and not args[i].text.startswith(":::") and args[i].text != "::::":
        template.append(args[i])
        i += 1
    items: list[Arg] = []
    sourced = False
    while i < n:
        t = args[i].text
        if t in (":::", ":::+"):
            sourced = True
        elif t in ("::::", "::::+"):
            sourced = True
            items.append(Arg(DYN, False, False, ("parallel input file",)))
        else:
            items.append(args[i])
        i += 1
    if not sourced:
        got = _items(stdin, True, False)
        items = got if got is not None else [_unknown_item(stdin, "parallel input")]
    items = _capped(items)
    if not template:
        return Plan(shells=items)
    return Plan(argvs=_fill(template, replace, items, each=True, append_without_slot=True))


# -- find -----------------------------------------------------------------------------------

_FIND_ARITY = {
    "-name": 1, "-iname": 1, "-path": 1, "-ipath": 1, "-wholename": 1, "-iwholename": 1,
    "-regex": 1, "-iregex": 1, "-lname": 1, "-ilname": 1, "-type": 1, "-xtype": 1, "-user": 1,
    "-group": 1, "-uid": 1, "-gid": 1, "-perm": 1, "-size": 1, "-mtime": 1, "-atime": 1,
    "-ctime": 1, "-mmin": 1, "-amin": 1, "-cmin": 1, "-newer": 1, "-anewer": 1, "-cnewer": 1,
    "-maxdepth": 1, "-mindepth": 1, "-samefile": 1, "-inum": 1, "-links": 1, "-fstype": 1,
    "-used": 1, "-context": 1, "-fprint": 1, "-fprint0": 1, "-fls": 1, "-printf": 1,
    "-fprintf": 2, "-regextype": 1, "-newerXY": 1, "-files0-from": 1, "-D": 1,
}
#: Only a filter on names narrows what find yields to something other than "everything below".
_FIND_NAME_FILTERS = {"-name", "-iname", "-path", "-ipath", "-regex", "-iregex", "-wholename",
                      "-iwholename", "-lname", "-ilname"}
_FIND_WRITES = {"-fprint", "-fprint0", "-fls", "-fprintf"}


@dataclass(slots=True)
class FindPlan:
    roots: list[Arg] = field(default_factory=list)
    filtered: bool = False
    delete: bool = False
    names: list[str] = field(default_factory=list)
    execs: list[list[Arg]] = field(default_factory=list)
    written: list[Arg] = field(default_factory=list)
    follows_links: bool = False
    dynamic_expression: bool = False

    def targets(self) -> list[tuple[Arg, bool]]:
        """(path, is-the-root-itself) for what the actions touch."""
        out = []
        for root in self.roots:
            if not self.filtered:
                out.append((root, False))
                continue
            name = self.names[0] if len(self.names) == 1 else ""
            base = root.text.rstrip("/")
            out.append((Arg(f"{base}/{BELOW}{name}", root.static, True, root.sources), False))
        return out


def find(args: Sequence[Arg]) -> FindPlan:
    plan = FindPlan()
    i, n = 0, len(args)
    while (i < n and args[i].text in ("-H", "-L", "-P", "-f", "-E", "-X", "-s", "-x")) or (
            i < n and args[i].text.startswith("-O") and len(args[i].text) <= 3):
        t = args[i].text
        if t == "-L":
            plan.follows_links = True
        if t == "-f" and i + 1 < n:
            plan.roots.append(args[i + 1])
            i += 1
        i += 1
    while i < n:
        t = args[i].text
        if t.startswith("-") or t in ("(", ")", "!", ","):
            break
        plan.roots.append(args[i])
        i += 1
    if not plan.roots:
        plan.roots.append(Arg("."))
    while i < n:
        a = args[i]
        t = a.text
        if not a.static and DYN in t:
            plan.dynamic_expression = True
        if t in ("-exec", "-execdir", "-ok", "-okdir"):
            j = i + 1
            cmd: list[Arg] = []
            while j < n and args[j].text not in (";", "+", "\\;"):
                cmd.append(args[j])
                j += 1
            plan.execs.append(cmd)
            i = j + 1
            continue
        if t == "-delete":
            plan.delete = True
        elif t == "-follow":
            plan.follows_links = True
        elif t in _FIND_NAME_FILTERS:
            plan.filtered = True
        if t in ("-name", "-iname") and i + 1 < n:
            plan.names.append(args[i + 1].text)
        if t in _FIND_WRITES and i + 1 < n:
            plan.written.append(args[i + 1])
        i += 1 + _FIND_ARITY.get(t, 0)
    return plan


def exec_lines(plan: FindPlan) -> list[list[Arg]]:
    """The -exec templates with `{}` filled by each target find would pass."""
    out = []
    for template in plan.execs:
        for target, _ in plan.targets():
            line = []
            for a in template:
                if "{}" in a.text:
                    line.append(Arg(a.text.replace("{}", target.text), a.static and target.static,
                                    a.glob, a.sources + target.sources))
                else:
                    line.append(a)
            out.append(line)
    return out
