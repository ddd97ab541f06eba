"""The loader refuses malformed family files with an error naming the file and the entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from safehold.catalog import load_catalog, load_catalog_from
from safehold.catalog.matcher import match_family, parse_args
from safehold.catalog.pathdata import load_path_data
from safehold.errors import CatalogError

GOOD_ENTRY = """
  - id: demo:wipe
    effect: destructive
    reason: Wipes the demo store.
    when:
      subcommand: [wipe]
      flags_none: [--dry-run]
    examples:
      match: ["demo wipe"]
      no_match: ["demo list"]
"""


def _write(tmp_path: Path, body: str, name: str = "demo.yaml") -> Path:
    d = tmp_path / "cat"
    d.mkdir(exist_ok=True)
    (d / name).write_text(body)
    return d


def test_user_catalog_loads_next_to_builtin(tmp_path: Path) -> None:
    d = _write(tmp_path, "family: demo\ncommands: [demo]\nentries:" + GOOD_ENTRY)
    cat = load_catalog([d])
    assert "demo:wipe" in cat.by_id and "git:reset-hard" in cat.by_id
    assert [m.entry.id for m in match_family(cat.families_for("demo")[0], ["wipe"], "demo")] == [
        "demo:wipe"]


def test_builtin_catalog_is_parsed_once_per_process() -> None:
    assert load_catalog() is load_catalog()


@pytest.mark.parametrize(("body", "message"), [
    ("family: demo\ncommands: [demo]\nentries:" + GOOD_ENTRY.replace("destructive", "fatal"),
     "entry 'demo:wipe': effect"),
    ("family: demo\ncommands: [demo]\nentries:"
     + GOOD_ENTRY.replace("reason:", "colour: x\n    reason:"),
     "entry 'demo:wipe': unknown keys: ['colour']"),
    ("family: demo\ncommands: [demo]\nentries:" + GOOD_ENTRY.replace("demo:wipe", "other:wipe"),
     "must start with the family name"),
    ("family: demo\ncommands: [demo]\nentries:" + GOOD_ENTRY.replace('no_match: ["demo list"]', ""),
     "at least one match and one no_match"),
    ("family: demo\ncommands: [demo]\nentries:" + GOOD_ENTRY.replace("flags_none: [--dry-run]",
                                                                    "args_any: ['(']"),
     "bad regex"),
    ("family: demo\ncommands: [demo]\nentries:" + GOOD_ENTRY.replace("subcommand: [wipe]",
                                                                    "construct: teleport"),
     "construct must be one of"),
    ("family: demo\ncommands: [demo]\nentries:" + GOOD_ENTRY + "    paths: {nowhere: write}\n",
     "unknown path class"),
    ("family: demo\nentries:" + GOOD_ENTRY, "commands are required"),
    ("family: demo\ncommands: [demo]\nentries: []\n", "entries must be a non-empty list"),
    ("family: [demo\n", "not valid YAML"),
])
def test_malformed_family_names_file_and_entry(tmp_path: Path, body: str, message: str) -> None:
    d = _write(tmp_path, body)
    with pytest.raises(CatalogError) as err:
        load_catalog_from([d])
    assert "demo.yaml" in str(err.value)
    assert message in str(err.value)


def test_duplicate_id_across_files_is_an_error(tmp_path: Path) -> None:
    d = _write(tmp_path, "family: demo\ncommands: [demo]\nentries:" + GOOD_ENTRY, "a.yaml")
    _write(tmp_path, "family: demo\ncommands: [demo2]\nentries:" + GOOD_ENTRY, "b.yaml")
    with pytest.raises(CatalogError, match="already defined in"):
        load_catalog_from([d])


def test_missing_user_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="does not exist"):
        load_catalog_from([tmp_path / "nope"])


@pytest.mark.parametrize(("args", "owv", "flags", "positionals"), [
    (["-C", "dir", "push", "-f"], {"-C"}, {"-C", "-f"}, ("push",)),
    (["-fd"], set(), {"-f", "-d"}, ()),
    (["--force=true", "x"], set(), {"--force"}, ("x",)),
    (["--", "-f"], set(), {"--"}, ("-f",)),
    (["-Crepo", "reset"], {"-C"}, {"-C"}, ("reset",)),
])
def test_parse_args_reads_options_like_the_tools(args: list[str], owv: set[str], flags: set[str],
                                                 positionals: tuple[str, ...]) -> None:
    parsed = parse_args(args, frozenset(owv))
    assert set(parsed.flags) == flags
    assert parsed.positionals == positionals


def test_negated_long_option_cancels_the_earlier_one() -> None:
    parsed = parse_args(["--force", "--no-force"], frozenset(), negatable=True)
    assert "--force" not in parsed.flags


def test_path_data_loads_and_matches_build_outputs() -> None:
    data = load_path_data()
    assert data.routine_re.match("node_modules") and data.routine_re.match("x.pyc")
    assert data.database_re.match("app.sqlite3") and not data.routine_re.match("src")
