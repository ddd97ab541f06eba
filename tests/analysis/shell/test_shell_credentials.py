"""Credential access is a fact of its own, found in file reads, dumps and secret hunts."""

from __future__ import annotations

import pytest
from shell_helpers import decide, facts

from safehold.decide import Guard
from safehold.model import Verdict


@pytest.mark.parametrize(("cmd", "cred"), [
    ("cat ~/.aws/credentials", "cred:aws-credentials"),
    ("less $HOME/.kube/config", "cred:kube-config"),
    ("cat .env.production", "cred:dotenv"),
    ("source .env", "cred:dotenv"),
    ("head -5 ~/.ssh/id_ed25519", "cred:ssh-private-key"),
    ("base64 < ~/.ssh/id_rsa", "cred:ssh-private-key"),
    ("cat ~/.config/gh/hosts.yml", "cred:gh-config"),
    ("cat ~/.netrc", "cred:netrc"),
    ("cat ~/.npmrc", "cred:npmrc"),
    ("tar czf /tmp/x.tgz ~/.config/gcloud", "cred:gcloud"),
    ("printenv", "cred:env-dump"),
    ("env", "cred:env-dump"),
    ("printenv GITHUB_TOKEN", "cred:env-secret"),
    ("security find-generic-password -s github -w", "cred:keychain"),
    ("aws configure get aws_secret_access_key", "cred:aws-configure-get"),
    ("gh auth token", "cred:cli-token"),
    ("grep -r api_key ~", "cred:secret-search"),
    ("rg -i 'token|secret' /", "cred:secret-search"),
    ("find / -name '*.pem'", "cred:secret-search"),
    # no path: the working directory, the project root, as `.` would be
    ("grep -rn TOKEN .", "cred:secret-search"),
    ("rg TOKEN", "cred:secret-search"),
    ("grep -rn TOKEN", "cred:secret-search"),
    ("ag -i api_key", "cred:secret-search"),
    ("sudo cat /etc/shadow", "cred:system-secrets"),
    ("bash -c 'cat ~/.aws/credentials'", "cred:aws-credentials"),
])
def test_credential_access_is_recorded_and_not_allowed(guard: Guard, cmd: str,
                                                        cred: str) -> None:
    assert cred in {c.id for c in facts(cmd).credentials}
    assert decide(guard, cmd).verdict is Verdict.ASK


@pytest.mark.parametrize("cmd", [
    "cat .env.example",
    "cp .env.example .env",
    "ls ~/.ssh",
    "cat ~/.ssh/id_ed25519.pub",
    "printenv HOME",
    "rg -n token src/",
    "git log -p | grep -i token",
    "grep -n token notes.txt",
    "grep -r TODO ~",
    "env FOO=1 npm test",
    "echo ~/.aws/credentials",
])
def test_ordinary_commands_touch_no_credentials(guard: Guard, cmd: str) -> None:
    assert facts(cmd).credentials == ()
    assert decide(guard, cmd).allowed, decide(guard, cmd).reasons
