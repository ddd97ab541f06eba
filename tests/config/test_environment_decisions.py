"""Every kind of resource the inventory knows, through every spelling an agent may use, against
a production, a staging and an undeclared target, from a production, a staging and no session:
the decision the built-in policy promises (docs/policy.md, docs/configuration.md).

- a target in another environment than the session's: deny (cross-environment);
- production (the target's, or the session's for an undeclared target): destructive asks with
  a snapshot first, irreversible is refused, naming production;
- staging: destructive and irreversible ask;
- no session and an undeclared target: environment unknown, irreversible is refused;
- reads pass unless they cross environments.
"""

from __future__ import annotations

import itertools

import pytest

from safehold.config import parse_config
from safehold.decide import Guard
from safehold.model import Action, Effect, Verdict

CONFIG = """
[environments.production]
protected = true
resource_ids = ["vol-6f1c", "railway:volume:vol-99ab"]
databases = ["postgresql://db.prod.internal:5432/app"]
hosts = ["cache.prod.internal", "bastion.prod.internal"]
kubernetes = ["prod-eks", "shared-eks/payments"]
buckets = ["acme-prod-backups"]
paths = ["/srv/prod"]
urls = ["https://api.example.com"]
git_remotes = ["git@github.com:acme/infra.git"]

[environments.staging]
resource_ids = ["vol-2b7d", "railway:volume:vol-55cd"]
databases = ["db.staging.internal/app"]
hosts = ["cache.staging.internal", "bastion.staging.internal"]
kubernetes = ["stg-eks", "shared-eks/payments-staging"]
buckets = ["acme-staging-backups"]
paths = ["/srv/staging"]
urls = ["https://api.staging.example.com"]
git_remotes = ["git@github.com:acme/infra-staging.git"]
"""

PROJECT = "/home/dev/project"

#: kind -> the value each template fills in, for (production, staging, undeclared)
RESOURCES = {
    "db-host": ("db.prod.internal", "db.staging.internal", "db.other.internal"),
    "cache": ("cache.prod.internal", "cache.staging.internal", "cache.other.internal"),
    "ssh": ("bastion.prod.internal", "bastion.staging.internal", "bastion.other.internal"),
    "cluster": ("prod-eks", "stg-eks", "other-eks"),
    "namespace": ("shared-eks -n payments", "shared-eks -n payments-staging",
                  "shared-eks -n web"),
    "bucket": ("acme-prod-backups", "acme-staging-backups", "acme-other"),
    "path": ("/srv/prod", "/srv/staging", "/data/other"),
    "volume": ("vol-99ab", "vol-55cd", "vol-0000"),
    "url": ("https://api.example.com", "https://api.staging.example.com",
            "https://api.other.example.com"),
    "remote": ("https://github.com/acme/infra", "https://github.com/acme/infra-staging",
               "https://github.com/acme/other"),
}

DESTRUCTIVE = [
    ("db-host", "psql postgres://u@{}/app -c 'DROP TABLE users'"),
    ("db-host", "psql -h {} -d app -c 'DROP TABLE users'"),
    ("db-host", "psql --host={} --dbname=app -c 'TRUNCATE users'"),
    ("db-host", "psql 'host={} dbname=app' -c 'DELETE FROM users'"),
    ("db-host", "PGHOST={} PGDATABASE=app psql -c 'DROP TABLE users'"),
    ("db-host", "env PGHOST={} psql app -c 'DROP TABLE users'"),
    ("db-host", "export PGHOST={}; psql -d app -c 'DROP TABLE users'"),
    ("db-host", "echo 'DROP TABLE users' | psql -h {} app"),
    ("db-host", "pg_restore -h {} -d app --clean app.dump"),
    ("db-host", "dropdb -h {} app"),
    ("db-host", "mysql -h {} app -e 'DROP TABLE users'"),
    ("db-host", "mongosh mongodb://{}/app --eval 'db.users.drop()'"),
    ("db-host", "DATABASE_URL=postgres://{}/app npx prisma migrate reset --force"),
    ("db-host", "sudo -u postgres psql -h {} -d app -c 'DROP TABLE users'"),
    ("db-host", "H={}; psql -h \"$H\" -d app -c 'DROP TABLE users'"),
    ("db-host", "bash -c \"psql -h{} app -c 'DROP TABLE users'\""),
    ("db-host", "timeout 30 /usr/bin/psql -p 5432 -h {} app -c 'DROP TABLE users'"),
    ("db-host", "psql -h {} app <<'SQL'\nDROP TABLE users;\nSQL"),
    ("db-host", "psql -Atq -h {} -d app -f - <<< 'DROP TABLE users'"),
    ("cache", "redis-cli -h {} FLUSHALL"),
    ("cache", "redis-cli -u redis://{}/0 FLUSHALL"),
    ("ssh", "ssh {} -- rm -rf /var/lib/app/data"),
    ("ssh", "ssh deploy@{} 'rm -rf /var/lib/app/data'"),
    ("ssh", "ssh -p 2222 {} sudo rm -rf /var/lib/app/data"),
    ("ssh", "ssh -o BatchMode=yes root@{} \"bash -c 'rm -rf /var/lib/app/data'\""),
    ("cluster", "kubectl --context {} delete deployment api"),
    ("cluster", "kubectl delete ns payments --context={}"),
    ("cluster", "helm uninstall api --kube-context {}"),
    ("namespace", "kubectl --context {} delete deployment api"),
    ("namespace", "helm --kube-context {} uninstall api"),
    ("namespace", "env KUBECTL=1 kubectl --context {} delete deployment api"),
    ("bucket", "aws s3 rm --recursive s3://{}/"),
    ("bucket", "curl -X DELETE https://{}.s3.amazonaws.com/db.dump"),
    ("path", "rm -rf {}/db"),
    ("path", "cd {} && rm -rf db"),
    ("path", "(cd {} && rm -rf db)"),
    ("path", "terraform -chdir={}/infra destroy"),
    ("path", "cd {}/infra && terraform destroy"),
    ("path", "sqlite3 {}/app.db 'DELETE FROM users'"),
    ("volume", "railway volume delete --volume {} --yes"),
    ("url", "curl -X DELETE {}/v1/users/1"),
    ("remote", "git push --force {} main"),
]

READS = [
    ("db-host", "psql -h {} -d app -c 'SELECT * FROM users'"),
    ("db-host", "pg_dump -h {} app -f app.sql"),
    ("cache", "redis-cli -h {} GET session:1"),
    ("ssh", "ssh {} uptime"),
    ("cluster", "kubectl --context {} get pods"),
    ("namespace", "kubectl --context {} get pods"),
    ("bucket", "aws s3 ls s3://{}/"),
    ("url", "curl {}/v1/users"),
]

TARGETS = ("production", "staging", None)
SESSIONS = ("production", "staging", None)


@pytest.fixture(scope="module")
def guard() -> Guard:
    return Guard.from_config(parse_config(CONFIG))


@pytest.fixture(autouse=True)
def world(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/dev")
    monkeypatch.setenv("TMPDIR", "/tmp")


def over_every_target_and_session(rows: list[tuple[str, str]]) -> pytest.MarkDecorator:
    """Each row's template filled with each kind's three targets, from each session."""
    cases = [
        pytest.param(template.format(RESOURCES[kind][i]), target, session,
                     id=f"{template.format(RESOURCES[kind][i])} | target="
                        f"{target or 'undeclared'} session={session or 'none'}")
        for (kind, template), (i, target), session in itertools.product(
            rows, enumerate(TARGETS), SESSIONS)
    ]
    return pytest.mark.parametrize(("cmd", "target", "session"), cases)


def _promised(effect: Effect, target: str | None, session: str | None) -> Verdict:
    if session is not None and target is not None and target != session:
        return Verdict.DENY
    where = target or session
    if effect is Effect.IRREVERSIBLE and where in ("production", None):
        return Verdict.DENY
    return Verdict.ASK


@over_every_target_and_session(DESTRUCTIVE)
def test_destructive_action_gets_the_decision_its_environment_promises(
    guard: Guard, cmd: str, target: str | None, session: str | None
) -> None:
    d = guard.decide(Action("shell", cmd, cwd=PROJECT, environment=session))
    facts = d.facts
    assert facts.effect >= Effect.DESTRUCTIVE, facts.to_dict()
    placed = {t.environment for t in facts.targets if t.environment}
    assert placed == ({target} if target else set()), facts.to_dict()
    assert facts.environment == (target or session)
    assert d.verdict is _promised(facts.effect, target, session), d.reasons
    if target is not None and session not in (None, target):
        assert "cross-environment" in d.rule_ids
        assert any(f"is in {target}" in r for r in d.reasons), d.reasons
    if (target or session) == "production" and d.verdict is Verdict.ASK:
        assert d.snapshot_first, d.rule_ids
    if target == "production" and d.verdict is Verdict.DENY and session is None:
        assert "irreversible-in-production" in d.rule_ids


@over_every_target_and_session(READS)
def test_reads_carry_their_targets(
    guard: Guard, cmd: str, target: str | None, session: str | None
) -> None:
    d = guard.decide(Action("shell", cmd, cwd=PROJECT, environment=session))
    assert d.facts.environment == (target or session)
    crosses = session is not None and target is not None and target != session
    assert d.verdict is (Verdict.DENY if crosses else Verdict.ALLOW), d.reasons


def test_the_railway_api_call_is_placed_like_the_cli(guard: Guard) -> None:
    body = {"query": 'mutation { volumeDelete(volumeId: "vol-99ab") }'}
    action = Action("http", {"method": "POST", "url": "https://backboard.railway.app/graphql/v2",
                             "headers": {}, "body": body}, environment="staging")
    d = guard.decide(action)
    assert d.verdict is Verdict.DENY and "cross-environment" in d.rule_ids
    assert d.facts.environment == "production"


KUBECONFIG = """
apiVersion: v1
kind: Config
current-context: {current}
contexts:
- name: shared-eks
  context: {{cluster: shared-eks, namespace: payments}}
- name: stg-eks
  context: {{cluster: stg-eks}}
"""


def test_kubectl_without_a_context_uses_the_kubeconfigs_current_context(
    guard: Guard, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No --context: kubectl acts on the kubeconfig's current context (and its namespace),
    ~/.kube/config or the files KUBECONFIG names, prefix or exported."""
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "config").write_text(KUBECONFIG.format(current="shared-eks"))
    (tmp_path / "stg.yaml").write_text(KUBECONFIG.format(current="stg-eks"))
    monkeypatch.setenv("HOME", str(home))

    def decide(cmd: str) -> tuple[Verdict, str | None]:
        d = guard.decide(Action("shell", cmd, cwd=PROJECT, environment="staging"))
        return d.verdict, d.facts.environment

    assert decide("kubectl delete deployment api") == (Verdict.DENY, "production")
    assert decide("kubectl get pods") == (Verdict.DENY, "production")
    assert decide("helm uninstall api") == (Verdict.DENY, "production")
    assert decide("kubectl -n payments-staging get pods") == (Verdict.ALLOW, "staging")
    stg = tmp_path / "stg.yaml"
    assert decide(f"KUBECONFIG={stg} kubectl delete deployment api") == (Verdict.ASK, "staging")
    assert decide(f"export KUBECONFIG={stg}; kubectl delete deployment api") == (
        Verdict.ASK, "staging")
    assert decide(f"kubectl --kubeconfig {stg} get pods") == (Verdict.ALLOW, "staging")
    assert decide("kubectl --context stg-eks get pods") == (Verdict.ALLOW, "staging")


def test_a_push_to_a_remote_by_name_is_placed_by_the_repositorys_config(
    guard: Guard, tmp_path
) -> None:
    """`origin` is whatever the repository's config says it is, in the directory the command
    runs in (`cd`, `git -C`), worktrees included."""
    import subprocess

    repo = tmp_path / "infra"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    git = ["git", "-C", str(repo)]
    subprocess.run([*git, "remote", "add", "origin", "git@github.com:acme/infra.git"], check=True)
    subprocess.run([*git, "remote", "add", "stg", "git@github.com:acme/infra-staging.git"],
                   check=True)
    subprocess.run([*git, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q",
                    "--allow-empty", "-m", "x"], check=True)
    subprocess.run([*git, "worktree", "add", "-q", str(tmp_path / "wt")], check=True)

    def decide(cmd: str, cwd: str) -> tuple[Verdict, str | None]:
        d = guard.decide(Action("shell", cmd, cwd=cwd, environment="staging"))
        return d.verdict, d.facts.environment

    assert decide("git push --force origin main", str(repo)) == (Verdict.DENY, "production")
    assert decide("git push -f", str(repo / "sub")) == (Verdict.DENY, "production")
    assert decide("git push --force origin main", str(tmp_path / "wt")) == (
        Verdict.DENY, "production")
    assert decide(f"cd {repo} && git push --force origin main", PROJECT) == (
        Verdict.DENY, "production")
    assert decide(f"git -C {repo} push --force origin main", PROJECT) == (
        Verdict.DENY, "production")
    assert decide("git push --force stg main", str(repo)) == (Verdict.ASK, "staging")
    assert decide("git push origin main", str(repo)) == (Verdict.DENY, "production")
    assert decide("git pull origin main", str(repo))[0] is Verdict.ALLOW
