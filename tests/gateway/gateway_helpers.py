"""What the gateway tests share: a config, fake-provider tokens, request builders.

Policy for these tests: the built-in one, except that an irreversible call outside production
is delayed an hour (instead of asking), so one setup shows every outcome: a GraphQL query is
allowed, `variableDelete` (destructive) asks, `volumeDelete` is refused in production and
delayed in staging.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from safehold.config import Config
from safehold.replay.providers import FakeRailway, FakeRest

#: LiveServer and free_port live with the server tests.
sys.path.insert(0, str(Path(__file__).parents[1] / "server"))

RAILWAY_TOKEN = "rw-live-7f3a9c2e8b1d4f6a0c5e9b2d7a4f1c8e"
REST_TOKEN = "ghp_fakeRestToken0123456789abcdefABCDEF01"

POLICY = """
@id("irreversible-needs-approval")
@decision("delay")
@delay("1h")
@reason("irreversible calls outside production wait an hour and can be cancelled until then")
permit (principal, action, resource)
when { context.effect == "irreversible" };
"""


def write_gateway_config(root: Path) -> Path:
    (root / "policy.cedar").write_text(POLICY)
    path = root / "safehold.toml"
    path.write_text(f"""
database_url = "sqlite:///{root / 'safehold.db'}"
policy = "policy.cedar"

[server]
secret_key = "{root / 'server' / 'secret.key'}"
base_url = "http://127.0.0.1:8474"

[environments.production]
protected = true

[environments.staging]
""")
    return path


@dataclass
class World:
    root: Path
    config_path: Path
    config: Config
    railway: FakeRailway
    rest: FakeRest


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def gql(query: str, variables: dict[str, object] | None = None) -> dict[str, object]:
    body: dict[str, object] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return body


PROJECTS = "query { projects { id name volumes { id backups { id } } } }"
VOLUME_DELETE = 'mutation { volumeDelete(volumeId: "vol-prod-db") }'
