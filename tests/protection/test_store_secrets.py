"""Snapshot-store keys live in the credential store, never in safehold.toml in clear.

The store names a credential; the server and the CLI open it from the credential store. With
no AWS variable and no boto3 credential file, a snapshot to S3 works only if the keys really
came from there. A key written in the file is refused, a missing credential is a clear error,
the value appears in nothing safehold writes, and the gateway never forwards such a credential.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from safehold.config import parse_config_file
from safehold.errors import ConfigError

SAFEHOLD = str(Path(sys.executable).with_name("safehold"))
KEY_ID = "AKIASTOREKEY7Q2W"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYstoreSECRET91"


def _env(tmp_path: Path) -> dict[str, str]:
    """No AWS key anywhere boto3 would look: the store's keys must come from safehold."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_EC2_METADATA_DISABLED="true")
    return env


def _config(root: Path, endpoint: str, store_body: str) -> Path:
    path = root / "safehold.toml"
    path.write_text(f"""
database_url = "sqlite:///{root / 'safehold.db'}"

[server]
secret_key = "{root / 'server' / 'secret.key'}"

[environments.production]
protected = true
paths = ["{root / 'data'}"]

[snapshots]
store = "vault"

[snapshots.stores.vault]
kind = "s3"
bucket = "locked"
endpoint_url = "{endpoint}"
{store_body}
""")
    return path


def _run(config: Path, env: dict[str, str], *args: str,
         stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SAFEHOLD, *args, "--config", str(config)], input=stdin, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def _db(root: Path) -> Path:
    (root / "data").mkdir(exist_ok=True)
    path = root / "data" / "shop.db"
    with sqlite3.connect(path) as c:
        c.execute("CREATE TABLE orders (id)")
        c.executemany("INSERT INTO orders VALUES (?)", [(i,) for i in range(50)])
    return path


@pytest.mark.parametrize("key", ["secret_access_key", "access_key_id", "aws_secret_access_key",
                                 "password"])
def test_a_key_written_in_the_file_is_refused_and_not_repeated(tmp_path: Path, key: str) -> None:
    path = _config(tmp_path, "http://127.0.0.1:9", f'{key} = "{SECRET}"')
    with pytest.raises(ConfigError) as err:
        parse_config_file(path)
    message = str(err.value)
    assert f"snapshots.stores.vault.{key}" in message
    assert "credential store" in message and "credential = " in message
    assert SECRET not in message


def test_snapshot_to_s3_with_keys_from_the_credential_store(
    s3: tuple[str, Any], tmp_path: Path
) -> None:
    endpoint, client = s3
    env = _env(tmp_path)
    config = _config(tmp_path, endpoint, 'credential = "vault-keys"\nprefix = "cli"')
    source = _db(tmp_path)
    outputs: list[str] = []

    missing = _run(config, env, "snapshot", str(source))
    outputs += [missing.stdout, missing.stderr]
    assert missing.returncode != 0
    assert "credential 'vault-keys'" in missing.stderr
    assert "safehold credentials add vault-keys --provider snapshot-store" in missing.stderr

    added = _run(config, env, "credentials", "add", "vault-keys", "--provider", "snapshot-store",
                 "--env", "production", stdin=f"{KEY_ID}:{SECRET}\n")
    outputs += [added.stdout, added.stderr]
    assert added.returncode == 0, added.stderr

    taken = _run(config, env, "snapshot", str(source))
    outputs += [taken.stdout, taken.stderr]
    assert taken.returncode == 0, taken.stderr
    snapshot_id = taken.stdout.strip().splitlines()[-1]
    assert client.head_object(Bucket="locked", Key=f"cli/{snapshot_id}/manifest.json")

    listed = _run(config, env, "snapshots", "list")
    restored = _run(config, env, "restore", snapshot_id, "--to", str(tmp_path / "copy.db"))
    audit = _run(config, env, "audit", "tail", "-n", "100")
    creds = _run(config, env, "credentials", "list")
    for r in (listed, restored, audit, creds):
        outputs += [r.stdout, r.stderr]
        assert r.returncode == 0, r.stderr
    assert snapshot_id in listed.stdout
    with sqlite3.connect(tmp_path / "copy.db") as c:
        assert c.execute("SELECT count(*) FROM orders").fetchone() == (50,)
    assert "vault-keys" in creds.stdout and "snapshot-store" in creds.stdout

    for p in tmp_path.rglob("*"):
        if p.is_file():
            assert SECRET.encode() not in p.read_bytes(), f"secret in {p}"
    for text in outputs:
        assert SECRET not in text


def test_a_provider_token_is_not_taken_for_store_keys(s3: tuple[str, Any], tmp_path: Path) -> None:
    endpoint, _ = s3
    env = _env(tmp_path)
    config = _config(tmp_path, endpoint, 'credential = "rw-prod"')
    added = _run(config, env, "credentials", "add", "rw-prod", "--provider", "railway", "--env",
                 "production", stdin="AKIAX:rw-token-value\n")
    assert added.returncode == 0, added.stderr
    r = _run(config, env, "snapshot", str(_db(tmp_path)))
    assert r.returncode != 0
    assert "is a railway credential, not a snapshot store's keys" in r.stderr
    assert "rw-token-value" not in r.stderr + r.stdout


def test_the_server_opens_store_keys_from_the_credential_store(
    s3: tuple[str, Any], tmp_path: Path
) -> None:
    from safehold.credentials.keys import key_dir_for
    from safehold.credentials.store import CredentialStore
    from safehold.protection.drivers import driver_named
    from safehold.protection.interface import Capture
    from safehold.protection.snapshot import take
    from safehold.service import Safehold

    endpoint, _ = s3
    config = parse_config_file(_config(tmp_path, endpoint, 'credential = "vault-keys"'))
    settings = config.snapshots.store("vault")
    assert settings is not None
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("AWS_")}
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.environ["AWS_CONFIG_FILE"] = str(
        tmp_path / "none")
    try:
        with Safehold.open(config, notify_in_background=False) as sh:
            CredentialStore.open(sh.store, sh.audit, key_dir_for(config)).add(
                "vault-keys", "snapshot-store", "production", f"{KEY_ID}:{SECRET}")
            m = take(Capture("sqlite", str(_db(tmp_path)), "file"), driver_named("sqlite"),
                     sh.snapshot_first.stores(settings), retention_seconds=60)
            assert m.locked and m.store == "vault"
    finally:
        for k in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
            os.environ.pop(k, None)
        os.environ.update(saved)
