"""Data-protection fixtures: a store directory on another filesystem than the test's data
(/dev/shm is a tmpfs; the temp dirs and the test PostgreSQL live on the root filesystem)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

OFFSITE_PARENT = "/dev/shm"


@pytest.fixture
def offsite(tmp_path: Path) -> Iterator[Path]:
    if not os.path.isdir(OFFSITE_PARENT) or os.stat(OFFSITE_PARENT).st_dev == tmp_path.stat(
    ).st_dev:
        pytest.skip("no second filesystem for an independent store")
    root = Path(tempfile.mkdtemp(prefix="safehold-offsite-", dir=OFFSITE_PARENT))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)
