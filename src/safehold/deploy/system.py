"""`safehold setup --system`: the deployment in which the agent cannot touch safehold.

Run once as root. It creates the `safehold` user, the directories of `layout.Layout` with their
owners and modes, the server's configuration and an empty team policy, the database with one
agent token (which can request decisions, never approve), the client file the hooks read, a
systemd unit and a plain start script. Running it again keeps what exists (configuration,
policy, database, the token already issued) and repairs owners and modes.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from safehold.deploy.layout import Layout
from safehold.errors import SafeholdError


class SetupError(SafeholdError):
    """The system deployment cannot be set up as asked."""


@dataclass(frozen=True, slots=True)
class SetupResult:
    layout: Layout
    user: str
    uid: int
    created_user: bool
    url: str
    token_issued: bool
    executable: str


def setup_system(
    root: Path,
    *,
    user: str = "safehold",
    host: str = "127.0.0.1",
    port: int = 8474,
    executable: str | None = None,
) -> SetupResult:
    if os.geteuid() != 0:
        raise SetupError("setup --system creates a user and root-owned files: run it as root")
    layout = Layout(root.resolve())
    exe = executable or _safehold_executable()
    created = _ensure_user(user, layout)
    pw = pwd.getpwnam(user)
    uid, gid = pw.pw_uid, pw.pw_gid

    _directory(layout.etc, 0, 0, 0o755)
    for private in layout.private():
        _directory(private, uid, gid, 0o700)
    _directory(layout.run_dir, uid, gid, 0o755)

    url = f"http://{host}:{port}"
    if not layout.config_file.exists():
        _write(layout.config_file, _server_config(layout, host, port, url), uid, gid, 0o600)
    if not layout.policy_file.exists():
        _write(layout.policy_file, _POLICY, uid, gid, 0o600)

    issued = False
    if not layout.client_file.exists():
        token = _issue_agent_token(layout)
        from safehold.surfaces.hooks.system import ClientConfig, render

        client = ClientConfig(str(layout.client_file), str(layout.socket), uid, token, url)
        _write(layout.client_file, render(client), 0, 0, 0o644)
        issued = True
    _own_tree(layout, uid, gid)

    _write(layout.unit_file, _unit(layout, user, exe), 0, 0, 0o644)
    _write(layout.start_script, _start_script(layout, user, exe), 0, 0, 0o755)
    return SetupResult(layout, user, uid, created, url, issued, exe)


def _ensure_user(user: str, layout: Layout) -> bool:
    try:
        pwd.getpwnam(user)
        return False
    except KeyError:
        pass
    useradd = shutil.which("useradd")
    if useradd is None:
        raise SetupError(f"no user {user!r} and no useradd to create it; create it, then rerun")
    nologin = next((s for s in ("/usr/sbin/nologin", "/sbin/nologin") if Path(s).exists()),
                   "/bin/false")
    proc = subprocess.run(
        [useradd, "--system", "--user-group", "--no-create-home",
         "--home-dir", str(layout.data_dir), "--shell", nologin, user],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise SetupError(f"useradd {user} failed: {proc.stderr.strip() or proc.returncode}")
    return True


def _directory(path: Path, uid: int, gid: int, mode: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def _write(path: Path, text: str, uid: int, gid: int, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chown(tmp, uid, gid)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _own_tree(layout: Layout, uid: int, gid: int) -> None:
    """Everything in the private directories belongs to safehold's user, files 0600."""
    for top in layout.private():
        for dirpath, _dirs, filenames in os.walk(top):
            os.chown(dirpath, uid, gid)
            os.chmod(dirpath, 0o700)
            for name in filenames:
                file = os.path.join(dirpath, name)
                os.chown(file, uid, gid, follow_symlinks=False)
                if not os.path.islink(file):
                    os.chmod(file, 0o600)


def _issue_agent_token(layout: Layout) -> str:
    from safehold.audit import AuditLog
    from safehold.server.accounts import Accounts
    from safehold.store import open_store

    old = os.umask(0o077)
    try:
        store = open_store(f"sqlite:///{layout.database}")
        try:
            accounts = Accounts(store, AuditLog(store), actor="setup/system")
            return accounts.create_token("agents", "agent").secret
        finally:
            store.close()
    finally:
        os.umask(old)


def _server_config(layout: Layout, host: str, port: int, url: str) -> str:
    return (
        "# safehold's server configuration (system deployment). Owned by the safehold user,\n"
        "# mode 0600: agents can neither read nor change it. See docs/security.md.\n"
        f'database_url = "sqlite:///{layout.database}"\n'
        'policy = "policy.cedar"\n'
        "\n[server]\n"
        f'host = "{host}"\n'
        f"port = {port}\n"
        f'base_url = "{url}"\n'
        f'secret_key = "{layout.secrets_dir / "session.key"}"\n'
    )


_POLICY = """\
// The team's policy for the system deployment; it extends safehold's built-in policy
// (docs/policy.md). Only the safehold user (and root) can change this file.
"""


def _unit(layout: Layout, user: str, exe: str) -> str:
    writable = " ".join(str(p) for p in (layout.data_dir, layout.secrets_dir, layout.run_dir))
    return f"""\
# Written by `safehold setup --system`.
[Unit]
Description=safehold: the policy boundary between AI agents and production
After=network.target

[Service]
User={user}
Group={user}
UMask=0077
ExecStart={shlex.quote(exe)} serve --config {layout.config_file} --socket {layout.socket}
Restart=on-failure
RuntimeDirectory=safehold
RuntimeDirectoryMode=0755
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=read-only
PrivateTmp=yes
ReadWritePaths={writable}

[Install]
WantedBy=multi-user.target
"""


def _start_script(layout: Layout, user: str, exe: str) -> str:
    return f"""\
#!/bin/sh
# Written by `safehold setup --system`: starts safehold's server as the {user} user on
# machines without systemd (run it as root, e.g. from an init script).
set -eu
umask 077
install -d -o {user} -g {user} -m 0755 {layout.run_dir}
exec setpriv --reuid={user} --regid={user} --init-groups --no-new-privs -- \\
    {shlex.quote(exe)} serve --config {layout.config_file} --socket {layout.socket}
"""


def _safehold_executable() -> str:
    from safehold.surfaces.install.manage import _safehold_executable as find

    return find()
