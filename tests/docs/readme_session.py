"""A new user's first session with README.md, run for real: `python readme_session.py CHECKOUT
HOME REPORT`, inside a private network namespace (`unshare --net`) so the README's own address,
127.0.0.1:8474, is free and nothing else can answer on it.

`./scripts/run` is started on a terminal, as a person starts it, and answers its first-run
question; then every command of the README's shell blocks runs in order in one shell (so
`export` and `TOKEN=$(…)` carry over), each followed by its exit status. `./scripts/test` is
the only command not run: it is the test suite this runs inside. The report (JSON) holds each
command with its status and output, the server's log, and the admin password it printed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from terminal import Terminal  # tests/, above this file's directory

MARK = "@@readme-status@@"
NOT_RUN = {"./scripts/test"}


def shell_blocks(readme: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", readme, flags=re.M | re.S)


def commands(block: str) -> list[str]:
    """The block's commands: lines joined while a line ends in `\\` or a quote is open."""
    out: list[str] = []
    pending = ""
    for line in block.splitlines():
        pending = f"{pending}\n{line}" if pending else line
        if pending.rstrip().endswith("\\"):
            continue
        try:
            shlex.split(pending, comments=True)
        except ValueError:  # an open quote: the command goes on
            continue
        if pending.strip():
            out.append(pending)
        pending = ""
    assert not pending, f"unfinished command: {pending!r}"
    return out


def main(checkout: Path, home: Path, report_path: Path) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SAFEHOLD_", "XDG_", "CLAUDE_", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), PATH="/usr/local/bin:/usr/bin:/bin", TERM="dumb")
    readme = (checkout / "README.md").read_text(encoding="utf-8")
    blocks = [commands(b) for b in shell_blocks(readme)]
    assert blocks and blocks[0][0].startswith("./scripts/run"), blocks[:1]

    server = Terminal(shlex.split(blocks[0][0], comments=True), env, checkout)
    report: dict = {"ran": [], "not_run": []}
    try:
        server.wait_for("Create one now?")
        server.type("y")
        server.wait_for("Username")
        server.type("")  # the offered default, admin
        server.wait_for("safehold: serving")
        password = re.search(r"store it now\): (\S+)", server.output)
        report["admin_password"] = password.group(1) if password else None

        script = ["set +e"]
        for block in blocks:
            for command in block:
                word = command.split()[0]
                if command.startswith("./scripts/run"):
                    continue  # already serving, above
                if word in NOT_RUN:
                    report["not_run"].append(command)
                    continue
                n = len(report["ran"])
                report["ran"].append({"command": command})
                script += [f"echo '{MARK} start {n}'", command,
                           f"s=$?; printf '\\n{MARK} status {n} %d\\n' \"$s\""]
        script.append('printf %s "$TOKEN" > "$HOME/.readme-token"')  # for the retry below
        session = subprocess.run(["/bin/bash", "-c", "\n".join(script)], capture_output=True,
                                 text=True, env=env, cwd=checkout, stdin=subprocess.DEVNULL,
                                 timeout=600)
        parts = re.split(rf"^{MARK} (start|status) (\d+)(?: (\d+))?\n", session.stdout,
                         flags=re.M)
        for i in range(1, len(parts) - 3, 4):
            kind, n, status, text = parts[i], int(parts[i + 1]), parts[i + 2], parts[i + 3]
            if kind == "start":
                report["ran"][n]["output"] = text.removesuffix("\n")  # the marker's own
            else:
                report["ran"][n]["status"] = int(status)
        report["stderr"] = session.stderr
        report["approve"] = approve(env, checkout, report)
    finally:
        os.write(server.master, b"\x03")  # Ctrl-C on its terminal, as a person stops it
        try:
            server.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.proc.pid, signal.SIGKILL)
            server.proc.wait(timeout=30)
        server.read(1)
        report["port_closed"] = port_closed()
        report["server_log"] = server.output
        report["server_status"] = server.proc.returncode
        stop = subprocess.run([str(checkout / ".venv/bin/safehold"), "hook", "--stop-daemon"],
                              env=env, cwd=checkout, capture_output=True, text=True, timeout=60)
        report["daemon_stopped"] = stop.returncode
        report_path.write_text(json.dumps(report, indent=1))


def port_closed() -> bool:
    import socket

    end = time.monotonic() + 30
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", 8474), timeout=1).close()
        except OSError:
            return True
        time.sleep(0.2)
    return False


def approve(env: dict[str, str], checkout: Path, report: dict) -> dict:
    """The README's last word on the request: `safehold approvals approve ID`, typed at a
    terminal with the password scripts/run printed; the identical curl then passes."""
    listing = next(r for r in report["ran"] if r["command"].startswith("safehold approvals list"))
    found = re.search(r"^(ap_\w+)", listing.get("output", ""), flags=re.M)
    if not found or not report.get("admin_password"):
        return {"error": "no request id or password", "listing": listing}
    path_env = {**env, "PATH": f"{checkout / '.venv/bin'}:{env['PATH']}"}
    term = Terminal(["/bin/sh", "-c", f"safehold approvals approve {found.group(1)}"],
                    path_env, checkout)
    term.wait_for("dashboard username")
    term.type("")  # the only person who may decide, offered
    term.wait_for("Password for admin")
    term.type(report["admin_password"])
    status = term.proc.wait(timeout=120)
    term.read(0.5)
    curl = next(r["command"] for r in report["ran"] if r["command"].startswith("curl "))
    token = (Path(env["HOME"]) / ".readme-token").read_text()
    again = subprocess.run(["/bin/bash", "-c", curl], capture_output=True, text=True,
                           env={**path_env, "TOKEN": token}, cwd=checkout, timeout=120)
    return {"id": found.group(1), "status": status, "output": term.output,
            "retry_stdout": again.stdout}


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
