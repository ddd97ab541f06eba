"""Data-protection fixtures: a store directory on another filesystem than the test's data
(/dev/shm is a tmpfs; the temp dirs and the test PostgreSQL live on the root filesystem)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="module")
def s3() -> Iterator[tuple[str, Any]]:
    """A real S3-compatible server (moto's) on a free loopback port, with a bucket that has
    Object Lock (`locked`) and one that has not (`plain`)."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket="locked", ObjectLockEnabledForBucket=True)
    client.create_bucket(Bucket="plain")
    try:
        yield endpoint, client
    finally:
        server.stop()
