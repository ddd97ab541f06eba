"""Security-posture changes are their own family, which the default policy asks about."""

from __future__ import annotations

import pytest
from shell_helpers import decide, ids

from safehold.decide import Guard


@pytest.mark.parametrize(("cmd", "ident"), [
    ("aws iam attach-user-policy --user-name bot --policy-arn "
     "arn:aws:iam::aws:policy/AdministratorAccess", "privilege:iam-admin-policy"),
    ("gcloud projects add-iam-policy-binding p --member user:a@b.c --role roles/owner",
     "privilege:gcp-owner-binding"),
    ("gh repo edit acme/web --visibility public", "privilege:repo-public"),
    ("aws s3api put-bucket-acl --bucket prod --acl public-read", "privilege:bucket-public"),
    ("gsutil iam ch allUsers:objectViewer gs://prod", "privilege:bucket-public"),
    ("aws ec2 authorize-security-group-ingress --group-id sg-1 --protocol tcp --port 22 "
     "--cidr 0.0.0.0/0", "privilege:firewall-open-world"),
])
def test_privilege_changes_ask_by_their_own_rule(guard: Guard, cmd: str, ident: str) -> None:
    d = decide(guard, cmd)
    assert d.verdict == "ask", (d.verdict, d.reasons)
    assert ident in ids(d.facts)
    assert "privilege-change" in d.rule_ids


@pytest.mark.parametrize("cmd", [
    "aws iam list-attached-user-policies --user-name bot",
    "gh repo edit acme/web --description 'New site'",
    "aws ec2 authorize-security-group-ingress --group-id sg-1 --protocol tcp --port 5432 "
    "--cidr 10.0.0.0/8",
])
def test_narrow_changes_are_not_privilege(guard: Guard, cmd: str) -> None:
    assert not any(i.startswith("privilege:") for i in ids(decide(guard, cmd).facts))
