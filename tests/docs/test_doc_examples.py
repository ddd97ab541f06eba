"""Every example in docs/ and README.md is checked against the code it describes.

Each fenced block is taken by the checker for its language: Cedar is loaded with the built-in
policy (parsed and validated against the schema), a policy test file is run by `safehold policy
test` against the page's own policy, TOML is parsed as a `safehold.toml`, catalog YAML through
the catalog's own schema, JSON is parsed. Every `safehold …` command line, in a block of any
language or in an inline code span, must name a real command and only options that command
has. A block no checker takes fails the test, so a new example cannot slip in unchecked.
(The walkthroughs are run for real by tests/docs/test_readme_walkthrough.py and
tests/server/test_walkthrough.py.)
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from safehold.cli import build_app

ROOT = Path(__file__).resolve().parents[2]
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
SAFEHOLD = str(Path(sys.executable).with_name("safehold"))


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    lang: str
    text: str

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line} ({self.lang or 'no language'})"


def blocks(page: Path) -> list[Block]:
    out: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    start: int | None = None
    lang = ""
    for i, line in enumerate(lines):
        if line.startswith("```"):
            if start is None:
                start, lang = i, line[3:].strip()
            else:
                out.append(Block(page, start + 1, lang, "\n".join(lines[start + 1:i]) + "\n"))
                start = None
    assert start is None, f"{page}: unclosed code block at line {start}"
    return out


ALL = [b for page in PAGES for b in blocks(page)]


# --- safehold command lines: the command exists, and so does every option given

COMMAND = re.compile(r"(?:^|[\s(|;&`])(?:\S*/)?safehold((?:\s+[a-z][a-z-]*)*)([^`\n]*)")
LEADING = re.compile(r"^(?:sudo\s+|[A-Z_]+=\S*\s+|[A-Z_]+=\$\()*(?:\S*/)?safehold\s")
HOOK_OPTIONS = {"--client", "--stop-daemon"}  # `safehold hook` is dispatched before the CLI


def command_lines(text: str, commands: set[str], prompts_only: bool = False) -> list[str]:
    """Every `safehold …` invocation in the text (a prompt's `$ ` and comments removed). A
    line that begins with `safehold` must be a command; elsewhere on a line (prose, program
    output quoted in a session) only words that start with a command are one."""
    found = []
    for raw in text.splitlines():
        if prompts_only and not re.match(r"^\s*\$\s", raw):
            continue
        line = re.sub(r"^\s*\$\s+", "", raw)
        line = re.split(r"\s#\s", line)[0]
        for n, m in enumerate(COMMAND.finditer(line)):
            words = m.group(1).split()
            at_start = n == 0 and bool(LEADING.match(line.strip()))
            if not at_start and (not words or words[0] not in commands):
                continue
            found.append("safehold" + m.group(1) + m.group(2))
    return found


def check_command(line: str, cli: Any) -> None:
    words = line.split()[1:]
    if words and words[0] == "hook":
        options = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", line))
        assert options <= HOOK_OPTIONS, f"{line}: safehold hook has no {options - HOOK_OPTIONS}"
        return
    cmd: Any = cli
    path = ["safehold"]
    for word in words:
        if not hasattr(cmd, "commands"):
            break
        sub = cmd.commands.get(word)
        if sub is None:
            if word.startswith("-") or not word[0].islower():
                break
            raise AssertionError(f"{line}: `{' '.join(path)}` has no command {word!r}")
        cmd, path = sub, [*path, word]
    rest = line.split(" ".join(path[1:]), 1)[-1] if len(path) > 1 else line
    rest = re.sub(r"'[^']*'|\"[^\"]*\"", "ARG", rest)  # quoted arguments are not options
    rest = re.split(r"\s\|\s|\)", rest)[0]  # a pipe or $( … ) ends the safehold command
    known = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
    for option in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", rest):
        assert option in known, f"{line}: `{' '.join(path)}` has no option {option}"


@pytest.fixture(scope="module")
def cli() -> Any:
    group = typer.main.get_command(build_app())
    assert hasattr(group, "commands")
    return group


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_safehold_command_in_the_docs_exists_with_its_options(
    page: Path, cli: Any
) -> None:
    commands = set(cli.commands) | {"hook"}
    lines: list[str] = []
    for block in blocks(page):
        if block.lang in ("sh", "console", "text", ""):
            prompts = block.lang == "console" and bool(re.search(r"^\s*\$\s", block.text, re.M))
            lines += command_lines(block.text, commands, prompts_only=prompts)
    prose = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    for span in re.findall(r"`([^`\n]*safehold[^`\n]*)`", prose):
        lines += command_lines(span, commands)
    for line in lines:
        check_command(line, cli)


def test_the_command_checker_catches_what_does_not_exist(cli: Any) -> None:
    check_command("safehold approvals approve ap_1 --as alice --comment ok", cli)
    for wrong in ("safehold approvals aprove ap_1", "safehold approvals approve ap_1 --who x",
                  "safehold tokens create x --role agent --owner y"):
        with pytest.raises(AssertionError):
            check_command(wrong, cli)


# --- fenced blocks, by language


def cedar_blocks(page: Path) -> list[Block]:
    return [b for b in ALL if b.page == page and b.lang == "cedar"]


def check_cedar(block: Block, tmp_path: Path) -> None:
    from safehold.policy.loader import load_bundle

    path = tmp_path / "example.cedar"
    path.write_text(block.text)
    load_bundle([path])  # raises PolicyError naming the line


def check_policy_cases(block: Block, tmp_path: Path) -> None:
    """Run the page's test file against the page's own policy, as `safehold policy test`."""
    cases = yaml.safe_load(block.text)
    policies = [b for b in cedar_blocks(block.page) if b.line < block.line]
    assert policies, f"{block}: expected the page to show the policy it tests before it"
    (tmp_path / cases["policy"]).write_text(policies[-1].text)  # the nearest one above
    (tmp_path / "cases.yaml").write_text(block.text)
    run = subprocess.run([SAFEHOLD, "policy", "test", "cases.yaml"], capture_output=True,
                         text=True, cwd=tmp_path, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert run.returncode == 0, f"{block}:\n{run.stdout}{run.stderr}"
    assert f"{len(cases['cases'])} passed, 0 failed" in run.stdout


def check_catalog_yaml(block: Block, tmp_path: Path) -> None:
    data = yaml.safe_load(block.text)
    if isinstance(data, list):  # one entry shown alone: a family around it
        data = {"family": data[0]["id"].split(":")[0], "commands": ["rm"], "entries": data}
    if "provider" in data:
        from safehold.analysis.http.catalog import parse_provider

        parse_provider(data, str(block))
    elif "servers" in data:
        from safehold.analysis.mcp.catalog import parse_family as parse_mcp

        parse_mcp(data, str(block))
    else:
        from safehold.catalog.schema import parse_family

        parse_family(data, str(block))


def check_yaml(block: Block, tmp_path: Path) -> None:
    if "cases:" in block.text:
        check_policy_cases(block, tmp_path)
    else:
        check_catalog_yaml(block, tmp_path)


def check_toml(block: Block, tmp_path: Path) -> None:
    from safehold.config import parse_config

    parse_config(block.text, path=tmp_path / "safehold.toml", environ={})


def check_json(block: Block, tmp_path: Path) -> None:
    json.loads(block.text)


def check_commands_or_output(block: Block, tmp_path: Path) -> None:
    """Shell sessions, command listings, program output and diagrams: the safehold command
    lines in them are checked by the command test above; nothing here may be Cedar, TOML or
    YAML in disguise."""
    first = block.text.lstrip().split("\n", 1)[0]
    assert not first.startswith(("@id", "permit", "forbid", "[", "policy:", "family:")), (
        f"{block}: looks like a policy or configuration; give it its language")


CHECKERS = {
    "cedar": check_cedar,
    "yaml": check_yaml,
    "toml": check_toml,
    "json": check_json,
    "sh": check_commands_or_output,
    "console": check_commands_or_output,
    "text": check_commands_or_output,
    "": check_commands_or_output,
}


@pytest.mark.parametrize("block", ALL, ids=str)
def test_doc_example(block: Block, tmp_path: Path) -> None:
    assert block.lang in CHECKERS, f"{block}: no checker for {block.lang!r} examples"
    CHECKERS[block.lang](block, tmp_path)
