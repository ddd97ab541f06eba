"""Commands that run a payload later or elsewhere: `at`, `batch`, `crontab`, `systemd-run`,
`ansible -m shell`, `docker run`/`podman run` and `kubectl debug`.

The payload is analysed as the command it is, with the scope it will run in: a job for `at` in
this directory, a crontab line in the home directory, an ansible or node-debug command on
another host (no local working directory), a container command with its paths mapped back
through the container's mounts, so `docker run -v /:/host alpine rm -rf /host/etc` is judged
as deleting `/etc` and a container's own files are not mistaken for the host's.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from typing import TYPE_CHECKING

from safehold.analysis.scripts import follow
from safehold.analysis.scripts.files import read_script, resolve
from safehold.analysis.shell.words import Arg, Output, Scope

if TYPE_CHECKING:
    from safehold.analysis.shell.dispatch import Dispatcher
    from safehold.analysis.shell.walk import Walker


def _remote() -> Scope:
    return Scope({}, None, {})


def _stdin_job(d: Dispatcher, who: str, stdin: Output | None, inputs: Sequence[Arg],
               scope: Scope, walker: Walker, level: int, source: str) -> None:
    """A job read from stdin: known text is analysed, a `< file` is read, anything else is
    not known before it runs."""
    if inputs:
        follow.run_file(d, inputs[-1], "shell", [], scope, walker, level, source)
        return
    if stdin is None:
        return
    if stdin.text is not None:
        d.shell_string(Arg(stdin.text), scope.child(), None, walker, who, source)
        return
    what = ", ".join(stdin.producers) or "another program"
    d.state.unknown("shell:opaque-string", f"{who} schedules commands read from the output of "
                    f"{what}; they are not known before they run", source)


# -- at, batch ---------------------------------------------------------------------------------

def at(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope, stdin: Output | None,
       inputs: Sequence[Arg], walker: Walker, level: int, source: str) -> None:
    texts = [a.text for a in args]
    if any(t in ("-l", "-r", "-d", "-c", "-V", "--help") for t in texts) or name in (
            "atq", "atrm"):
        return
    for i, t in enumerate(texts):
        if t == "-f" and i + 1 < len(args):
            follow.run_file(d, args[i + 1], "shell", [], scope, walker, level,
                            f"{source} (scheduled)")
            return
    _stdin_job(d, name, stdin, inputs, scope, walker, level, f"{source} (scheduled)")


# -- crontab -------------------------------------------------------------------------------------

_CRON_ENV = re.compile(r"^\s*[A-Za-z_]\w*\s*=")


def cron_commands(text: str) -> list[str]:
    """The command of every job line in a crontab."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or _CRON_ENV.match(line):
            continue
        fields = line.split(None, 1 if line.startswith("@") else 5)
        if len(fields) < (2 if line.startswith("@") else 6):
            continue
        command = re.split(r"(?<!\\)%", fields[-1], maxsplit=1)[0]
        out.append(command)
    return out


def crontab(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope, stdin: Output | None,
            inputs: Sequence[Arg], walker: Walker, level: int, source: str) -> None:
    files: list[Arg] = []
    i = 0
    while i < len(args):
        t = args[i].text
        if t in ("-l", "-r", "-e", "-i", "-V", "--help", "-T"):
            return
        if t in ("-u", "-c") and i + 1 < len(args):
            i += 2
            continue
        if not t.startswith("-") or t == "-":
            files.append(args[i])
        i += 1
    text: str | None = None
    where = f"{source} (installs a crontab)"
    if files and files[0].text != "-":
        if not files[0].static:
            d.state.unknown("shell:opaque-string", "crontab installs a file whose name is only "
                            "known at run time", source)
            return
        path = resolve(files[0].text, scope.cwd, d.state.home)
        script = read_script(path, d.state.written) if path else None
        if script is None or script.missing:
            return
        if script.text is None:
            d.state.unknown("shell:script-not-followed", f"crontab installs {files[0].text}, "
                            f"but {script.problem}", source)
            return
        text = script.text
    elif inputs:
        path = resolve(inputs[-1].text, scope.cwd, d.state.home) if inputs[-1].static else None
        script = read_script(path, d.state.written) if path else None
        text = script.text if script is not None else None
        if text is None:
            d.state.unknown("shell:script-not-followed", "crontab installs a file that cannot "
                            "be read", source)
            return
    elif stdin is not None and stdin.text is not None:
        text = stdin.text
    elif stdin is not None:
        what = ", ".join(stdin.producers) or "another program"
        d.state.unknown("shell:opaque-string", f"crontab installs jobs read from the output of "
                        f"{what}; they are not known before they run", source)
        return
    if text is None:
        return
    home = Scope({}, d.state.home, {})
    for command in cron_commands(text):
        d.shell_string(Arg(command), home.child(), None, walker, "crontab", where)


# -- systemd-run --------------------------------------------------------------------------------

_SYSTEMD_VALUE = frozenset({
    "-p", "--property", "-u", "--unit", "--description", "--slice", "-E", "--setenv", "--uid",
    "--gid", "--working-directory", "--on-calendar", "--on-active", "--on-boot",
    "--on-startup", "--on-unit-active", "--on-unit-inactive", "--on-clock-change",
    "--timer-property", "-M", "--machine", "-H", "--host", "--path-property",
    "--socket-property", "--nice", "--service-type", "--slice-inherit", "--expand-environment",
    "--json", "--runtime-max-sec"})


def systemd_run(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope,
                stdin: Output | None, inputs: Sequence[Arg], walker: Walker, level: int,
                source: str) -> None:
    inner = scope
    i = 0
    while i < len(args):
        t = args[i].text
        opt, eq, _ = t.partition("=")
        if t == "--":
            i += 1
            break
        if not t.startswith("-"):
            break
        if opt in ("-H", "--host", "-M", "--machine"):
            inner = _remote()
        if opt in _SYSTEMD_VALUE and not eq:
            i += 2
            continue
        if t in ("-h", "--help", "--version"):
            return
        i += 1
    argv = list(args[i:])
    if argv:
        d.run(argv, inner.child(), None, walker, level=level + 1)


# -- ansible ad-hoc commands ------------------------------------------------------------------

_ANSIBLE_VALUE = frozenset({
    "-i", "--inventory", "--inventory-file", "-m", "--module-name", "-a", "--args", "-u",
    "--user", "--become-user", "--become-method", "-e", "--extra-vars", "-f", "--forks", "-l",
    "--limit", "-c", "--connection", "-T", "--timeout", "-B", "--background", "-P", "--poll",
    "-M", "--module-path", "--private-key", "--key-file", "--vault-password-file",
    "--vault-id", "-t", "--tree", "--playbook-dir", "--ssh-common-args", "--ssh-extra-args",
    "--scp-extra-args", "--sftp-extra-args"})
_ANSIBLE_SHELL = frozenset({"command", "shell", "raw", "win_shell", "win_command"})
_ANSIBLE_OPTIONS = re.compile(r"\b(?:chdir|creates|removes|executable|warn|stdin|"
                              r"stdin_add_newline|strip_empty_ends)=\S+")


def ansible(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope, stdin: Output | None,
            inputs: Sequence[Arg], walker: Walker, level: int, source: str) -> None:
    module = "command"
    module_args: Arg | None = None
    i = 0
    while i < len(args):
        t = args[i].text
        opt, eq, val = t.partition("=")
        if opt in _ANSIBLE_VALUE:
            value = Arg(val, args[i].static) if eq else (args[i + 1] if i + 1 < len(args)
                                                         else Arg(""))
            if opt in ("-m", "--module-name"):
                module = value.text.rsplit(".", 1)[-1]
            elif opt in ("-a", "--args"):
                module_args = value
            i += 1 if eq else 2
            continue
        i += 1
    if module_args is None:
        return
    where = f"{source} (on the hosts ansible targets)"
    if not module_args.static:
        d.state.unknown("shell:opaque-string", f"ansible runs the {module} module with "
                        "arguments only known at run time", source)
        return
    text = module_args.text
    if module in _ANSIBLE_SHELL:
        d.shell_string(Arg(_ANSIBLE_OPTIONS.sub("", text).strip()), _remote(), None, walker,
                       "ansible", where)
    elif module == "script":
        words = shlex.split(_ANSIBLE_OPTIONS.sub("", text), posix=True) if text else []
        if words:
            path = resolve(words[0], scope.cwd, d.state.home)
            script = read_script(path, d.state.written) if path else None
            if script is not None and script.text is not None:
                follow.run_text(d, script, follow.language_of(script),
                                [Arg(w) for w in words[1:]], _remote(), walker, level, where)
            elif script is not None and not script.missing:
                d.state.unknown("shell:script-not-followed", f"ansible runs {words[0]} on its "
                                f"hosts, but {script.problem}", source)
    elif module == "file":
        params = dict(p.split("=", 1) for p in text.split() if "=" in p)
        path = params.get("path") or params.get("dest") or params.get("name")
        if path and params.get("state") == "absent":
            d.run([Arg("rm"), Arg("-rf"), Arg(path)], _remote(), None, walker, level=level + 1)


# -- containers: docker / podman run, kubectl debug --------------------------------------------

_RUN_VALUE = frozenset({
    "-v", "--volume", "--mount", "-w", "--workdir", "-e", "--env", "--env-file", "--name", "-p",
    "--publish", "--network", "--net", "-u", "--user", "--entrypoint", "-h", "--hostname", "-l",
    "--label", "--label-file", "--cpus", "-m", "--memory", "--restart", "--platform", "--pull",
    "--add-host", "--dns", "--dns-search", "--dns-option", "--device", "--cap-add",
    "--cap-drop", "--security-opt", "--tmpfs", "--ulimit", "--log-driver", "--log-opt",
    "--pid", "--ipc", "--uts", "--userns", "--cgroupns", "--gpus", "--shm-size",
    "--stop-signal", "--stop-timeout", "--health-cmd", "--health-interval", "--health-retries",
    "--health-timeout", "--health-start-period", "--expose", "--link", "--volumes-from",
    "--runtime", "-a", "--attach", "--cidfile", "--isolation", "--mac-address", "--ip",
    "--ip6", "--memory-swap", "--memory-reservation", "--cpu-shares", "-c", "--cpuset-cpus",
    "--cpuset-mems", "--blkio-weight", "--oom-score-adj", "--sysctl", "--group-add",
    "--detach-keys", "--domainname", "--annotation", "--storage-opt", "--volume-driver",
    "--network-alias", "--pids-limit", "--cpu-period", "--cpu-quota", "--arch", "--os",
    "--pod", "--secret", "--cgroup-parent", "--hooks-dir", "--variant", "--image-volume"})
_DOCKER_GLOBAL = frozenset({"-H", "--host", "--context", "-c", "--config", "-l", "--log-level",
                            "--tlscacert", "--tlscert", "--tlskey", "--url", "--connection",
                            "--root", "--runroot", "--storage-driver"})
_VOLUME_ROOTS = {"docker": "/var/lib/docker/volumes/{}/_data",
                 "podman": "/var/lib/containers/storage/volumes/{}/_data",
                 "nerdctl": "/var/lib/nerdctl/volumes/{}/_data"}


def _mount(d: Dispatcher, name: str, spec: str, cwd: str | None,
           mounts: dict[str, str]) -> None:
    """Record one `-v SRC:DST[:opts]` or `--mount type=…,source=…,target=…` writable mount."""
    if "=" in spec.split(",", 1)[0]:
        fields = dict(f.split("=", 1) if "=" in f else (f, "true") for f in spec.split(","))
        src = fields.get("source") or fields.get("src") or ""
        dst = fields.get("target") or fields.get("destination") or fields.get("dst") or ""
        readonly = fields.get("readonly", fields.get("ro", "false")) in ("true", "1", "")
        if fields.get("type", "volume") not in ("bind", "volume") or not dst or readonly:
            return
    else:
        parts = spec.split(":")
        if len(parts) < 2:
            return
        src, dst = parts[0], parts[1]
        if len(parts) > 2 and "ro" in parts[2].split(","):
            return
    if src.startswith(("/", ".", "~")):
        host = resolve(src, cwd, d.state.home)
    elif src:
        host = _VOLUME_ROOTS.get(name, _VOLUME_ROOTS["docker"]).format(src)
    else:
        return
    if host is not None and dst.startswith("/"):
        mounts[dst.rstrip("/") or "/"] = host


def _mapped(text: str, mounts: dict[str, str]) -> str:
    """Container paths in `text` rewritten to the host paths they are mounted from."""
    for dst in sorted(mounts, key=len, reverse=True):
        if dst == "/":
            continue
        pattern = re.compile(r"(?<![\w./-])" + re.escape(dst) + r"(?=/|$|[\s'\";|&)])")
        text = pattern.sub(lambda _m, h=mounts[dst]: h.rstrip("/") or "/", text)
    return re.sub(r"(?<![\w:/])//+", "/", text)


def _container(d: Dispatcher, argv: list[Arg], mounts: dict[str, str], workdir: str | None,
               walker: Walker, level: int) -> None:
    """Run a container command; keep what it does to host paths (through its mounts), and
    drop what it does to the container's own files."""
    st = d.state
    mapped = [Arg(_mapped(a.text, mounts), a.static, a.glob, a.sources) for a in argv]
    cwd = "/"
    if workdir is not None:
        host_wd = _mapped(workdir, mounts)
        cwd = host_wd if host_wd != workdir or "/" in mounts else "/"
    hosts = sorted(set(mounts.values()))
    before = len(st.operations)
    d.run(mapped, Scope({}, cwd, {}), None, walker, level=level + 1)
    new = st.operations[before:]
    del st.operations[before:]
    for op in new:
        paths = [t.name for t in op.targets if t.kind == "path"]
        if paths and not any(p == h or p.startswith(h.rstrip("/") + "/") for p in paths
                             for h in hosts):
            continue  # only the container's own files
        st.operations.append(op)


def container_run(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope,
                  stdin: Output | None, inputs: Sequence[Arg], walker: Walker, level: int,
                  source: str) -> None:
    texts = [a.text for a in args]
    i = 0
    while i < len(texts) and texts[i].startswith("-"):
        i += 2 if texts[i] in _DOCKER_GLOBAL and "=" not in texts[i] else 1
    if i < len(texts) and texts[i] == "container":
        i += 1
    if i >= len(texts) or texts[i] != "run":
        return
    i += 1
    mounts: dict[str, str] = {}
    workdir: str | None = None
    entrypoint: Arg | None = None
    while i < len(args):
        t = texts[i]
        if t == "--":
            i += 1
            break
        if not t.startswith("-") or t == "-":
            break
        opt, eq, val = t.partition("=")
        if opt in _RUN_VALUE:
            value = Arg(val, args[i].static) if eq else (args[i + 1] if i + 1 < len(args)
                                                         else Arg(""))
            if opt in ("-v", "--volume", "--mount"):
                if not value.static:
                    d.state.unknown("shell:opaque-string", f"{name} run mounts a host path "
                                    "only known at run time", source)
                else:
                    _mount(d, "podman" if name == "podman" else name, value.text, scope.cwd,
                           mounts)
            elif opt in ("-w", "--workdir"):
                workdir = value.text
            elif opt == "--entrypoint":
                entrypoint = value
            i += 1 if eq else 2
            continue
        i += 1
    if i >= len(args):
        return
    command = list(args[i + 1:])
    if entrypoint is not None:
        command = [entrypoint, *command]
    if not command:
        if mounts:
            d.state.unknown("shell:opaque-string", f"{name} run starts the image's own command "
                            f"with host paths mounted ({', '.join(sorted(mounts.values()))}); "
                            "what it does is not known", source)
        return
    _container(d, command, mounts, workdir, walker, level)


def kubectl_debug(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope,
                  stdin: Output | None, inputs: Sequence[Arg], walker: Walker, level: int,
                  source: str) -> None:
    """`kubectl debug node/N … -- cmd`: a pod on the node with the node's root at /host."""
    texts = [a.text for a in args]
    if "debug" not in texts or "--" not in texts:
        return
    k, dash = texts.index("debug"), texts.index("--")
    node = any(t.startswith("node/") or t.startswith("nodes/") for t in texts[k + 1:dash])
    command = list(args[dash + 1:])
    if not command:
        return
    if node:
        mapped = [Arg(_mapped(a.text, {"/host": "/"}), a.static, a.glob, a.sources)
                  for a in command]
        d.run(mapped, _remote(), None, walker, level=level + 1)
    else:
        d.run(command, _remote(), None, walker, level=level + 1)


# -- redis EVAL, sed `e` -------------------------------------------------------------------------

_REDIS_VALUE = frozenset({"-h", "-p", "-a", "-n", "-u", "-s", "--user", "--pass", "--askpass",
                          "-r", "-i", "-d", "--tls-cert", "--tls-key", "--cacert", "--sni"})
_LUA_CALL = re.compile(r"redis\.p?call\s*\(\s*(?P<args>[^()]*)\)")
_LUA_STRING = re.compile(r"\s*(?:'([^'\\]*)'|\"([^\"\\]*)\")\s*(?:,|$)")


def redis_cli(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope,
              stdin: Output | None, inputs: Sequence[Arg], walker: Walker, level: int,
              source: str) -> None:
    """`redis-cli EVAL "<lua>" N …`: each `redis.call('CMD', 'arg')` is the redis-cli command."""
    i = 0
    while i < len(args) and args[i].text.startswith("-"):
        i += 2 if args[i].text in _REDIS_VALUE else 1
    if i >= len(args) or args[i].text.lower() not in ("eval", "eval_ro", "evalsha", "fcall"):
        return
    verb = args[i].text.lower()
    script = args[i + 1] if i + 1 < len(args) else None
    if verb in ("evalsha", "fcall") or script is None or not script.static:
        d.state.unknown("shell:opaque-code", f"redis {verb.upper()} runs a server-side script "
                        "whose text is not on the command line", source)
        return
    for m in _LUA_CALL.finditer(script.text):
        words: list[str] = []
        rest = m.group("args")
        while rest.strip():
            w = _LUA_STRING.match(rest)
            if w is None:
                break
            words.append(w.group(1) if w.group(1) is not None else w.group(2))
            rest = rest[w.end():]
        if not words or rest.strip():
            d.state.unknown("shell:opaque-code", "a redis script calls a command computed at "
                            "run time", source)
            continue
        d.run([Arg("redis-cli"), *(Arg(w) for w in words)], scope.child(), None, walker,
              level=level + 1)


_SED_EXEC = re.compile(r"(?:^|[;\n{}])\s*(?:\d+|\$|/[^/]*/)?\s*e\s+([^;\n}]+)")
_SED_SUBST_E = re.compile(r"(?:^|[;\n])\s*s(.)(?:(?!\1).)*\1((?:(?!\1).)*)\1([gpiImMe0-9w]*)")


def sed(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope, stdin: Output | None,
        inputs: Sequence[Arg], walker: Walker, level: int, source: str) -> None:
    """GNU sed's `e COMMAND` runs a shell command, and `s/…/…/e` runs the replaced line."""
    scripts: list[Arg] = []
    i = 0
    while i < len(args):
        t = args[i].text
        if t in ("-e", "--expression") and i + 1 < len(args):
            scripts.append(args[i + 1])
            i += 2
            continue
        if t.startswith("--expression="):
            scripts.append(Arg(t.split("=", 1)[1], args[i].static))
        elif t in ("-f", "--file", "-l", "--line-length") :
            i += 2
            continue
        elif not t.startswith("-") and not scripts:
            scripts.append(args[i])
            break
        i += 1
    for script in scripts:
        if not script.static:
            continue
        for m in _SED_EXEC.finditer(script.text):
            d.shell_string(Arg(m.group(1).strip()), scope.child(), None, walker, "sed e", source)
        for m in _SED_SUBST_E.finditer(script.text):
            if "e" not in m.group(3):
                continue
            replacement = m.group(2)
            if "\\" in replacement or "&" in replacement:
                d.state.unknown("shell:opaque-string", "sed runs lines built from its input as "
                                "commands (s///e)", source)
            else:
                d.shell_string(Arg(replacement), scope.child(), None, walker, "sed s///e",
                               source)


def sort_output(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope,
                stdin: Output | None, inputs: Sequence[Arg], walker: Walker, level: int,
                source: str) -> None:
    """`sort -o FILE` replaces FILE with its output, as `> FILE` would."""
    for i, a in enumerate(args):
        t = a.text
        target: Arg | None = None
        if t in ("-o", "--output") and i + 1 < len(args):
            target = args[i + 1]
        elif t.startswith("--output="):
            target = Arg(t.split("=", 1)[1], a.static)
        elif t.startswith("-o") and len(t) > 2:
            target = Arg(t[2:], a.static)
        if target is not None:
            for entry in d.state.catalog.construct("redirect-truncate"):
                d.emit_paths(entry, [(target, False)], scope, source)


PAYLOAD_RUNNERS = {
    "sort": sort_output,
    "redis-cli": redis_cli, "sed": sed, "gsed": sed,
    "at": at, "batch": at, "crontab": crontab, "systemd-run": systemd_run,
    "ansible": ansible, "docker": container_run, "podman": container_run,
    "nerdctl": container_run, "kubectl": kubectl_debug, "oc": kubectl_debug,
}
