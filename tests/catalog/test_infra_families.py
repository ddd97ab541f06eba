"""Infrastructure, cloud, database and ORM families: effects, targets and reads, end to end.

The catalog's own examples prove that each entry matches; these tables prove what the analysis
makes of a whole command line: the worst effect, the entry that decides it, and the resource
names an inventory will resolve to an environment (a volume id, a namespace, a bucket).
"""

from __future__ import annotations

import pytest

from safehold.analysis.interface import Limits
from safehold.analysis.registry import analyze
from safehold.catalog.loader import load_catalog
from safehold.model import Action, Effect, Facts

LIMITS = Limits(time_budget_s=5.0)

#: The family files this table covers; each must load and every entry must say what to do instead.
FAMILIES = {
    "docker", "compose", "kubectl", "helm", "terraform", "pulumi", "aws", "gcloud", "gsutil",
    "az", "azcopy", "railway", "fly", "heroku", "vercel", "doctl", "supabase", "neonctl", "gh",
    "glab", "dropdb", "dropuser", "pg_restore", "pg_dropcluster", "mysqladmin", "redis", "mongo",
    "mongorestore", "cqlsh", "clickhouse", "rails", "django", "prisma", "alembic", "knex",
    "sequelize", "typeorm", "drizzle", "laravel", "migrate-tools", "ecto", "flyway", "kafka",
    "rabbitmq", "nats", "vault", "onepassword", "doppler", "restic", "borg", "rclone", "velero",
    "mc", "s3cmd", "wrangler", "gitlab", "circleci", "jenkins", "fastly", "stripe", "algolia",
    "splunk", "deck", "apigeecli", "ldcli", "eksctl", "argocd", "aws-iac", "firebase", "netlify",
    "serverless-db", "bq", "kv-stores", "openstack", "ceph", "virt", "hcloud", "linode", "oci",
}


def facts(cmd: str) -> Facts:
    return analyze(Action(kind="shell", input=cmd, cwd="/home/user/project"), LIMITS)


# command, entry id that must be present, effect of the whole command, (target kind, name) or None
CASES = [
    # the incident this project exists for, and its relatives on other platforms
    ("railway volume delete --volume pgdata --yes", "railway:volume-delete", Effect.IRREVERSIBLE,
     ("volume", "pgdata")),
    ("railway environment delete staging", "railway:environment-delete", Effect.IRREVERSIBLE,
     ("environment", "staging")),
    ("fly volumes destroy vol_1234 -y", "fly:volume-destroy", Effect.IRREVERSIBLE,
     ("volume", "vol_1234")),
    ("doctl compute volume delete 7724db7c --force", "doctl:volume-delete", Effect.IRREVERSIBLE,
     ("volume", "7724db7c")),
    ("aws ec2 delete-volume --volume-id vol-049df6", "aws:ec2-delete-volume", Effect.IRREVERSIBLE,
     ("volume", "vol-049df6")),
    ("docker volume rm pgdata", "docker:volume-rm", Effect.IRREVERSIBLE, ("volume", "pgdata")),
    ("kubectl --context prod -n db delete pvc data-postgres-0", "kubectl:delete-volume",
     Effect.IRREVERSIBLE, ("volume", "data-postgres-0")),
    # whole stacks and projects
    ("terraform destroy -auto-approve", "terraform:destroy", Effect.IRREVERSIBLE, None),
    ("pulumi destroy --yes --stack prod", "pulumi:destroy", Effect.IRREVERSIBLE, None),
    ("aws cloudformation delete-stack --stack-name prod-stack", "aws:cloudformation-delete-stack",
     Effect.IRREVERSIBLE, ("stack", "prod-stack")),
    ("gcloud --project prod projects delete shop-prod", "gcloud:projects-delete",
     Effect.IRREVERSIBLE, ("project", "shop-prod")),
    ("az group delete --name prod-rg --yes", "az:group-delete", Effect.IRREVERSIBLE,
     ("resource-group", "prod-rg")),
    ("kubectl delete namespace payments", "kubectl:delete-namespace", Effect.IRREVERSIBLE,
     ("namespace", "payments")),
    ("heroku apps:destroy -a shop --confirm shop", "heroku:apps-destroy", Effect.IRREVERSIBLE,
     ("app", "shop")),
    # databases and their backups
    ("aws rds delete-db-instance --db-instance-identifier prod-db --skip-final-snapshot",
     "aws:rds-delete-skip-final-snapshot", Effect.IRREVERSIBLE, ("database", "prod-db")),
    ("aws rds delete-db-instance --db-instance-identifier prod-db "
     "--final-db-snapshot-identifier prod-db-final", "aws:rds-delete", Effect.DESTRUCTIVE,
     ("database", "prod-db")),
    ("gcloud sql instances delete prod-db --quiet", "gcloud:sql-instances-delete",
     Effect.IRREVERSIBLE, ("database", "prod-db")),
    ("dropdb -h db.internal -U postgres production", "dropdb:drop-database", Effect.IRREVERSIBLE,
     ("database", "postgresql://db.internal/production")),
    ("redis-cli -h cache.internal -n 2 FLUSHDB", "redis:flush", Effect.IRREVERSIBLE, None),
    ("mongosh mongodb://prod/app --eval 'db.dropDatabase()'", "mongo:drop-database",
     Effect.IRREVERSIBLE, None),
    ("pg_restore --clean -d production backup.dump", "pg_restore:clean", Effect.DESTRUCTIVE, None),
    ("heroku pg:backups:delete b101 -a shop", "heroku:pg-backups-delete", Effect.IRREVERSIBLE,
     ("snapshot", "b101")),
    ("restic forget --keep-last 1 --prune", "restic:forget-prune", Effect.IRREVERSIBLE, None),
    # ORMs and migrations
    ("prisma migrate reset --force", "prisma:migrate-reset", Effect.IRREVERSIBLE, None),
    ("prisma db push --accept-data-loss", "prisma:db-push-accept-data-loss", Effect.DESTRUCTIVE,
     None),
    ("bundle exec rails db:drop", "rails:db-drop", Effect.IRREVERSIBLE, None),
    ("python manage.py flush --noinput", "django:flush-script", Effect.DESTRUCTIVE, None),
    ("alembic downgrade base", "alembic:downgrade", Effect.DESTRUCTIVE, None),
    ("php artisan migrate:fresh --seed", "laravel:migrate-fresh", Effect.DESTRUCTIVE, None),
    # data that outlives a flag: the flag decides the effect
    ("docker compose -f prod.yml down -v", "docker:compose-down-volumes", Effect.IRREVERSIBLE,
     None),
    ("aws s3 rb s3://assets --force", "aws:s3-rb-force", Effect.IRREVERSIBLE,
     ("bucket", "s3://assets")),
    ("aws s3 rm s3://assets/logo.png", "aws:s3-rm", Effect.DESTRUCTIVE,
     ("bucket", "s3://assets/logo.png")),
    ("gh api -X DELETE /repos/acme/site", "gh:api-delete", Effect.DESTRUCTIVE, None),
    ("kafka-topics --bootstrap-server b:9092 --delete --topic payments", "kafka:topic-delete",
     Effect.IRREVERSIBLE, None),
    ("eksctl delete cluster --name prod", "eksctl:delete-cluster", Effect.IRREVERSIBLE, None),
    ("cdk destroy ProdStack --force", "aws-iac:destroy", Effect.IRREVERSIBLE,
     ("stack", "ProdStack")),
    ("turso db destroy prod-db --yes", "serverless-db:destroy-database", Effect.IRREVERSIBLE,
     ("database", "prod-db")),
    ("etcdctl del --prefix /registry", "kv-stores:etcd-delete-prefix", Effect.IRREVERSIBLE, None),
    # launchers and wrappers reach the catalog too
    ("sudo -u deploy kubectl delete ns staging", "kubectl:delete-namespace", Effect.IRREVERSIBLE,
     ("namespace", "staging")),
    ("AWS_PROFILE=prod aws s3 rm s3://logs --recursive", "aws:s3-rm-recursive",
     Effect.IRREVERSIBLE, ("bucket", "s3://logs")),
]


@pytest.mark.parametrize(("cmd", "entry_id", "effect", "target"), CASES, ids=[c[0] for c in CASES])
def test_destructive_commands_are_understood(cmd, entry_id, effect, target):
    f = facts(cmd)
    ops = {op.id: op for op in f.operations}
    assert entry_id in ops, f"{cmd!r}: {sorted(ops)}; unknowns {[u.id for u in f.unknowns]}"
    assert f.effect is effect
    if target is not None:
        kind, name = target
        assert any(t.kind == kind and t.name == name for t in ops[entry_id].targets), \
            ops[entry_id].targets


#: Reads and routine work: nothing here may cost more than a write.
ROUTINE = [
    "docker ps -a", "docker compose up -d --build", "docker compose down", "docker image prune -f",
    "kubectl get pods -A", "kubectl describe deploy web -n prod", "kubectl apply -f k8s/",
    "kubectl rollout restart deploy/web", "helm list -A", "helm upgrade --install web ./chart",
    "terraform plan -out=tfplan", "terraform plan -destroy", "terraform apply",
    "pulumi preview --diff", "aws s3 ls s3://bucket", "aws s3 cp dist/ s3://bucket/ --recursive",
    "aws ec2 describe-instances", "aws rds describe-db-instances",
    "gcloud compute instances list", "gcloud sql instances describe prod-db",
    "gsutil ls gs://bucket", "az vm list -g prod-rg", "railway status", "railway up",
    "fly deploy", "fly volumes list", "heroku ps -a shop", "vercel deploy --prod",
    "doctl compute droplet list", "supabase db push", "supabase migration new add_users",
    "neonctl branches list", "gh pr create --fill", "gh repo view acme/site",
    "gh api /repos/acme/site", "redis-cli GET session:1", "redis-cli INFO keyspace",
    "mongosh app --eval 'db.users.find().limit(5)'", "pg_restore -l backup.dump",
    "rails db:migrate", "prisma migrate deploy", "prisma generate", "alembic upgrade head",
    "knex migrate:latest", "python manage.py migrate", "php artisan migrate",
    "kafka-topics --bootstrap-server b:9092 --list", "rclone copy ./dist remote:site",
    "restic backup /srv/data", "borg create repo::archive /srv", "velero backup create nightly",
]


@pytest.mark.parametrize("cmd", ROUTINE)
def test_routine_commands_cost_at_most_a_write(cmd):
    f = facts(cmd)
    assert f.effect <= Effect.WRITE, [(op.id, op.effect.label) for op in f.operations]
    assert not f.unknowns, [u.id for u in f.unknowns]


def test_infra_families_load_with_suggestions():
    catalog = load_catalog()
    loaded = {fam.family: fam for fam in catalog.families}
    missing = FAMILIES - set(loaded)
    assert not missing, missing
    for name in FAMILIES:
        for entry in loaded[name].entries:
            assert entry.suggestion, f"{entry.id} says what is lost but not what to do instead"
            assert entry.reason.endswith("."), entry.id

