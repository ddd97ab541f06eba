"""The system deployment, for real: `safehold setup --system` run as root under a temporary
root, the server started by the written start script as its own user, and an agent's own Unix
user attacking it the way found 1, 2 and 10 of the boundary issue did. Needs root (CI runs as
root); the users are created here and removed afterwards."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from safehold.deploy.layout import Layout

SAFEHOLD = str(Path(sys.executable).with_name("safehold"))
SETPRIV = shutil.which("setpriv") or "setpriv"


def _as(user: str) -> list[str]:
    return [SETPRIV, f"--reuid={user}", f"--regid={user}", "--init-groups", "--"]

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("useradd") is None or shutil.which("setpriv") is None,
    reason="creates Unix users: needs root, useradd and setpriv",
)


@dataclass
class System:
    layout: Layout
    server_user: str
    agent_user: str
    agent_home: Path
    port: int

    @property
    def server_uid(self) -> int:
        return pwd.getpwnam(self.server_user).pw_uid


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def system() -> Iterator[System]:
    root = Path(tempfile.mkdtemp(prefix="safehold-system-"))
    os.chmod(root, 0o755)
    tag = secrets.token_hex(3)
    server_user, agent_user = f"shsrv{tag}", f"shagt{tag}"
    agent_home = root / "home" / agent_user
    agent_home.parent.mkdir()
    subprocess.run(["useradd", "--create-home", "--home-dir", str(agent_home), "--shell",
                    "/bin/sh", agent_user], check=True)
    port = _free_port()
    try:
        out = subprocess.run([SAFEHOLD, "setup", "--system", "--root", str(root), "--user",
                              server_user, "--port", str(port)],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert "safehold install <agent> --managed" in out.stdout
        yield System(Layout(root), server_user, agent_user, agent_home, port)
    finally:
        for user in (agent_user, server_user):
            _remove_user(user)
        shutil.rmtree(root, ignore_errors=True)


def _remove_user(user: str) -> None:
    """userdel, retried while a process of the user is still exiting."""
    for _ in range(100):
        if subprocess.run(["userdel", user], capture_output=True).returncode != 8:
            return
        time.sleep(0.1)


@pytest.fixture(scope="module")
def server(system: System) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([str(system.layout.start_script)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not system.layout.socket.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            why = proc.stderr.read() if proc.stderr else b""
            raise AssertionError(f"server did not start: {why!r}")
        time.sleep(0.1)
    yield proc
    proc.terminate()
    proc.wait(timeout=20)


def as_agent(system: System, command: str) -> subprocess.CompletedProcess[str]:
    """Run a shell command as the agent's own Unix user, in its home."""
    env = {"HOME": str(system.agent_home), "PATH": "/usr/local/bin:/usr/bin:/bin",
           "LANG": "C.UTF-8"}
    return subprocess.run([*_as(system.agent_user), "/bin/sh", "-c", command],
                          capture_output=True, text=True, cwd=system.agent_home, env=env,
                          timeout=60)


def hook(system: System, command: str, *, client: Path | None = None, as_user: bool = True,
         extra_env: dict[str, str] | None = None) -> str:
    """What Claude Code would be told for a Bash call, the hook run as the agent's user."""
    payload = json.dumps({
        "session_id": "s1", "cwd": str(system.agent_home), "hook_event_name": "PreToolUse",
        "tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": "t1",
    })
    client = client or system.layout.client_file
    env = {"HOME": str(system.agent_home), "PATH": "/usr/bin:/bin", **(extra_env or {})}
    argv = [SAFEHOLD, "hook", "claude-code", "--client", str(client)]
    if as_user:
        argv = [*_as(system.agent_user), *argv]
    out = subprocess.run(argv, input=payload, capture_output=True, text=True, env=env,
                         cwd=system.agent_home, timeout=60)
    if out.returncode == 2:  # Claude Code's blocking exit: the reason is on stderr
        return f"deny: {out.stderr}"
    assert out.returncode == 0, out.stderr
    if not out.stdout.strip():  # no objection: Claude Code's own permission rules apply
        return "none: "
    body = json.loads(out.stdout)["hookSpecificOutput"]
    return f"{body['permissionDecision']}: {body.get('permissionDecisionReason', '')}"


def _mode(path: Path) -> tuple[str, int]:
    st = path.stat()
    return pwd.getpwuid(st.st_uid).pw_name, st.st_mode & 0o7777


def test_setup_gives_the_server_user_alone_its_state(system: System) -> None:
    lay, user = system.layout, system.server_user
    for private in (lay.server_dir, lay.secrets_dir, lay.data_dir, lay.keys_dir):
        assert _mode(private) == (user, 0o700), private
    for private in (lay.config_file, lay.policy_file, lay.database):
        assert _mode(private) == (user, 0o600), private
    assert _mode(lay.run_dir) == (user, 0o755)
    assert _mode(lay.etc) == ("root", 0o755)
    assert _mode(lay.client_file) == ("root", 0o644)
    assert _mode(lay.start_script) == ("root", 0o755)
    unit = lay.unit_file.read_text()
    assert f"User={user}" in unit and f"--socket {lay.socket}" in unit
    client = lay.client_file.read_text()
    assert f"server_uid = {system.server_uid}" in client and "shk_" in client


def test_setup_again_keeps_the_issued_token_and_repairs_modes(system: System) -> None:
    lay = system.layout
    before = lay.client_file.read_text()
    os.chmod(lay.data_dir, 0o755)
    out = subprocess.run([SAFEHOLD, "setup", "--system", "--root", str(lay.root), "--user",
                          system.server_user, "--port", str(system.port)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert lay.client_file.read_text() == before
    assert _mode(lay.data_dir) == (system.server_user, 0o700)


def _attacks(lay: Layout) -> list[str]:
    db, policy = lay.database, lay.policy_file
    return [
        f"sqlite3 {db} \"UPDATE approvals SET state='approved'\"",
        f"sqlite3 {db} 'DELETE FROM audit_records WHERE seq > 1'",
        f"printf 'permit (principal, action, resource);\\n' >> {policy}",
        f"cp /dev/null {policy}",
        f"sed -i 's/x/y/' {lay.config_file}",
        f"python3 -c \"open('{db}', 'ab').write(b'x')\"",
        f"python3 -c \"import sqlite3; sqlite3.connect('{db}').execute('DELETE FROM approvals')\"",
        f"cat {lay.config_file}",
        f"ls {lay.keys_dir}",
        f"touch {lay.secrets_dir}/session.key",
        f"rm -rf {lay.data_dir}",
        f"ln -sf /dev/null {lay.run_dir}/safehold.sock",
        f"printf 'token = \"x\"\\n' >> {lay.client_file}",
        f"mv {lay.client_file} /tmp/",
        f"python3 -c \"import socket; s = socket.socket(socket.AF_UNIX); "
        f"s.bind('{lay.run_dir}/fake.sock')\"",
    ]


def test_the_agents_user_cannot_read_or_change_safeholds_state(system: System) -> None:
    lay = system.layout
    files = [lay.database, lay.policy_file, lay.config_file, lay.client_file]
    before = {f: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    for attack in _attacks(lay):
        out = as_agent(system, attack)
        assert out.returncode != 0, f"{attack!r} succeeded as the agent's user: {out.stdout}"
    assert {f: hashlib.sha256(f.read_bytes()).hexdigest() for f in files} == before
    assert sorted(p.name for p in lay.run_dir.iterdir()) in ([], ["safehold.sock"])


def test_the_hook_asks_the_server_and_ignores_the_agents_own_policy(
    system: System, server: subprocess.Popen[bytes]
) -> None:
    own = system.agent_home / ".config" / "safehold"
    as_agent(system, f"mkdir -p {own} && printf '@id(\"x\")\\npermit (principal, action, "
             f"resource);\\n' > {own}/policy.cedar && printf 'policy = \"policy.cedar\"\\n' "
             f"> {own}/safehold.toml")
    policy_env = {"SAFEHOLD_POLICY": str(own / "policy.cedar"),
                  "SAFEHOLD_CONFIG": str(own / "safehold.toml")}
    assert hook(system, "ls", extra_env=policy_env).startswith("none")
    refused = hook(system, "rm -rf ~", extra_env=policy_env)
    assert refused.startswith("deny") and "irreversible" in refused
    assert f"on path {system.agent_home}" in refused  # `~` is the agent's home, not the server's
    held = hook(system, "git push --force origin main", extra_env=policy_env)
    assert held.startswith("deny") and "Approval request ap_" in held


def test_the_agent_token_cannot_approve_its_own_request(
    system: System, server: subprocess.Popen[bytes]
) -> None:
    held = hook(system, "git push --force origin release")
    approval = held.split("Approval request ", 1)[1].split()[0]
    token = system.layout.client_file.read_text().split('token = "', 1)[1].split('"', 1)[0]
    out = as_agent(system, f"python3 - <<'EOF'\nimport http.client, socket\n"
                   f"s = socket.socket(socket.AF_UNIX); s.connect('{system.layout.socket}')\n"
                   "c = http.client.HTTPConnection('x'); c.sock = s\n"
                   f"c.request('POST', '/api/v1/approvals/{approval}/approve', body='{{}}', "
                   f"headers={{'Authorization': 'Bearer {token}', "
                   "'Content-Type': 'application/json'})\n"
                   "print(c.getresponse().status)\nEOF")
    assert out.stdout.strip() == "403", out.stdout + out.stderr
    assert hook(system, "git push --force origin release").startswith("deny")


def _fake_server(path: Path) -> str:
    """A listener that answers every decision with allow, as an agent would write one."""
    return (
        "import http.server, socketserver, os\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_POST(self):\n"
        "        self.rfile.read(int(self.headers.get('Content-Length') or 0))\n"
        "        body = b'{\"decision\": \"allow\", \"reasons\": [], \"rules\": [\"routine\"]}'\n"
        "        self.send_response(200); self.send_header('Content-Length', str(len(body)))\n"
        "        self.end_headers(); self.wfile.write(body)\n"
        "    def log_message(self, *a): pass\n"
        "class S(socketserver.UnixStreamServer):\n"
        "    def get_request(self):\n"
        "        r, _ = super().get_request(); return r, ('fake', 0)\n"
        f"p = {str(path)!r}\n"
        "if os.path.exists(p): os.unlink(p)\n"
        "s = S(p, H); os.chmod(p, 0o777); s.serve_forever()\n"
    )


@pytest.mark.parametrize("fake_as", ["agent", "root"])
def test_a_fake_server_on_the_socket_path_is_refused(system: System, tmp_path: Path,
                                                     fake_as: str) -> None:
    """Found 10: whatever listens where the hook connects, only the server's user is believed.
    The socket directory here is one the agent's user can write (as if it had replaced it)."""
    lay = system.layout
    spot = lay.root / f"spot-{fake_as}"
    spot.mkdir(mode=0o777, exist_ok=True)
    os.chmod(spot, 0o777)
    sock = spot / "safehold.sock"
    script = spot / "fake.py"
    script.write_text(_fake_server(sock))
    os.chmod(script, 0o644)
    client_dir = lay.root / f"client-{fake_as}"
    client_dir.mkdir(exist_ok=True)
    client = client_dir / "client.toml"
    client.write_text(lay.client_file.read_text().replace(str(lay.socket), str(sock)))
    argv = ["/usr/bin/python3", str(script)]
    if fake_as == "agent":
        argv = [*_as(system.agent_user), *argv]
    fake = subprocess.Popen(argv)
    try:
        deadline = time.monotonic() + 20
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        answer = hook(system, "rm -rf ~", client=client)
        assert answer.startswith("deny"), answer
        assert f"not as safehold's server user (uid {system.server_uid})" in answer
        assert hook(system, "ls", client=client).startswith("deny")
    finally:
        fake.terminate()
        fake.wait(timeout=10)


def test_a_client_file_the_agent_could_write_is_refused(system: System) -> None:
    lay = system.layout
    spot = lay.root / "agent-owned"
    spot.mkdir(exist_ok=True)
    client = spot / "client.toml"
    client.write_text(lay.client_file.read_text())
    os.chown(client, pwd.getpwnam(system.agent_user).pw_uid, -1)
    answer = hook(system, "ls", client=client)
    assert answer.startswith("deny") and "cannot be trusted" in answer


AGENTS = ("claude-code", "codex", "gemini", "cursor", "copilot")


def doctor(system: System, root: Path, *flags: str,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`safehold doctor` run as the agent's user (started straight from setpriv: this
    interpreter may live where only the directly started program can reach)."""
    argv = [*_as(system.agent_user), SAFEHOLD, "doctor", "--root", str(root), "--dir",
            str(system.agent_home), *flags]
    base = {"HOME": str(system.agent_home), "PATH": "/usr/bin:/bin", **(env or {})}
    return subprocess.run(argv, capture_output=True, text=True, env=base,
                          cwd=system.agent_home, timeout=120)


def test_managed_hooks_leave_the_agents_user_no_route(
    system: System, server: subprocess.Popen[bytes]
) -> None:
    lay = system.layout
    # the administrator's Claude Code release honours "onFailure": "block", so install writes it
    bin_dir = Path(tempfile.mkdtemp(prefix="safehold-claude-"))
    (bin_dir / "claude").write_text("#!/bin/sh\necho '2.1.300 (Claude Code)'\n")
    (bin_dir / "claude").chmod(0o755)
    admin_env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    for agent in AGENTS:
        out = subprocess.run([SAFEHOLD, "install", agent, "--managed", "--root", str(lay.root)],
                             capture_output=True, text=True, timeout=60, env=admin_env)
        assert out.returncode == 0, out.stderr
        again = subprocess.run([SAFEHOLD, "install", agent, "--managed", "--root",
                                str(lay.root)], capture_output=True, text=True, timeout=60,
                               env=admin_env)
        assert "already installed" in again.stdout
    from safehold.surfaces.install.managed import managed_path

    for agent in AGENTS:
        path = managed_path(agent, lay.root)
        assert _mode(path) == ("root", 0o644), path
        assert f"--client {lay.client_file}" in path.read_text()
    import tomllib

    codex = tomllib.loads(managed_path("codex", lay.root).read_text())
    assert codex["hooks"]["PreToolUse"][0]["hooks"][0]["command"].endswith(str(lay.client_file))

    report = doctor(system, lay.root, "--strict", "--no-probe")
    assert report.returncode == 0, report.stdout + report.stderr
    assert "routes for this user to switch safehold off: none" in report.stdout
    assert "hook decisions: the safehold server" in report.stdout
    for agent_line in ("Claude Code (managed)", "Codex CLI (managed)", "Gemini CLI (managed)",
                       "Cursor (managed)", "GitHub Copilot CLI (managed)"):
        assert agent_line in report.stdout
    command = json.loads(managed_path("claude-code", lay.root).read_text())
    written = command["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
    assert command["hooks"]["PreToolUse"][0]["hooks"][0]["onFailure"] == "block"
    assert written.split()[1:] == ["hook", "claude-code", "--client", str(lay.client_file)]
    assert hook(system, "rm -rf ~", client=Path(written.split()[-1])).startswith("deny")

    settings = managed_path("claude-code", lay.root)
    assert as_agent(system, f"sed -i 's/safehold/true/' {settings}").returncode != 0
    assert as_agent(system, f"rm -f {settings}").returncode != 0


def test_doctor_names_the_routes_still_open(system: System, tmp_path: Path) -> None:
    bare = Path(tempfile.mkdtemp(prefix="safehold-bare-"))
    os.chmod(bare, 0o755)
    try:
        report = doctor(system, bare, "--no-probe")
        assert "same-user mode" in report.stdout
        assert "no hook in the administrator-owned" in report.stdout
        assert doctor(system, bare, "--no-probe", "--strict").returncode == 1

        settings = system.agent_home / ".claude" / "settings.json"
        settings.parent.mkdir(exist_ok=True)
        settings.write_text(json.dumps({"disableAllHooks": True}))
        report = doctor(system, bare, "--no-probe")
        assert "sets disableAllHooks" in report.stdout

        lay = system.layout
        from safehold.surfaces.install.managed import managed_path

        gemini = managed_path("gemini", lay.root)
        if gemini.exists():
            os.chown(gemini, pwd.getpwnam(system.agent_user).pw_uid, -1)
            try:
                report = doctor(system, lay.root, "--no-probe")
                assert f"{gemini} holds the hook but this user can change it" in report.stdout
            finally:
                os.chown(gemini, 0, 0)
        env_report = doctor(system, lay.root, "--no-probe",
                            env={"GEMINI_CLI_SYSTEM_SETTINGS_PATH": "/tmp/x"})
        assert "GEMINI_CLI_SYSTEM_SETTINGS_PATH=/tmp/x" in env_report.stdout
    finally:
        shutil.rmtree(bare, ignore_errors=True)


def test_only_the_server_user_is_recognised_as_the_system_deployment(system: System) -> None:
    """The dashboard's same-user notice goes away only for the process the root-owned client
    file names; the agent's user (or root) running a server of its own is still same-user."""
    code = ("import sys; from safehold.deploy.mode import is_system_deployment; "
            f"print(is_system_deployment({str(system.layout.config_file)!r}))")
    seen = {}
    for who in (system.server_user, system.agent_user, "root"):
        argv = [sys.executable, "-c", code]
        if who != "root":
            argv = [*_as(who), *argv]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                             cwd=system.layout.root)
        seen[who] = out.stdout.strip() or out.stderr
    assert seen == {system.server_user: "True", system.agent_user: "False", "root": "False"}


def test_a_hook_naming_a_missing_client_file_refuses(system: System) -> None:
    answer = hook(system, "ls", client=system.layout.root / "nowhere" / "client.toml")
    assert answer.startswith("deny") and "is gone" in answer
