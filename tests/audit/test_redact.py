"""Secrets in recorded inputs are replaced; what an audit needs (ids, hosts, commits) is kept."""

from __future__ import annotations

import pytest

import cpu_time
from safehold.audit.redact import MASK, redact, redact_text

SECRET_CASES = [
    ("PGPASSWORD=hunter2 psql -h db.prod -c 'select 1'", "hunter2"),
    ("export PGPASSWORD='quoted secret'; psql", "quoted secret"),
    ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY aws s3 ls", "wJalrXUtnFEMI"),
    ("GITHUB_TOKEN=abc123def456 gh api /user", "abc123def456"),
    ("curl -H 'Authorization: Bearer eyJhbGciOi.abc.def' https://x", "eyJhbGciOi.abc.def"),
    ("curl -H 'Authorization: Basic dXNlcjpwYXNz' https://x", "dXNlcjpwYXNz"),
    ("curl -H 'X-Api-Key: sk_live_1234567890abcdef' https://x", "sk_live_1234567890abcdef"),
    ("curl -H 'Cookie: session=abcdef0123456789' https://x", "abcdef0123456789"),
    ("curl --header 'bearer tok_0123456789abcdef' https://x", "tok_0123456789abcdef"),
    ("psql postgres://admin:s3cr3t@db.prod.internal:5432/app", "s3cr3t"),
    ("psql 'postgresql://u:p%40ss@h/db'", "p%40ss"),
    ("mysql -u root -pTopSecret app", "TopSecret"),
    ("app --password=letmein --port 5432", "letmein"),
    ("app --password letmein", "letmein"),
    ("app --token=abcdef123 run", "abcdef123"),
    ("curl -u admin:pw1234 https://x", "pw1234"),
    ("sshpass -p hunter22 ssh host", "hunter22"),
    ("echo ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"),
    ("aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ("slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "AbCdEfGhIjKlMnOpQrStUvWx"),
    ('curl -d \'{"password": "abc123", "user": "x"}\' https://x', "abc123"),
    ("https://api.example.com/v1?access_token=abcdef123456&x=1", "abcdef123456"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----", "MIIEpA"),
]


@pytest.mark.parametrize("text, secret", SECRET_CASES)
def test_secret_is_replaced(text: str, secret: str) -> None:
    out = redact_text(text)
    assert secret not in out
    assert MASK in out


KEEP_CASES = [
    "git reset --hard 3f786850e387550fdab836ed7e6dc881de23001b",
    "psql -p 5432 -h db.prod.internal -d app -c 'drop table users'",
    "rm -rf /srv/prod/data",
    "curl https://10.0.0.5/v1/volumes/vol-123",
    "python train.py --max_tokens=100",
    "sha256sum e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "kubectl delete namespace payments --context prod-eks",
]


@pytest.mark.parametrize("text", KEEP_CASES)
def test_ordinary_input_is_kept(text: str) -> None:
    assert redact_text(text) == text


def test_mappings_redact_secret_keys_and_nested_strings() -> None:
    value = {
        "method": "POST",
        "url": "https://user:pw@api.example.com/x",
        "headers": {"Authorization": "Bearer abc", "X-Api-Key": "k", "Accept": "application/json"},
        "body": {"query": "mutation { x }", "variables": {"apiToken": "t0k3n", "id": "vol-1"}},
        "digest": "ab" * 32,
        "tool_use_id": "toolu_0123",
        "list": ["PGPASSWORD=x1y2z3 psql"],
        "n": 3,
    }
    out = redact(value)
    assert out["headers"] == {
        "Authorization": MASK,
        "X-Api-Key": MASK,
        "Accept": "application/json",
    }
    assert out["body"]["variables"] == {"apiToken": MASK, "id": "vol-1"}
    assert out["url"] == f"https://user:{MASK}@api.example.com/x"
    assert out["digest"] == "ab" * 32 and out["tool_use_id"] == "toolu_0123"
    assert out["list"] == [f"PGPASSWORD={MASK} psql"]
    assert out["n"] == 3
    assert value["headers"]["Authorization"] == "Bearer abc"  # the input is not modified


@pytest.mark.parametrize(
    "text",
    [
        "mysql " * 30000,
        "mysql x\n" * 30000,
        "bearer " * 30000,
        "--password " * 30000,
        "a://b:" * 40000,
        '"password": "' * 20000,
        "-----BEGIN RSA PRIVATE KEY-----" * 5000,
    ],
    ids=["mysql", "mysql-lines", "bearer", "flag", "userinfo", "json-key", "key-block"],
)
def test_hostile_input_is_redacted_in_linear_time(text: str) -> None:
    """An agent must not be able to stall the audit log with a crafted command."""
    with cpu_time.at_most(10.0):
        redact_text(text)


@pytest.mark.parametrize(
    "command, secret",
    [
        ("PGPASSWORD=hunter22 psql -h db", "hunter22"),
        ("mysql -uroot -pS3cretPw app", "S3cretPw"),
        ("curl -u deploy:Tr0ub4dor https://x", "Tr0ub4dor"),
        ('curl -H "Authorization: Bearer abcdef123456" https://x', "abcdef123456"),
        ("psql postgresql://app:Zx9Pass@db/app", "Zx9Pass"),
        ("export SAFEHOLD_TOKEN=shk_" + "k" * 43, "shk_" + "k" * 43),
    ],
)
def test_a_secret_cut_from_one_field_is_cut_from_every_other(command: str, secret: str) -> None:
    record = {"action": {"input": command}, "stated_reason": f"I used {secret} as told",
              "notes": [f"{secret}!"]}
    out = redact(record)
    assert secret not in str(out)
    assert out["stated_reason"] == "I used [REDACTED] as told"


def test_values_of_secret_named_keys_that_are_common_words_are_not_erased_elsewhere() -> None:
    out = redact({"headers": {"x-api-key": "true"}, "reason": "it is true"})
    assert out == {"headers": {"x-api-key": "[REDACTED]"}, "reason": "it is true"}
