"""bash as the oracle: the commands the analysis finds are the commands bash reads.

`oracle.py` asks bash for its canonical form of a command without running any of it; the
first tests prove nothing runs, the property test compares, over generated inputs full of the
shapes the parser gets wrong (line continuations, backslash-led lines, `time`/`!` before
compound commands, long pipelines before redirections), the command names the analysis
dispatches with the names in bash's canonical form. Where they differ the analysis must have
recorded an unknown, so the decision is at least ask.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safehold.analysis.interface import AnalysisContext
from safehold.analysis.shell import oracle
from safehold.analysis.shell.analyzer import ShellAnalyzer
from safehold.analysis.shell.dispatch import Dispatcher
from safehold.analysis.shell.paths import PathClassifier
from safehold.analysis.shell.state import State
from safehold.analysis.shell.walk import Walker
from safehold.analysis.shell.words import Arg, Output, Scope
from safehold.model import Action

pytestmark = pytest.mark.skipif(oracle.bash_path() is None,
                                reason="needs bash 5.2 or later (--pretty-print)")
PROJECT = "/home/dev/project"


# -- the oracle runs nothing ------------------------------------------------------------------

def _payloads(marker: Path) -> list[str]:
    """Inputs that would create `marker` if bash ran any part of them: with a builtin
    redirection (needs no PATH) and with a program named by its full path."""
    out = []
    for act in (f": > {marker}", f"/usr/bin/touch {marker}"):
        out += [act, f"echo $({act})", f"echo `{act}`", f"cat <({act})", f"}}; {act}; f() {{",
                f"exit 0; {act}", f"{act} &", f"cat <<EOF\n$({act})\nEOF", f"trap '{act}' EXIT",
                f"PROMPT_COMMAND='{act}'", f"eval '{act}'", f"f() {{ {act}; }}; f",
                f"x=$({act}) true", f"if {act}; then :; fi"]
    return out


def test_oracle_runs_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "created"
    startup = tmp_path / "bash_env"
    startup.write_text(f": > {marker}\n")
    # A start-up file named in the caller's environment is not read: the oracle's bash gets
    # an environment of its own.
    monkeypatch.setenv("BASH_ENV", str(startup))
    monkeypatch.setenv("ENV", str(startup))
    resident = oracle.ResidentOracle()
    try:
        for payload in _payloads(marker):
            assert oracle.canonical(payload).text is not None
            resident.read(payload)
            assert not marker.exists(), payload
    finally:
        resident.close()
    assert not marker.exists()


def test_payloads_are_live(tmp_path: Path) -> None:
    """The control: run by bash (as `-c` would, even in pretty-print mode), a payload does
    create the file, so the test above would see an oracle that executes."""
    marker = tmp_path / "created"
    for payload in _payloads(marker)[:4]:
        subprocess.run([oracle.bash_path() or "bash", "--pretty-print", "-c", payload],
                       capture_output=True, timeout=10, cwd=tmp_path)
        assert marker.exists(), payload
        marker.unlink()


def test_oracle_reads_as_bash_reads() -> None:
    assert oracle.canonical("r\\\nm -rf ~").text.strip() == "rm -rf ~"
    assert not oracle.canonical("echo (").ok
    resident = oracle.ResidentOracle(timeout=0.3)
    try:
        assert resident.read("ls |\ncat").text.strip() == "ls | cat"
        assert not resident.read("echo 'open").ok  # the sentinel is swallowed: restarted
        assert not resident.read("if true; then").ok
        assert resident.read("ls").text.strip() == "ls"
    finally:
        resident.close()


# -- the property: the analysis finds the commands bash reads ---------------------------------

NAMES = ["ls", "cat", "rm", "wc", "grep", "mkdir", "touch", "sort"]
_RESERVED = {"{", "}", "!", "time", "if", "then", "else", "elif", "fi", "do", "done", "while",
             "until", "coproc"}


def spelled(name: str) -> st.SearchStrategy[str]:
    forms = [name, "\\" + name, name[0] + "''" + name[1:], f'"{name}"']
    if len(name) > 1:
        forms += [name[0] + "\\\n" + name[1:], name[:1] + '"' + name[1:] + '"']
    return st.sampled_from(forms)


ARGS = st.sampled_from(["-l", "x", "~", "'a b'", '"q"', "-rf", "f.txt", "\\\n  -n", "2>&1",
                        "< f", "> out", ">> log"])
SIMPLE = st.builds(
    lambda assign, name, args: assign + name + "".join(" " + a for a in args),
    st.sampled_from(["", "", "X=1 "]),
    st.sampled_from(NAMES).flatmap(spelled),
    st.lists(ARGS, max_size=3),
)
PIPELINE = st.builds(lambda prefix, cmds: prefix + " | ".join(cmds),
                     st.sampled_from(["", "", "! ", "time ", "time -p "]),
                     st.lists(SIMPLE, min_size=1, max_size=4))
SEPARATORS = st.sampled_from(["; ", "\n", " && ", " || ", "\n\n", " &\n"])


def _join(parts: list[str], seps: list[str]) -> str:
    out = parts[0]
    for p, s in zip(parts[1:], seps, strict=False):
        out += s + p
    return out


def _lists(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(inner, min_size=1, max_size=4).flatmap(
        lambda parts: st.lists(SEPARATORS, min_size=len(parts) - 1,
                               max_size=len(parts) - 1).map(lambda seps: _join(parts, seps)))


def _compound(body: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        body.map(lambda b: f"{{ {b}\n}}"), body.map(lambda b: f"( {b} )"),
        body.map(lambda b: f"if true; then {b}\nfi"),
        body.map(lambda b: f"for i in a b; do {b}\ndone"),
        body.map(lambda b: f"while false; do {b}\ndone"),
        st.tuples(st.sampled_from(["time ", "! ", "time -p ", "coproc "]), body).map(
            lambda t: f"{t[0]}{{ {t[1]}\n}}"),
    )


STATEMENT = st.recursive(PIPELINE, lambda inner: _compound(_lists(inner)), max_leaves=6)
PROGRAM = st.tuples(_lists(STATEMENT), st.sampled_from(["", "", "\nwc -l < f",
                                                         "\ncat <<EOF\nbody\nEOF"])).map(
    lambda t: t[0] + t[1])


def _words(line: str) -> Iterator[tuple[str, str]]:
    """(kind, text) tokens of one canonical line: 'op' for separators, 'w' for words."""
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c in " \t":
            i += 1
            continue
        for op in ("&&", "||", "|&", ";;", ";", "|", "&", "(", ")"):
            if line.startswith(op, i):
                yield "op", op
                i += len(op)
                break
        else:
            j, word = i, ""
            while j < n and (line[j] not in " \t;|&()" or
                             (line[j] == "&" and j > i and line[j - 1] in "<>")):
                ch = line[j]
                if ch == "\\" and j + 1 < n:
                    word += line[j:j + 2]
                    j += 2
                elif ch in "'\"":
                    k = line.index(ch, j + 1)
                    word += line[j:k + 1]
                    j = k + 1
                else:
                    word += ch
                    j += 1
            yield "w", word
            i = j


def _dequote(word: str) -> str:
    return re.sub(r"\\(.)|'([^']*)'|\"((?:[^\"\\\\]|\\\\.)*)\"",
                  lambda m: m.group(1) or m.group(2) or m.group(3) or "", word)


def bash_commands(canonical: str) -> set[str]:
    """Command names in bash's canonical form (for the generated grammar)."""
    names: set[str] = set()
    heredoc: str | None = None
    for line in canonical.split("\n"):
        if heredoc is not None:
            if line.strip() == heredoc:
                heredoc = None
            continue
        start, skip_redirect, in_for = True, False, False
        for kind, tok in _words(line):
            if kind == "op":
                start, skip_redirect, in_for = True, False, False
                continue
            if in_for:
                continue
            if tok.startswith("<<"):
                heredoc = tok[2:].strip("'\"")
                continue
            if skip_redirect:
                skip_redirect = False
                continue
            if re.fullmatch(r"\d*(<|>|>>|>&|<&)", tok):
                skip_redirect = True
                continue
            if re.fullmatch(r"\d*(>|>>|<)\S+|\d*>&\d", tok):
                continue
            if not start:
                continue
            if tok in _RESERVED or tok == "-p":
                continue
            if tok == "for":
                in_for = True
                continue
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=\S*", tok):
                continue
            if tok == "COPROC":  # bash prints the coprocess's default name
                continue
            names.add(_dequote(tok))
            start = False
    return names


class _Recording(Dispatcher):
    def __init__(self, state: State):
        super().__init__(state)
        self.names: set[str] = set()

    def run(self, argv: list[Arg], *args, **kwargs) -> Output:  # type: ignore[no-untyped-def]
        if argv and argv[0].static:
            self.names.add(argv[0].text)
        return super().run(argv, *args, **kwargs)


_ANALYZER = ShellAnalyzer()


def safehold_commands(text: str) -> tuple[set[str], int]:
    """Command names the analysis dispatches, and how many unknowns it recorded."""
    ctx = AnalysisContext(Action("shell", text, cwd=PROJECT), home="/home/dev", tmpdir="/tmp")
    state = State(ctx=ctx, catalog=_ANALYZER.catalog,
                  paths=PathClassifier(_ANALYZER.path_data, "/home/dev", "/tmp"),
                  credentials=_ANALYZER.credentials, max_depth=8)
    dispatcher = _Recording(state)
    Walker(state, dispatcher).run_text(text, Scope({}, PROJECT, {"HOME": "/home/dev"}))
    return dispatcher.names - {"time", "!"}, len(state.unknowns)


@pytest.fixture(scope="module")
def resident() -> Iterator[oracle.ResidentOracle]:
    o = oracle.ResidentOracle(timeout=2.0)
    yield o
    o.close()


@settings(max_examples=int(os.environ.get("SAFEHOLD_ORACLE_EXAMPLES", "250")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow,
                                 HealthCheck.function_scoped_fixture])
@given(PROGRAM)
def test_analysis_finds_the_commands_bash_reads(resident: oracle.ResidentOracle,
                                                text: str) -> None:
    reading = resident.read(text)
    found, unknowns = safehold_commands(text)
    if not reading.ok:
        assert unknowns, f"bash cannot read {text!r} ({reading.error}) but the analysis did"
        return
    expected = bash_commands(reading.text)
    assert found == expected or unknowns, (
        f"{text!r}\nbash reads: {sorted(expected)} ({reading.text!r})\n"
        f"analysis found: {sorted(found)} with no unknown")


@pytest.mark.parametrize("text,names", [
    ("true\n\\rm -rf ~", {"true", "rm"}),
    ("ls | cat | cat\nrm -rf ~\nwc -l < f", {"ls", "cat", "rm", "wc"}),
    ("time { rm -rf ~; }", {"rm"}),
    ("r\\\nm -rf ~", {"rm"}),
    ("! for i in 1; do rm x; done", {"rm"}),
    ("m|a|b|c<f\nsort>r|d>1", {"m", "a", "b", "c", "sort", "d"}),
    ("time { ( ls )\n}", {"ls"}),
])
def test_table_shapes_agree_with_bash(resident: oracle.ResidentOracle, text: str,
                                      names: set[str]) -> None:
    assert bash_commands(resident.read(text).text) == names
    assert safehold_commands(text)[0] == names
