"""Stray secrets: found by content wherever they lie, imported into the store, and a file
holding one is credential access for every reader (the agent's way to the token)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from safehold.decide import Guard
from safehold.model import Action, Verdict
from safehold.scan.detect import find
from safehold.scan.workspace import FindingCache, scan

TOKEN = "3f2a9c1e-8b7d-4e6f-a5c4-1d2e3f4a5b6c"
GH = "ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2
SAFEHOLD = str(Path(sys.executable).with_name("safehold"))


@pytest.mark.parametrize("text, rule, provider", [
    (f"RAILWAY_TOKEN={TOKEN}\n", "secret:railway-variable", "railway"),
    (f'export RAILWAY_API_TOKEN="{TOKEN}"\n', "secret:railway-variable", "railway"),
    (f'{{"env": {{"RAILWAY_TOKEN": "{TOKEN}"}}}}', "secret:railway-variable", "railway"),
    (f"token: {GH}\n", "secret:github-token", "github"),
    ("//registry.npmjs.org/:_authToken=npm_" + "A1b2C3d4E5" * 3 + "A1b2C3\n",
     "secret:npm-token", "npm"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn…\n", "secret:private-key", None),
    ("DB_PASSWORD=hunter2hunter2\n", "secret:secret-variable", None),
    ("apiVersion: v1\nkind: Config\nusers:\n- user:\n    token: eyJhbGciOiJSUzI1NiIsImtpZCI6\n",
     "secret:kubeconfig-credential", "kubernetes"),
])
def test_live_credentials_are_found(text: str, rule: str, provider: str | None) -> None:
    [s] = find(text)
    assert (s.rule, s.provider) == (rule, provider)
    assert text[s.start:s.end] == s.value


@pytest.mark.parametrize("text", [
    "RAILWAY_TOKEN=\n", "RAILWAY_TOKEN=<your railway token>\n", "RAILWAY_TOKEN=${RAILWAY}\n",
    "GITHUB_TOKEN=your-token-here\n", "RAILWAY_TOKEN=safehold:credential/rw-prod\n",
    "registry=https://registry.npmjs.org/\nsave-exact=true\n",
    'SECRET_KEY = os.environ["SECRET_KEY"]\n', 'password = request.form["password"]\n',
    "RAILWAY_TOKEN=changeme\n", "commit 3f2a9c1e8b7d4e6fa5c41d2e3f4a5b6c\n",
])
def test_placeholders_settings_and_code_are_not_secrets(text: str) -> None:
    assert find(text) == []


def test_scan_finds_tokens_in_unrelated_files_notebooks_and_history(tmp_path: Path) -> None:
    (tmp_path / ".railway-token").write_text(TOKEN + "\n")
    (tmp_path / "notes.txt").write_text(f"deploy with\nRAILWAY_TOKEN={TOKEN}\n")
    nb = {"cells": [{"cell_type": "code", "source": [f'GH = "{GH}"\n']}]}
    (tmp_path / "explore.ipynb").write_text(json.dumps(nb, indent=1))
    (tmp_path / ".bash_history").write_text(f"ls\nexport GITHUB_TOKEN={GH}\n")
    (tmp_path / ".env.example").write_text("RAILWAY_TOKEN=<token>\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text(f"RAILWAY_TOKEN={TOKEN}\n")
    found = {(f.path.name, f.secret.line, f.secret.provider) for f in scan(tmp_path)}
    assert found == {(".railway-token", 1, "railway"), ("notes.txt", 2, "railway"),
                     ("explore.ipynb", 6, "github"), (".bash_history", 2, "github")}


def test_findings_are_cached_per_file_and_content(tmp_path: Path) -> None:
    cache = FindingCache()
    f = tmp_path / "a.txt"
    f.write_text(f"RAILWAY_TOKEN={TOKEN}\n")
    first = cache.secrets_in(f)
    assert first and cache.secrets_in(f) is first
    f.write_text("nothing here\n")
    assert cache.secrets_in(f) == ()
    assert cache.secrets_in(tmp_path / "missing") is None


def test_scan_import_moves_the_token_into_the_store(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / ".railway-token").write_text(TOKEN + "\n")
    config = tmp_path / "safehold.toml"
    config.write_text(f'database_url = "sqlite:///{tmp_path / "s.db"}"\n[server]\n'
                      f'secret_key = "{tmp_path / "srv" / "secret.key"}"\n')
    run = [SAFEHOLD, "scan", str(ws), "--config", str(config)]
    found = subprocess.run(run, capture_output=True, text=True, timeout=60, check=False)
    assert found.returncode == 1 and ".railway-token:1" in found.stdout
    imported = subprocess.run([*run, "--import", "rw-prod", "--env", "production"],
                              capture_output=True, text=True, timeout=60, check=False)
    assert imported.returncode == 0, imported.stderr
    assert (ws / ".railway-token").read_text() == "safehold:credential/rw-prod\n"
    listing = subprocess.run([SAFEHOLD, "credentials", "list", "--config", str(config)],
                             capture_output=True, text=True, timeout=60, check=False)
    assert "rw-prod" in listing.stdout and "railway" in listing.stdout
    again = subprocess.run(run, capture_output=True, text=True, timeout=60, check=False)
    assert again.returncode == 0
    for out in (found, imported, listing, again):
        assert TOKEN not in out.stdout + out.stderr
    assert TOKEN.encode() not in (tmp_path / "s.db").read_bytes()


@pytest.fixture(scope="module")
def guard() -> Guard:
    return Guard.load()


@pytest.mark.parametrize("command", [
    "cat notes.txt", "less notes.txt", "jq . notes.txt", "source notes.txt", "head -1 notes.txt",
    "wc -l < notes.txt", "cat .railway-token", "cat .npmrc-live", "bash -c 'cat notes.txt'",
    "python3 -c \"print(open('notes.txt').read())\"",
    "python -c \"import pathlib; t = pathlib.Path('notes.txt').read_text()\"",
])
def test_reading_a_file_that_holds_a_live_token_is_credential_access(
    tmp_path: Path, guard: Guard, command: str,
) -> None:
    (tmp_path / "notes.txt").write_text(f"RAILWAY_TOKEN={TOKEN}\n")
    (tmp_path / ".railway-token").write_text(TOKEN)
    (tmp_path / ".npmrc-live").write_text("//registry.npmjs.org/:_authToken=npm_"
                                          + "A1b2C3d4E5" * 3 + "A1b2C3\n")
    d = guard.decide(Action("shell", command, cwd=str(tmp_path)))
    assert d.verdict is Verdict.ASK, d.reasons
    assert "credential-access" in d.rule_ids


@pytest.mark.parametrize("name, content", [
    (".env.test", "RAILWAY_TOKEN=<token>\nDEBUG=1\n"),
    (".npmrc", "registry=https://registry.npmjs.org/\nsave-exact=true\n"),
    (".env.local", "RAILWAY_TOKEN=safehold:credential/rw-prod\n"),
    ("README.md", "Set RAILWAY_TOKEN in your shell.\n"),
])
def test_placeholder_and_settings_files_are_ordinary_reads(
    tmp_path: Path, guard: Guard, name: str, content: str,
) -> None:
    (tmp_path / name).write_text(content)
    d = guard.decide(Action("shell", f"cat {name}", cwd=str(tmp_path)))
    assert d.verdict is Verdict.ALLOW, d.reasons


def test_doctor_warns_about_a_live_secret_in_the_workspace(tmp_path: Path) -> None:
    (tmp_path / "fix.py").write_text(f'TOKEN = "x"\nRAILWAY_TOKEN = "{TOKEN}"\n')
    r = subprocess.run([SAFEHOLD, "doctor", "--dir", str(tmp_path), "--no-probe"],
                       capture_output=True, text=True, timeout=60, check=False,
                       env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert "fix.py:2 holds a live credential" in r.stdout
    assert TOKEN not in r.stdout + r.stderr
