"""`safehold check`, `explain`, `demo` and `policy` run as a user runs them: a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def safehold(*args: str, stdin: str | None = None, cwd: Path | None = None,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    base = cwd or Path.cwd()
    full_env = {**os.environ, "XDG_CONFIG_HOME": str(base / ".config"),
                "XDG_DATA_HOME": str(base / ".data"), **(env or {})}
    full_env.pop("SAFEHOLD_CONFIG", None)
    full_env.pop("SAFEHOLD_POLICY", None)
    return subprocess.run(
        [sys.executable, "-m", "safehold", *args],
        input=stdin, capture_output=True, text=True, timeout=120, cwd=cwd, env=full_env,
    )


#: `safehold check` exits with the verdict: 0 allow, 2 deny, 3 ask, 4 delay.
EXIT = {"allow": 0, "deny": 2, "ask": 3, "delay": 4}


@pytest.mark.parametrize(
    ("command", "decision"),
    [
        ("rm -rf ~", "deny"),
        ('bash -c "$(echo cm0gLXJmIC8= | base64 -d)"', "ask"),
        ("git push --force origin main", "ask"),
        ("rm -rf node_modules", "allow"),
        ("git commit -m 'drop table support'", "allow"),
    ],
)
def test_check_decides_the_documented_examples(tmp_path, command, decision) -> None:
    r = safehold("check", "--cwd", str(tmp_path), "--format", "json", command, cwd=tmp_path)
    out = json.loads(r.stdout)
    assert out["decision"] == decision, out
    assert r.returncode == EXIT[decision]
    if decision != "allow":
        assert out["reasons"], "a refusal must say why"


def test_check_text_output_says_why(tmp_path) -> None:
    r = safehold("check", "--cwd", str(tmp_path), "git push --force origin main", cwd=tmp_path)
    assert r.returncode == EXIT["ask"]
    assert "git:push-force" in r.stdout
    assert "why" in r.stdout


def test_batch_keeps_order_and_survives_bad_lines(tmp_path) -> None:
    lines = [
        json.dumps({"kind": "shell", "input": "ls -la", "cwd": str(tmp_path)}),
        "{not json",
        json.dumps({"kind": "shell", "input": 42}),
        json.dumps(["a list"]),
        json.dumps({"kind": "teleport", "input": "x"}),
        json.dumps({"kind": "shell", "input": "rm -rf /", "env": "staging"}),
        "",
        json.dumps({"kind": "mcp", "input": "not an object"}),
    ]
    r = safehold("check", "--batch", "-", stdin="\n".join(lines) + "\n", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    results = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["line"] for x in results] == [1, 2, 3, 4, 5, 6, 8]
    assert results[0]["decision"] == "allow"
    for bad in (results[1], results[2], results[3], results[4], results[6]):
        assert bad["decision"] == "deny"  # an unreadable line is refused, never guessed at
        assert "error" in bad
    assert results[5]["decision"] == "ask"  # irreversible, but staging: a human decides
    for x in results:
        assert {"decision", "reasons", "facts"} <= set(x)


def test_batch_reads_a_file(tmp_path) -> None:
    f = tmp_path / "actions.jsonl"
    f.write_text(json.dumps({"input": "echo hello"}) + "\n")
    r = safehold("check", "--batch", str(f), cwd=tmp_path)
    assert json.loads(r.stdout)["decision"] == "allow"


def test_broken_user_policy_is_a_loud_error(tmp_path) -> None:
    p = tmp_path / "bad.cedar"
    p.write_text("\n@id(\"x\") permit (principal action, resource);\n")
    r = safehold("check", "--policy", str(p), "ls", cwd=tmp_path)
    assert r.returncode == 2
    assert f"{p}:2" in r.stderr


def test_policy_test_command_reports_pass_and_fail(tmp_path) -> None:
    (tmp_path / "cases.yaml").write_text(
        "cases:\n"
        "  - {input: 'ls', expect: allow}\n"
        "  - {input: 'rm -rf ~', expect: deny, rule: irreversible-in-production}\n"
        "  - {input: 'ls', expect: deny}\n"
    )
    r = safehold("policy", "test", str(tmp_path / "cases.yaml"), cwd=tmp_path)
    assert r.returncode == 1
    assert "2 passed, 1 failed" in r.stdout


def test_explain_shows_parse_facts_and_decision(tmp_path) -> None:
    r = safehold("explain", "--cwd", str(tmp_path), "sudo rm -rf /var/lib/postgresql",
                 cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "facts" in r.stdout and "decision" in r.stdout
    assert '"operations"' in r.stdout


def test_demo_runs(tmp_path) -> None:
    r = safehold("demo", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "ALLOW" in r.stdout and ("DENY" in r.stdout or "ASK" in r.stdout)
    assert "with the built-in policy (version" in r.stdout


def test_demo_names_the_user_policy_in_force(tmp_path) -> None:
    """A user policy changes the answers, so the tour must not claim the built-in one alone."""
    policy = tmp_path / "team.cedar"
    policy.write_text('@id("no-rm")\nforbid (principal, action, resource)\n'
                      'when { context.operations.contains("fs:rm-recursive") };\n')
    (tmp_path / "safehold.toml").write_text('policy = "team.cedar"\n')
    r = safehold("demo", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    first = r.stdout.splitlines()[0]
    assert f"the built-in policy plus {policy}" in first, first


INVENTORY = """
environment = "staging"

[environments.production]
databases = ["postgresql://db.prod.internal:5432/app"]
kubernetes = ["prod-eks"]

[environments.staging]
databases = ["db.staging.internal/app"]
"""


def _decide(tmp_path: Path, command: str, *args: str,
            env: dict[str, str] | None = None) -> dict:
    (tmp_path / "safehold.toml").write_text(INVENTORY)
    r = safehold("check", "--cwd", str(tmp_path), "--format", "json", *args, command,
                 cwd=tmp_path, env=env)
    return json.loads(r.stdout)


def test_check_claims_the_configs_environment(tmp_path) -> None:
    """The config's `environment` applies unless something says otherwise: a staging session
    reading production is cross-environment."""
    out = _decide(tmp_path, "psql -h db.prod.internal -d app -c 'select 1'")
    assert out["decision"] == "deny" and "cross-environment" in out["rules"], out
    assert any("production" in r for r in out["reasons"])
    staging = _decide(tmp_path, "psql -h db.staging.internal -d app -c 'select 1'")
    assert staging["decision"] == "allow", staging


def test_safehold_environment_and_env_flag_override_the_config(tmp_path) -> None:
    cmd = "kubectl --context prod-eks get pods"
    assert _decide(tmp_path, cmd, env={"SAFEHOLD_ENVIRONMENT": "production"})[
        "decision"] == "allow"
    assert _decide(tmp_path, cmd, "--env", "production")["decision"] == "allow"
    assert _decide(tmp_path, cmd)["decision"] == "deny"


def test_batch_lines_claim_the_configs_environment_unless_they_say(tmp_path) -> None:
    (tmp_path / "safehold.toml").write_text(INVENTORY)
    lines = "\n".join(json.dumps(x) for x in [
        {"input": "kubectl --context prod-eks get pods"},
        {"input": "kubectl --context prod-eks get pods", "env": "production"},
    ])
    r = safehold("check", "--batch", "-", stdin=lines, cwd=tmp_path)
    got = [json.loads(x)["decision"] for x in r.stdout.splitlines()]
    assert got == ["deny", "allow"]


def test_explain_shows_how_each_target_was_placed(tmp_path) -> None:
    (tmp_path / "safehold.toml").write_text(INVENTORY)
    r = safehold("explain", "--cwd", str(tmp_path),
                 "psql postgres://u@db.prod.internal/app -c 'DROP TABLE users'", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert ("database postgres://db.prod.internal/app: production (databases entry "
            "'postgresql://db.prod.internal:5432/app' of production)") in r.stdout
    assert "table users: no environment" in r.stdout
    assert "session claims: staging; the action's environment: production" in r.stdout
    other = safehold("explain", "--cwd", str(tmp_path), "psql -h db.other.internal app",
                     cwd=tmp_path)
    assert ("database postgresql://db.other.internal/app: no environment (no databases or "
            "hosts entry matches)") in other.stdout
