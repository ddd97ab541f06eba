"""Run the peer guards' public test cases through safehold's own decision path.

Each case is a command and the peer's verdict (block / allow). We decide it with
`Guard.load().decide()` — the path every surface uses — in a fixed working directory, home and
temp dir, and compare: a peer's `block` agrees with anything but allow, a peer's `allow` with
allow. Cases where we disagree on purpose are listed, with the reason, in `disagreements.yaml`.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

import corpora
from safehold.decide import Guard
from safehold.model import Action

HERE = Path(__file__).parent
DISAGREEMENTS = HERE / "disagreements.yaml"
FLOORS = HERE / "floors.json"

#: The fixed world the cases are decided in (the peers' tests use a project directory under
#: the user's home and the system temp dir).
HOME = "/home/user"
PROJECT = "/home/user/project"
TMPDIR = "/tmp"


@dataclass(frozen=True, slots=True)
class Case:
    corpus: str
    cmd: str
    expect: str  # block | allow
    source: str
    group: str   # dcg pack or cc-safety-net mode
    context: str

    @property
    def key(self) -> str:
        return f"{self.corpus}|{self.expect}|{self.cmd}"


def load_cases() -> list[Case]:
    root = corpora.find()
    if root is None:
        raise FileNotFoundError(corpora.missing_reason())
    out: list[Case] = []
    for line in (root / "dcg-cases.jsonl").read_text().splitlines():
        d = json.loads(line)
        out.append(Case("dcg", d["cmd"], d["expect"], d["source"], d["packs"], ""))
    for line in (root / "cc-safety-net-cases.jsonl").read_text().splitlines():
        d = json.loads(line)
        out.append(Case("cc-safety-net", d["cmd"], d["expect"], d["source"], d["mode"],
                        d.get("context", "")))
    return out


def in_scope(case: Case) -> bool:
    """The cases with a floor: dcg's default packs, cc-safety-net's standard mode."""
    return (case.corpus == "dcg" and case.group == "default") or (
        case.corpus == "cc-safety-net" and case.group == "standard")


def cwd_for(case: Case) -> str:
    return HOME if case.context == "cwd=home" else PROJECT


def load_disagreements() -> dict[str, str]:
    raw = yaml.safe_load(DISAGREEMENTS.read_text()) or []
    out: dict[str, str] = {}
    for item in raw:
        key = f"{item['corpus']}|{item['expect']}|{item['cmd']}"
        out[key] = item["reason"]
    return out


@dataclass
class Tally:
    agree: int = 0
    disagree: int = 0
    reviewed: int = 0
    failures: list[tuple[Case, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.agree + self.disagree + self.reviewed

    def rate(self) -> float:
        """Agreement with reviewed disagreements set apart."""
        judged = self.agree + self.disagree
        return self.agree / judged if judged else 1.0

    def raw_rate(self) -> float:
        """Plain agreement with the peer, counting every case."""
        return self.agree / self.total if self.total else 1.0


@dataclass
class Report:
    by_expect: dict[str, Tally]
    by_source: dict[tuple[str, str], Tally]
    by_pack: dict[str, Tally]
    unused_disagreements: list[str]


class _World:
    """Sets HOME and TMPDIR for the duration of a run (the analysis reads them per action)."""

    def __enter__(self) -> None:
        self.saved = {k: os.environ.get(k) for k in ("HOME", "TMPDIR")}
        os.environ["HOME"], os.environ["TMPDIR"] = HOME, TMPDIR

    def __exit__(self, *exc: object) -> None:
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def decisions(cases: list[Case], guard: Guard | None = None) -> Iterator[tuple[Case, bool, str]]:
    guard = guard or Guard.load()
    with _World():
        for case in cases:
            d = guard.decide(Action("shell", case.cmd, cwd=cwd_for(case)))
            why = "; ".join(d.reasons)[:300]
            yield case, d.allowed, why


def run(cases: list[Case] | None = None) -> Report:
    cases = cases if cases is not None else load_cases()
    reviewed = load_disagreements()
    used: set[str] = set()
    by_expect: dict[str, Tally] = defaultdict(Tally)
    by_source: dict[tuple[str, str], Tally] = defaultdict(Tally)
    by_pack: dict[str, Tally] = defaultdict(Tally)
    for case, allowed, why in decisions(cases):
        agrees = allowed == (case.expect == "allow")
        if in_scope(case):
            tallies = [by_expect[f"{case.corpus}:{case.expect}"],
                       by_source[(case.corpus, case.source)]]
        else:
            tallies = [by_pack[f"{case.corpus}:{case.group}"]]
        for t in tallies:
            if agrees:
                t.agree += 1
            elif case.key in reviewed:
                t.reviewed += 1
            else:
                t.disagree += 1
                t.failures.append((case, why))
        if not agrees and case.key in reviewed:
            used.add(case.key)
    unused = [k for k in reviewed if k not in used]
    return Report(dict(by_expect), dict(by_source), dict(by_pack), unused)


def format_report(report: Report) -> str:
    lines = ["peer corpus agreement (reviewed disagreements counted apart)", ""]
    lines.append(f"{'scope':46} {'agree':>6} {'differ':>6} {'review':>6} {'rate':>7} {'raw':>7}")
    for name, t in sorted(report.by_expect.items()):
        lines.append(f"{name:46} {t.agree:6} {t.disagree:6} {t.reviewed:6} {t.rate():7.1%} "
                     f"{t.raw_rate():7.1%}")
    lines += ["", "per source file"]
    for (corpus, source), t in sorted(report.by_source.items()):
        label = f"{corpus}:{source.rsplit('/', 1)[-1]}"[:46]
        lines.append(f"{label:46} {t.agree:6} {t.disagree:6} {t.reviewed:6} {t.rate():7.1%} "
                     f"{t.raw_rate():7.1%}")
    lines += ["", "opt-in packs / other modes (no floor)"]
    for name, t in sorted(report.by_pack.items()):
        lines.append(f"{name[:46]:46} {t.agree:6} {t.disagree:6} {t.reviewed:6} {t.rate():7.1%} "
                     f"{t.raw_rate():7.1%}")
    return "\n".join(lines)
