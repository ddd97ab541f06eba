"""Signed checkpoints: an attacker who can write the database still cannot cut or rewrite the
audit chain without `safehold audit verify` saying so, with no anchor passed by hand."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from safehold.audit import AuditLog
from safehold.audit.checkpoint import Checkpoint, CheckpointFile
from safehold.audit.log import GENESIS, AuditEntry
from safehold.cli import build_app
from safehold.config import parse_config_file
from safehold.server.app import create_app
from safehold.service import Safehold
from safehold.store import open_store
from webhook_receiver import Receiver

runner = CliRunner()


def write_config(root: Path, extra: str = "") -> Path:
    path = root / "safehold.toml"
    path.write_text(
        f'database_url = "sqlite:///{root / "data" / "safehold.db"}"\n'
        f'[server]\nsecret_key = "{root / "secret.key"}"\n{extra}'
    )
    return path


def verify(config: Path) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(build_app(), ["audit", "verify", "--json", "--config", str(config)])
    return result.exit_code, json.loads(result.stdout)


def append(config: Path, n: int, start: int = 0) -> None:
    store = open_store(parse_config_file(config).database_url)
    try:
        log = AuditLog(store)
        for i in range(start, start + n):
            log.append("decision", {"cmd": f"echo {i}"}, decision="allow", session="s1")
    finally:
        store.close()


def checkpoint(config: Path) -> str:
    result = runner.invoke(build_app(), ["audit", "checkpoint", "--config", str(config)])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = write_config(tmp_path)
    append(path, 30)
    checkpoint(path)
    return path


def db_of(config: Path) -> Path:
    return Path(parse_config_file(config).database_url.removeprefix("sqlite:///"))


def test_verify_checks_the_newest_checkpoint_without_an_anchor(config: Path) -> None:
    code, result = verify(config)
    assert code == 0 and result["ok"]
    assert result["checkpoint"]["newest"]["seq"] == 30
    assert result["checkpoint"]["checkpoints"] == 1


def test_deleting_the_newest_records_with_sqlite3_is_reported_as_truncation(
    config: Path,
) -> None:
    subprocess.run(
        ["sqlite3", str(db_of(config)), "DELETE FROM audit_records WHERE seq > 20"], check=True
    )
    code, result = verify(config)
    assert code == 1 and not result["ok"]
    assert "records 21-30 were removed (truncated)" in result["problem"]


def test_a_record_edited_and_every_hash_recomputed_is_reported(config: Path) -> None:
    """The attacker uses safehold's own hash function to rebuild a chain that links up."""
    db = sqlite3.connect(db_of(config))
    store = open_store(parse_config_file(config).database_url)
    entries = list(AuditLog(store).entries())
    store.close()
    prev = GENESIS
    for e in entries:
        payload = e.payload.replace("echo 5", "echo harmless") if e.seq == 6 else e.payload
        forged = AuditEntry(**{**e.row(), "payload": payload, "prev_hash": prev, "hash": ""})
        new_hash = forged.computed_hash()
        db.execute(
            "UPDATE audit_records SET payload = ?, prev_hash = ?, hash = ? WHERE seq = ?",
            (payload, prev, new_hash, e.seq),
        )
        prev = new_hash
    db.commit()
    db.close()
    store = open_store(parse_config_file(config).database_url)
    assert AuditLog(store).verify().ok, "the rewritten chain links up on its own"
    store.close()
    code, result = verify(config)
    assert code == 1
    assert "record 30 differs from the checkpoint" in result["problem"]
    assert "rewritten" in result["problem"]


def test_truncating_then_writing_new_records_past_the_checkpoint_is_reported(
    config: Path,
) -> None:
    subprocess.run(
        ["sqlite3", str(db_of(config)), "DELETE FROM audit_records WHERE seq > 20"], check=True
    )
    append(config, 15, start=100)
    code, result = verify(config)
    assert code == 1 and "record 30 differs from the checkpoint" in result["problem"]


def test_the_server_refuses_to_sign_a_head_that_contradicts_the_last_checkpoint(
    config: Path,
) -> None:
    subprocess.run(
        ["sqlite3", str(db_of(config)), "DELETE FROM audit_records WHERE seq > 25"], check=True
    )
    result = runner.invoke(build_app(), ["audit", "checkpoint", "--config", str(config)])
    assert result.exit_code == 1
    assert "previous checkpoint covers record 30" in result.output
    cfg = parse_config_file(config)
    assert [c.seq for c in CheckpointFile(cfg.audit.checkpoints_path).read()] == [30]
    code, verdict = verify(config)
    assert code == 1 and "truncated" in verdict["problem"]


def test_an_edited_checkpoint_line_fails_its_signature(config: Path) -> None:
    path = Path(parse_config_file(config).audit.checkpoints_path)
    line = json.loads(path.read_text())
    line["seq"] = 20
    path.write_text(json.dumps(line) + "\n")
    code, result = verify(config)
    assert code == 1 and "invalid signature" in result["problem"]


def test_a_checkpoint_signed_with_another_key_is_refused(config: Path, tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    other = write_config(tmp_path / "other")
    append(other, 20)
    checkpoint(other)
    ours = Path(parse_config_file(config).audit.checkpoints_path)
    theirs = Path(parse_config_file(other).audit.checkpoints_path)
    ours.write_text(theirs.read_text())
    code, result = verify(config)
    assert code == 1 and "signed with another key" in result["problem"]


def test_removing_the_checkpoint_file_is_reported(config: Path) -> None:
    Path(parse_config_file(config).audit.checkpoints_path).unlink()
    code, result = verify(config)
    assert code == 1 and "signed checkpoints were removed" in result["problem"]


def test_a_checkpoint_removed_from_the_middle_of_the_file_is_reported(config: Path) -> None:
    append(config, 5, start=200)
    checkpoint(config)
    append(config, 5, start=300)
    checkpoint(config)
    path = Path(parse_config_file(config).audit.checkpoints_path)
    lines = path.read_text().splitlines()
    assert len(lines) == 3
    path.write_text(lines[0] + "\n" + lines[2] + "\n")
    code, result = verify(config)
    assert code == 1 and "lines removed" in result["problem"]


def test_nothing_new_means_no_new_checkpoint(config: Path) -> None:
    assert "already signed: record 30" in checkpoint(config)
    path = Path(parse_config_file(config).audit.checkpoints_path)
    assert len(path.read_text().splitlines()) == 1


def test_key_and_checkpoints_live_outside_the_database_and_only_their_owner_reads_them(
    config: Path,
) -> None:
    cfg = parse_config_file(config)
    key = Path(cfg.audit.signing_key_path)
    checkpoints = Path(cfg.audit.checkpoints_path)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(checkpoints.stat().st_mode) == 0o600
    assert stat.S_IMODE(checkpoints.parent.stat().st_mode) == 0o700
    assert key.parent != checkpoints.parent != db_of(config).parent
    pem = key.read_text()
    assert "PRIVATE KEY" in pem
    body = "".join(pem.splitlines()[1:-1])
    dump = subprocess.run(
        ["sqlite3", str(db_of(config)), ".dump"], capture_output=True, text=True, check=True
    ).stdout
    assert body not in dump


def test_a_signing_key_readable_by_others_is_refused(config: Path) -> None:
    key = Path(parse_config_file(config).audit.signing_key_path)
    os.chmod(key, 0o644)
    append(config, 1, start=500)
    result = runner.invoke(build_app(), ["audit", "checkpoint", "--config", str(config)])
    assert result.exit_code == 1 and "readable by other users" in result.output


def test_the_server_signs_on_start_on_schedule_and_on_shutdown_and_posts_to_webhooks(
    tmp_path: Path,
) -> None:
    receiver = Receiver()
    try:
        path = write_config(
            tmp_path,
            '[audit]\ncheckpoint_interval = "1s"\n'
            f'[[notifications.webhooks]]\nurl = "{receiver.url}"\nevents = ["audit.checkpoint"]\n',
        )
        append(path, 3)
        cfg = parse_config_file(path)
        sink = CheckpointFile(cfg.audit.checkpoints_path)
        with Safehold.open(cfg, notify_in_background=False) as sh:
            app = create_app(sh, cfg.server, tick_seconds=60)
            with TestClient(app):
                started = sink.read()
                assert [c.seq for c in started] == [sh.audit.tail(1)[0].seq]
                sh.audit.append("decision", {"cmd": "ls"})
                deadline = time.monotonic() + 10
                while len(sink.read()) < 2 and time.monotonic() < deadline:
                    time.sleep(0.1)
                assert sink.read()[-1].seq == sh.audit.tail(1)[0].seq
                sh.audit.append("decision", {"cmd": "pwd"})
                head = sh.audit.tail(1)[0]
            newest = sink.read()[-1]
            assert (newest.seq, newest.head_hash) == (head.seq, head.hash), "signed on shutdown"
        deadline = time.monotonic() + 10  # a scheduled post may still be on its way
        while time.monotonic() < deadline:
            posted = [Checkpoint(**b["checkpoint"]) for b in receiver.bodies]
            if newest in posted:
                break
            time.sleep(0.1)
        assert newest in posted, "the shutdown checkpoint is posted to the webhook"
    finally:
        receiver.close()
    code, result = verify(path)
    assert code == 0 and result["checkpoint"]["newest"]["seq"] == newest.seq
