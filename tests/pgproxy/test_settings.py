"""The `[[pgproxy]]` tables of safehold.toml: read exactly, refused clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from safehold.config import load_config
from safehold.errors import ConfigError


def config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "safehold.toml"
    path.write_text(f'database_url = "sqlite:///{tmp_path}/sh.db"\n{body}')
    return path


def test_declared_proxies_are_read(tmp_path: Path) -> None:
    cfg = load_config(config(tmp_path, """
[[pgproxy]]
credential = "shop-db"
listen = "0.0.0.0:6433"
advertise = "db-proxy.internal:7000"
hold_seconds = 90
tls_cert = "/etc/p.crt"
tls_key = "/etc/p.key"

[[pgproxy]]
credential = "other"
"""))
    first, second = cfg.pgproxy
    assert (first.credential, first.host_port, first.address) == (
        "shop-db", ("0.0.0.0", 6433), ("db-proxy.internal", 7000))
    assert (first.hold_seconds, first.tls_cert, first.tls_key) == (90.0, "/etc/p.crt",
                                                                    "/etc/p.key")
    assert (second.listen, second.hold_seconds, second.tls_cert) == ("127.0.0.1:6433", 0.0, None)


@pytest.mark.parametrize(("body", "says"), [
    ('[pgproxy]\ncredential = "x"\n', "array of tables"),
    ('[[pgproxy]]\nlisten = "127.0.0.1:1"\n', "credential"),
    ('[[pgproxy]]\ncredential = "x"\nlisten = "nowhere"\n', "HOST:PORT"),
    ('[[pgproxy]]\ncredential = "x"\nhold_seconds = -1\n', "hold_seconds"),
    ('[[pgproxy]]\ncredential = "x"\ntls_cert = "/a"\n', "together"),
    ('[[pgproxy]]\ncredential = "x"\npassword = "y"\n', "unknown key 'password'"),
])
def test_bad_declarations_are_refused(tmp_path: Path, body: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        load_config(config(tmp_path, body))
