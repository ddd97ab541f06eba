"""Who may approve is part of the story: every change to users and tokens is audited, with no
password or token secret in the record, and the chain still verifies."""

from __future__ import annotations

import json

from safehold.audit import AuditLog
from safehold.server.accounts import Accounts
from safehold.store import open_store


def test_user_and_token_changes_are_audited(store_url: str) -> None:
    store = open_store(store_url)
    audit = AuditLog(store)
    accounts = Accounts(store, audit, actor="cli/ops")
    accounts.add_user("alice", "correct-horse-battery-9", "approver")
    accounts.set_password("alice", "another-long-passphrase-7")
    accounts.set_disabled("alice", True)
    accounts.set_disabled("alice", False)
    issued = accounts.create_token("ci-bot", "agent")
    accounts.revoke_token("ci-bot")

    records = list(audit.tail(20))
    types = [r.type for r in records]
    assert types == ["user.created", "user.password-changed", "user.disabled", "user.enabled",
                     "token.created", "token.revoked"]
    assert {r.actor for r in records} == {"cli/ops"}
    dumped = json.dumps([r.payload for r in records])
    assert "correct-horse" not in dumped and "another-long" not in dumped
    assert issued.secret not in dumped
    assert audit.verify().ok


def test_accounts_without_an_audit_log_still_work(tmp_path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    Accounts(store).add_user("bob", "correct-horse-battery-9", "viewer")
    assert [u.username for u in Accounts(store).users()] == ["bob"]
