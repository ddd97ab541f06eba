"""`safehold audit …`, `safehold approvals …` and `safehold delays …` on a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from safehold.cli import build_app
from safehold.config import parse_config_file
from safehold.model import Action
from safehold.server.accounts import Accounts, Principal
from safehold.service import Safehold

PASSWORD = "correct horse battery staple"
POLICY = """
@id("test-jobs-delay")
@decision("delay")
@delay("10m")
@reason("writes to the jobs service wait ten minutes")
permit (principal, action == Action::"http", resource)
when { context.effect == "write" };
"""

runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "policy.cedar").write_text(POLICY)
    path = tmp_path / "safehold.toml"
    path.write_text(f"""
database_url = "sqlite:///{tmp_path / "safehold.db"}"
policy = "policy.cedar"
[environments.staging]
urls = ["https://api.staging.example.com"]
""")
    return path


def invoke(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(build_app(), list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def seed(config: Path) -> tuple[str, str]:
    with Safehold.open(parse_config_file(config), notify_in_background=False) as sh:
        asked = sh.evaluate(
            Action(
                "http",
                {"method": "DELETE", "url": "https://api.staging.example.com/v1/c/1"},
                session="s1",
                environment="staging",
            ),
            requester="token:agent",
            stated_reason="PGPASSWORD=hunter2 stale cache",
        )
        held = sh.evaluate(
            Action(
                "http",
                {"method": "POST", "url": "https://api.staging.example.com/v1/jobs"},
                session="s1",
                environment="staging",
            ),
            requester="token:agent",
        )
        accounts = Accounts(sh.store)
        accounts.add_user("ann", PASSWORD, "approver")
        accounts.add_user("vic", PASSWORD, "viewer")
    assert asked.approval is not None and held.delay is not None
    return asked.approval.id, held.delay.id


def test_audit_verify_passes_then_names_a_tampered_record(config: Path) -> None:
    seed(config)
    code, out, _ = invoke("audit", "verify", "--config", str(config))
    assert code == 0 and out.startswith("ok: ")
    db = parse_config_file(config).database_url
    from safehold.store import open_store

    store = open_store(db)
    with store.session() as s:
        s.execute(text("UPDATE audit_records SET decision = 'allow' WHERE seq = 2"))
    store.close()
    code, _, err = invoke("audit", "verify", "--config", str(config))
    assert code == 1
    assert "record 2" in err
    code, out, _ = invoke("audit", "verify", "--config", str(config), "--json")
    assert code == 1 and json.loads(out)["first_bad_seq"] == 2


def test_audit_verify_with_an_anchor_catches_truncation(config: Path) -> None:
    seed(config)
    _, out, _ = invoke("audit", "verify", "--config", str(config), "--json")
    head = json.loads(out)
    anchor = f"{head['head_seq']}:{head['head_hash']}"
    from safehold.store import open_store

    store = open_store(parse_config_file(config).database_url)
    with store.session() as s:
        s.execute(text("DELETE FROM audit_records WHERE seq = :n"), {"n": head["head_seq"]})
    store.close()
    assert invoke("audit", "verify", "--config", str(config))[0] == 0
    code, _, err = invoke("audit", "verify", "--config", str(config), "--anchor", anchor)
    assert code == 1 and "removed from the end" in err
    assert invoke("audit", "verify", "--config", str(config), "--anchor", "bogus")[0] == 2


def test_audit_tail_and_export(config: Path, tmp_path: Path) -> None:
    seed(config)
    code, out, _ = invoke("audit", "tail", "--config", str(config), "-n", "3")
    assert code == 0 and len(out.strip().splitlines()) == 3
    code, out, _ = invoke("audit", "tail", "--config", str(config), "--type", "decision", "--json")
    rows = [json.loads(line) for line in out.strip().splitlines()]
    assert code == 0 and {r["type"] for r in rows} == {"decision"}
    assert all("hunter2" not in line for line in out.splitlines())
    target = tmp_path / "audit.jsonl"
    code, _, _ = invoke(
        "audit", "export", "--config", str(config), "--format", "jsonl", "-o", str(target)
    )
    lines = target.read_text().splitlines()
    assert code == 0 and [json.loads(x)["seq"] for x in lines] == list(range(1, len(lines) + 1))
    assert invoke("audit", "export", "--config", str(config), "--format", "xml")[0] == 2
    code, out, _ = invoke("audit", "verify", "--file", str(target))
    assert code == 0 and out.startswith("ok: ")
    target.write_text("\n".join([*lines[:-2], lines[-1]]) + "\n")
    code, _, err = invoke("audit", "verify", "--file", str(target))
    assert code == 1 and f"record {len(lines) - 1} is missing" in err


def test_approvals_list_show_and_approve(config: Path) -> None:
    approval_id, _ = seed(config)
    code, out, _ = invoke("approvals", "list", "--config", str(config))
    assert code == 0 and approval_id in out
    code, out, _ = invoke("approvals", "show", approval_id, "--config", str(config))
    assert code == 0 and "DELETE" in out and "token:agent" in out and "hunter2" not in out
    code, out, _ = invoke(
        "approvals",
        "approve",
        approval_id,
        "--config",
        str(config),
        "--as",
        "ann",
        "-m",
        "ok",
        input=PASSWORD + "\n",
    )
    assert code == 0, out
    assert "approved" in out
    code, out, _ = invoke(
        "approvals", "list", "--config", str(config), "--state", "approved", "--json"
    )
    ann = Principal(kind="user", name="ann", role="approver", id="1").identity
    assert json.loads(out.strip())["votes"][0]["approver"] == ann


def test_approving_needs_the_right_password_and_role(config: Path) -> None:
    approval_id, _ = seed(config)
    code, _, err = invoke(
        "approvals",
        "approve",
        approval_id,
        "--config",
        str(config),
        "--as",
        "ann",
        input="wrong password\n",
    )
    assert code == 1 and "wrong username or password" in err
    code, _, err = invoke(
        "approvals",
        "approve",
        approval_id,
        "--config",
        str(config),
        "--as",
        "vic",
        input=PASSWORD + "\n",
    )
    assert code == 1 and "viewer" in err
    code, _, err = invoke(
        "approvals",
        "deny",
        "ap_missing",
        "--config",
        str(config),
        "--as",
        "ann",
        input=PASSWORD + "\n",
    )
    assert code == 1 and "no approval request" in err


def test_approving_without_any_users_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "safehold.toml"
    path.write_text(f'database_url = "sqlite:///{tmp_path / "x.db"}"\n')
    code, _, err = invoke("approvals", "approve", "ap_x", "--config", str(path), "--as", "ann")
    assert code == 2 and "safehold users add" in err


def test_delays_list_cancel_and_run_now(config: Path) -> None:
    _, delay_id = seed(config)
    code, out, _ = invoke("delays", "list", "--config", str(config))
    assert code == 0 and delay_id in out
    code, out, _ = invoke(
        "delays", "run-now", delay_id, "--config", str(config), "--as", "ann", input=PASSWORD + "\n"
    )
    assert code == 0 and "due now" in out
    code, out, _ = invoke(
        "delays", "cancel", delay_id, "--config", str(config), "--as", "ann", input=PASSWORD + "\n"
    )
    assert code == 0 and "cancelled" in out
    code, _, err = invoke(
        "delays", "cancel", delay_id, "--config", str(config), "--as", "ann", input=PASSWORD + "\n"
    )
    assert code == 1 and "cancelled" in err


def test_a_broken_config_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "safehold.toml"
    path.write_text("[approvals]\nttl = 'soon'\n")
    code, _, err = invoke("audit", "verify", "--config", str(path))
    assert code == 2 and "approvals.ttl" in err
