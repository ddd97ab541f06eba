"""The inventory places targets in environments; the most sensitive one decides the action's."""

from __future__ import annotations

import pytest

from safehold.config import parse_config
from safehold.inventory import Inventory
from safehold.model import Action, Effect, Facts, Operation, Target

CONFIG = """
[environments.production]
protected = true
resource_ids = ["vol-prod-1", "service:svc-9", "railway:project:prj-1"]
databases = ["postgresql://db.prod.internal:5432/app", "analytics"]
hosts = ["cache.prod.internal", "10.0.0.5:6379"]
kubernetes = ["prod-eks", "shared-eks/payments"]
buckets = ["acme-prod-backups"]
paths = ["/srv/prod"]
urls = ["https://api.prod.example.com", "https://admin.example.com/prod"]
git_remotes = ["git@github.com:acme/infra.git"]

[environments.staging]
resource_ids = ["vol-stg-1"]
databases = ["db.staging.internal/app", "analytics"]
kubernetes = ["shared-eks/payments-staging", "stg-eks/payments"]
paths = ["/srv/staging"]
urls = ["https://api.staging.example.com", "https://admin.example.com"]

[environments.dev]
paths = ["/srv"]
"""


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return Inventory.from_config(parse_config(CONFIG))


PLACEMENTS = [
    (Target("volume", "vol-prod-1"), "production"),
    (Target("volume", "vol-stg-1"), "staging"),
    (Target("volume", "vol-unknown"), None),
    (Target("service", "svc-9"), "production"),
    (Target("deployment", "svc-9"), None),
    (Target("project", "prj-1", provider="railway"), "production"),
    (Target("project", "prj-1"), "production"),
    (Target("project", "prj-1", provider="aws"), None),
    (Target("path", "/srv/prod"), "production"),
    (Target("path", "/srv/prod/db/base"), "production"),
    (Target("path", "/srv/prod/../staging/x"), "staging"),
    (Target("path", "/srv/production"), "dev"),
    (Target("path", "/srv/other"), "dev"),
    (Target("path", "/home/me/build"), None),
    (Target("database", "postgresql://admin@db.prod.internal:5432/app"), "production"),
    (Target("database", "postgres://db.prod.internal/app"), "production"),
    (Target("database", "postgresql://db.prod.internal:6543/app"), None),
    (Target("database", "db.staging.internal/app"), "staging"),
    (Target("database", "db.staging.internal:5432/app"), "staging"),
    (Target("database", "analytics"), "production"),
    (Target("database", "postgresql://cache.prod.internal/x"), "production"),
    (Target("url", "api.prod.example.com/v1/volumes/1"), "production"),
    (Target("url", "https://API.prod.example.com:443/v1"), "production"),
    (Target("url", "https://api.staging.example.com/v1"), "staging"),
    (Target("url", "admin.example.com/prod/users"), "production"),
    (Target("url", "admin.example.com/products"), "staging"),
    (Target("url", "https://api.prod.example.com.evil.io/x"), None),
    (Target("host", "cache.prod.internal"), "production"),
    (Target("host", "10.0.0.5:6379"), "production"),
    (Target("cluster", "prod-eks"), "production"),
    (Target("namespace", "prod-eks/anything"), "production"),
    (Target("namespace", "shared-eks/payments"), "production"),
    (Target("namespace", "shared-eks/payments-staging"), "staging"),
    (Target("namespace", "payments"), "production"),
    (Target("bucket", "acme-prod-backups"), "production"),
    (Target("bucket", "s3://acme-prod-backups/2026/01/db.dump"), "production"),
    (Target("object", "arn:aws:s3:::acme-prod-backups/x"), "production"),
    (Target("bucket", "acme-prod-backups-copy"), None),
    (Target("git-remote", "https://github.com/acme/infra"), "production"),
    (Target("remote", "ssh://git@github.com/acme/infra.git"), "production"),
    (Target("table", "public.users"), None),
    (Target("volume", ""), None),
]


@pytest.mark.parametrize(
    "target, expected", PLACEMENTS, ids=[f"{t.kind}:{t.name}" for t, _ in PLACEMENTS]
)
def test_target_placement(inventory: Inventory, target: Target, expected: str | None) -> None:
    assert inventory.environment_of(target) == expected


def test_namespace_uses_the_actions_kube_context(inventory: Inventory) -> None:
    ctx = {"kube_context": "shared-eks"}
    assert (
        inventory.environment_of(Target("namespace", "payments-staging"), context=ctx) == "staging"
    )
    assert (
        inventory.environment_of(Target("namespace", "payments"), context={"context": "other"})
        is None
    )


def test_a_namespace_in_several_clusters_is_as_sensitive_as_the_most_sensitive(
    inventory: Inventory,
) -> None:
    assert inventory.environment_of(Target("namespace", "payments")) == "production"
    ctx = {"context": "stg-eks"}
    assert inventory.environment_of(Target("namespace", "payments"), context=ctx) == "staging"
    assert inventory.environment_of(Target("namespace", "stg-eks/payments")) == "staging"


def _facts(*targets: Target) -> Facts:
    op = Operation("x:delete", Effect.DESTRUCTIVE, "deletes", "src", targets=targets)
    return Facts(kind="http", operations=(op,))


def test_an_action_touching_production_is_a_production_action(inventory: Inventory) -> None:
    action = Action(
        "http", {"url": "https://backboard.railway.app/graphql/v2"}, environment="staging"
    )
    facts = inventory.resolve(
        action, _facts(Target("volume", "vol-stg-1"), Target("volume", "vol-prod-1"))
    )
    assert facts.environment == "production"
    assert [t.environment for t in facts.targets] == ["staging", "production"]


def test_unresolved_targets_fall_back_to_the_claimed_environment(inventory: Inventory) -> None:
    action = Action("shell", "rm -rf /home/me/build", environment="staging")
    facts = inventory.resolve(action, _facts(Target("path", "/home/me/build")))
    assert facts.environment == "staging"
    assert facts.targets[0].environment is None
    assert inventory.resolve(Action("shell", "x"), _facts()).environment is None


def test_sql_tables_take_the_environment_of_the_connection(inventory: Inventory) -> None:
    action = Action(
        "sql",
        "DROP TABLE users",
        environment="staging",
        options={"database_url": "postgresql://db.prod.internal:5432/app"},
    )
    facts = inventory.resolve(action, _facts(Target("table", "public.users")))
    assert facts.environment == "production"
    assert facts.targets[0].environment == "production"


def test_http_actions_are_placed_by_their_url(inventory: Inventory) -> None:
    action = Action("http", {"method": "DELETE", "url": "https://api.prod.example.com/v1/x"})
    assert inventory.resolve(action, _facts()).environment == "production"


def test_targets_already_placed_by_the_analyser_are_kept(inventory: Inventory) -> None:
    action = Action("http", {"url": "https://x"})
    facts = inventory.resolve(action, _facts(Target("volume", "vol-prod-1", environment="dev")))
    assert facts.targets[0].environment == "dev"


def test_protected_environments() -> None:
    inv = Inventory.from_config(
        parse_config(CONFIG + "\n[environments.payments]\nprotected = true\n")
    )
    assert {"production", "payments", "prod"} <= inv.protected
    assert "staging" not in inv.protected


def test_most_sensitive_prefers_protected_then_production_names() -> None:
    inv = Inventory.from_config(
        parse_config(
            "[environments.live]\n[environments.vault]\nprotected = true\n[environments.qa]\n"
        )
    )
    assert inv.most_sensitive(["qa", "live"]) == "live"
    assert inv.most_sensitive(["live", "vault", "qa"]) == "vault"
    assert inv.most_sensitive([]) is None


def test_resolver_plugs_into_the_guard(inventory: Inventory) -> None:
    """The real decision path: a staging session deleting a production volume is refused."""
    from safehold.decide import Guard

    guard = Guard.load(resolver=inventory.resolve, protected_environments=inventory.protected)
    query = 'mutation { volumeDelete(volumeId: "vol-prod-1") }'
    action = Action(
        "http",
        {
            "method": "POST",
            "url": "https://backboard.railway.app/graphql/v2",
            "body": {"query": query},
        },
        environment="staging",
        session="s",
    )
    decision = guard.decide(action)
    assert decision.verdict.value == "deny"
    assert decision.facts.environment == "production"
