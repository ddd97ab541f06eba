"""safehold.toml: where it is found, what it parses to, and how bad files are reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from safehold.config import (
    Config,
    find_config,
    load_config,
    parse_config,
    parse_config_file,
    parse_duration,
)
from safehold.errors import ConfigError

FULL = """
database_url = "postgresql+psycopg://safehold@db.internal:5432/safehold"
policy = "policies/team.cedar"
environment = "staging"

[server]
host = "0.0.0.0"
port = 9000
base_url = "https://safehold.example.com/"
secret_key = "secret.key"
session_ttl = "8h"

[approvals]
ttl = "30m"
production_approvers = 2

[delays]
default = "15m"
release_window = "2h"

[[notifications.webhooks]]
url = "https://hooks.slack.com/services/T000/B000/XXXX"
events = ["approval.requested", "deny.production"]
timeout = 2.5

[environments.production]
protected = true
resource_ids = ["vol-prod-1", "railway:volume:vol-prod-2"]
databases = ["postgresql://db.prod.internal:5432/app"]
hosts = ["db.prod.internal"]
kubernetes = ["prod-eks", "shared-eks/payments"]
buckets = ["acme-prod-backups"]
paths = ["/srv/prod", "data/prod"]
urls = ["https://api.prod.example.com"]
git_remotes = ["git@github.com:acme/infra.git"]

[environments.staging]
resource_ids = ["vol-stg-1"]
"""


def test_full_file_parses(tmp_path: Path) -> None:
    path = tmp_path / "safehold.toml"
    path.write_text(FULL)
    cfg = parse_config_file(path)
    assert cfg.path == str(path)
    assert cfg.database_url.startswith("postgresql+psycopg://")
    assert cfg.policy_path == str(tmp_path / "policies" / "team.cedar")
    assert cfg.session_environment == "staging"
    assert (cfg.server.host, cfg.server.port) == ("0.0.0.0", 9000)
    assert cfg.server.base_url == "https://safehold.example.com"
    assert cfg.server.secret_key_path == str(tmp_path / "secret.key")
    assert cfg.server.session_ttl_seconds == 8 * 3600
    assert (cfg.approvals.ttl_seconds, cfg.approvals.production_approvers) == (1800, 2)
    assert (cfg.delays.default_seconds, cfg.delays.release_window_seconds) == (900, 7200)
    (hook,) = cfg.notifications.webhooks
    assert hook.events == ("approval.requested", "deny.production") and hook.timeout_seconds == 2.5
    prod = cfg.environment("production")
    assert prod is not None and prod.protected
    assert prod.paths == ("/srv/prod", str(tmp_path / "data" / "prod"))
    assert prod.kubernetes == ("prod-eks", "shared-eks/payments")
    staging = cfg.environment("staging")
    assert staging is not None and not staging.protected


def test_defaults_without_a_file(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    cfg = load_config(cwd=tmp_path, environ=env)
    assert cfg.path is None
    assert cfg.database_url == f"sqlite:///{tmp_path / 'data' / 'safehold' / 'safehold.db'}"
    assert cfg.server.secret_key_path == str(tmp_path / "data" / "safehold" / "secret.key")
    assert cfg.approvals.ttl_seconds == 3600 and cfg.approvals.production_approvers == 1
    assert cfg.environments == () and cfg.policy_path is None


def test_relative_sqlite_path_is_taken_from_the_files_directory(tmp_path: Path) -> None:
    path = tmp_path / "safehold.toml"
    path.write_text('database_url = "sqlite:///state/safehold.db"\n')
    assert parse_config_file(path).database_url == f"sqlite:///{tmp_path / 'state/safehold.db'}"


class TestDiscovery:
    def test_flag_wins_over_everything(self, tmp_path: Path) -> None:
        flag = tmp_path / "flag.toml"
        flag.write_text("")
        env_file = tmp_path / "env.toml"
        env_file.write_text("")
        (tmp_path / "safehold.toml").write_text("")
        found = find_config(flag, cwd=tmp_path, environ={"SAFEHOLD_CONFIG": str(env_file)})
        assert found == flag

    def test_env_var_wins_over_project(self, tmp_path: Path) -> None:
        env_file = tmp_path / "env.toml"
        env_file.write_text("")
        (tmp_path / "safehold.toml").write_text("")
        assert find_config(cwd=tmp_path, environ={"SAFEHOLD_CONFIG": str(env_file)}) == env_file

    def test_named_file_that_is_missing_is_an_error(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="--config"):
            find_config(tmp_path / "nope.toml", cwd=tmp_path, environ={})
        with pytest.raises(ConfigError, match="SAFEHOLD_CONFIG"):
            find_config(cwd=tmp_path, environ={"SAFEHOLD_CONFIG": str(tmp_path / "nope")})

    def test_walks_up_to_the_git_root(self, tmp_path: Path) -> None:
        repo = tmp_path / "repo"
        deep = repo / "a" / "b"
        deep.mkdir(parents=True)
        (repo / ".git").mkdir()
        (repo / ".safehold").mkdir()
        (repo / ".safehold" / "safehold.toml").write_text("")
        assert find_config(cwd=deep, environ={}) == repo / ".safehold" / "safehold.toml"
        (repo / "safehold.toml").write_text("")
        assert find_config(cwd=deep, environ={}) == repo / "safehold.toml"

    def test_stops_at_the_git_root(self, tmp_path: Path) -> None:
        (tmp_path / "safehold.toml").write_text("")
        repo = tmp_path / "repo"
        (repo / ".git").mkdir(parents=True)
        env = {"XDG_CONFIG_HOME": str(tmp_path / "nocfg")}
        assert find_config(cwd=repo, environ=env) is None

    def test_user_config_dir_is_last(self, tmp_path: Path) -> None:
        user = tmp_path / "cfg" / "safehold" / "safehold.toml"
        user.parent.mkdir(parents=True)
        user.write_text("")
        repo = tmp_path / "repo"
        (repo / ".git").mkdir(parents=True)
        assert find_config(cwd=repo, environ={"XDG_CONFIG_HOME": str(tmp_path / "cfg")}) == user


BAD = [
    ("database_url = 3", "database_url: must be a non-empty string"),
    ('database_url = "just-a-path.db"', "database_url: must be a URL"),
    ("colour = 'red'", "colour: unknown key"),
    ("[server]\nport = 70000", "server.port: must be a whole number from 1 to 65535"),
    ("[server]\nport = true", "server.port"),
    ("[server]\ndecision_threads = 0", "server.decision_threads: must be a whole number"),
    ('[server]\nbase_url = "ftp://x"', "server.base_url: must start with http"),
    ('[approvals]\nttl = "soon"', "approvals.ttl: 'soon' is not a duration"),
    ("[approvals]\nttl = 0", "approvals.ttl"),
    ("[approvals]\nproduction_approvers = 0", "approvals.production_approvers"),
    ("[approvals]\nquorum = 2", "approvals.quorum: unknown key"),
    ('[delays]\ndefault = "-5m"', "delays.default"),
    ('[[notifications.webhooks]]\nurl = "slack"', "notifications.webhooks[0].url"),
    (
        '[[notifications.webhooks]]\nurl = "https://x"\nevents = ["everything"]',
        "notifications.webhooks[0].events: unknown event 'everything'",
    ),
    (
        '[[notifications.webhooks]]\nurl = "https://x"\ntimeout = 99',
        "notifications.webhooks[0].timeout",
    ),
    ("[environments.production]\nprotected = 'yes'", "environments.production.protected"),
    ("[environments.production]\nvolumes = ['v']", "environments.production.volumes: unknown"),
    ("[environments.production]\npaths = [1]", "environments.production.paths: must be a list"),
    ('[environments."bad name"]\n', "environments.bad name: environment names"),
    ("environments = 3", "environments: must be a table"),
    ('environment = "two words"', "environment: 'two words' is not an environment name"),
    ("this is = not toml", "not valid TOML"),
]


@pytest.mark.parametrize("text, message", BAD)
def test_bad_files_name_file_key_and_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "safehold.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        parse_config_file(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        parse_config_file(tmp_path)


@pytest.mark.parametrize(
    "value, seconds",
    [
        (900, 900),
        ("30s", 30),
        ("15m", 900),
        ("1h", 3600),
        ("2d", 172800),
        (" 5 m ", 300),
    ],
)
def test_durations(value: object, seconds: int) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", [0, -1, "1w", "", True, 1.5, "400d"])
def test_bad_durations(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


def test_config_is_frozen() -> None:
    cfg = parse_config("")
    assert isinstance(cfg, Config)
    with pytest.raises(AttributeError):
        cfg.database_url = "x"  # type: ignore[misc]
