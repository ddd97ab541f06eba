"""Path classes decide what deleting a path costs; the lists behind them are data."""

from __future__ import annotations

import pytest

from safehold.analysis.shell.paths import DYN, PathClassifier
from safehold.catalog.pathdata import load_path_data

HOME = "/home/dev"
CWD = "/home/dev/project"


@pytest.fixture(scope="module")
def paths() -> PathClassifier:
    return PathClassifier(load_path_data(), HOME, "/tmp")


@pytest.mark.parametrize(("path", "expected"), [
    ("node_modules", "routine"),
    ("./build", "routine"),
    ("src/__pycache__", "routine"),
    ("pkg/module.pyc", "routine"),
    ("/tmp/scratch", "routine"),
    ("/var/tmp/cache", "routine"),
    ("/tmp/*", "routine"),
    ("/dev/null", "routine"),
    ("src", "workspace"),
    ("README.md", "workspace"),
    ("../other", "outside"),
    ("~/Documents", "outside"),
    ("/srv-data/x", "outside"),
    (".", "protected"),
    ("*", "protected"),
    ("..", "critical"),
    ("../project", "protected"),
    (".git", "protected"),
    ("sub/.git/HEAD", "protected"),
    ("data/app.db", "protected"),
    ("var/pgdata", "protected"),
    ("/tmp", "protected"),
    ("/mnt/backups", "protected"),
    ("~/notes.sqlite3", "protected"),
    ("/", "critical"),
    ("~", "critical"),
    ("/home", "critical"),
    ("/etc", "critical"),
    ("/usr/local/lib", "critical"),
    ("/dev/sda", "critical"),
    ("/dev/nvme0n1p1", "critical"),
    ("~/*", "critical"),
    ("/tmp/../etc", "critical"),
    ("build/../../..", "critical"),
    (f"{DYN}/x", "unknown"),
])
def test_path_class(paths: PathClassifier, path: str, expected: str) -> None:
    assert paths.classify(path, CWD, workspace=CWD)[0] == expected


def test_relative_path_without_known_cwd_is_unknown(paths: PathClassifier) -> None:
    assert paths.classify("build", None)[0] == "unknown"
    assert paths.classify("/etc", None)[0] == "critical"


def test_home_or_system_cwd_grants_no_workspace(paths: PathClassifier) -> None:
    assert paths.classify("build", HOME, workspace=HOME)[0] == "outside"
    assert paths.classify("lib", "/usr", workspace="/usr")[0] == "critical"


def test_project_under_a_system_directory_still_has_a_workspace(paths: PathClassifier) -> None:
    assert paths.classify("dist", "/opt/app", workspace="/opt/app")[0] == "routine"
    assert paths.classify("/opt/app", "/opt/app", workspace="/opt/app")[0] == "protected"


def test_the_working_directory_is_not_the_workspace(paths: PathClassifier) -> None:
    """Where relative paths resolve moves with `cd`; what counts as the workspace does not."""
    assert paths.classify("dist", HOME + "/other", workspace=CWD)[0] == "outside"
    assert paths.classify("dist", CWD + "/sub", workspace=CWD)[0] == "routine"
    assert paths.classify("dist", CWD)[0] == "outside"
