"""Launchers that run another command: find the command they run.

`sudo -u root rm -rf /` runs `rm -rf /`; `watch 'cmd'` and `su -c 'cmd'` run a shell string;
`ssh host 'cmd'` and `docker exec c cmd` run a command elsewhere. Each launcher is described by
the options that consume a value, so its own options are never mistaken for the command.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from safehold.analysis.shell.words import Arg


@dataclass(frozen=True, slots=True)
class Launcher:
    value_opts: frozenset[str] = frozenset()
    skip_positionals: int = 0          # words before the command (timeout's duration…)
    assignments: bool = False          # VAR=value words before the command (env)
    no_exec_flags: frozenset[str] = frozenset()   # flags that mean nothing is run
    shell_flags: frozenset[str] = frozenset()     # options whose value is a shell string
    joins_shell: bool = False          # the remaining words are joined into a shell string
    argv_flags: frozenset[str] = frozenset()      # …unless one of these flags is given
    split_flags: frozenset[str] = frozenset()     # options whose value is split into words


def _s(*items: str) -> frozenset[str]:
    return frozenset(items)


LAUNCHERS: dict[str, Launcher] = {
    "sudo": Launcher(
        _s("-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U", "-T", "-R", "--user", "--group",
           "--host", "--prompt", "--close-from", "--chdir", "--role", "--type", "--other-user",
           "--command-timeout"),
        no_exec_flags=_s("-l", "-v", "-k", "-K", "-e", "--list", "--validate", "--edit",
                         "--remove-timestamp", "--reset-timestamp", "-V", "--version"),
    ),
    "doas": Launcher(_s("-u", "-C")),
    "env": Launcher(
        _s("-u", "--unset", "-C", "--chdir", "-S", "--split-string", "-a", "--argv0", "-P"),
        assignments=True, split_flags=_s("-S", "--split-string"),
    ),
    "nice": Launcher(_s("-n", "--adjustment")),
    "nohup": Launcher(),
    "timeout": Launcher(_s("-s", "--signal", "-k", "--kill-after"), skip_positionals=1),
    "time": Launcher(_s("-f", "--format", "-o", "--output")),
    "command": Launcher(no_exec_flags=_s("-v", "-V")),
    "builtin": Launcher(),
    "exec": Launcher(_s("-a")),
    "busybox": Launcher(),
    "stdbuf": Launcher(_s("-i", "-o", "-e", "--input", "--output", "--error")),
    "ionice": Launcher(_s("-c", "-n", "-p", "-P", "-u", "--class", "--classdata")),
    "setsid": Launcher(),
    "chronic": Launcher(),
    "unbuffer": Launcher(),
    "caffeinate": Launcher(_s("-t", "-w")),
    "nocorrect": Launcher(),
    "noglob": Launcher(),
    "catchsegv": Launcher(),
    "chroot": Launcher(_s("--userspec", "--groups"), skip_positionals=1),
    "flock": Launcher(_s("-w", "-E", "--timeout", "--conflict-exit-code"), skip_positionals=1,
                      shell_flags=_s("-c", "--command")),
    "strace": Launcher(_s("-o", "-e", "-p", "-s", "-u", "-E", "-a", "-b", "-I", "-O", "-S", "-P")),
    "ltrace": Launcher(_s("-o", "-e", "-p", "-s", "-u", "-a", "-n")),
    "taskset": Launcher(skip_positionals=1),
    "numactl": Launcher(_s("-C", "-N", "-m", "-i", "-p", "--physcpubind", "--cpunodebind",
                           "--membind", "--interleave", "--preferred")),
    "watch": Launcher(_s("-n", "--interval", "-q", "--equexit"), joins_shell=True,
                      argv_flags=_s("-x", "--exec")),
    "npx": Launcher(_s("-p", "--package"), shell_flags=_s("-c", "--call"),
                    no_exec_flags=_s("-v", "--version", "-h", "--help")),
    "pnpx": Launcher(_s("-p", "--package"), shell_flags=_s("-c", "--call")),
    "bunx": Launcher(_s("-p", "--package")),
    "su": Launcher(_s("-s", "--shell", "-g", "--group", "-G", "--supp-group", "-w"),
                   shell_flags=_s("-c", "--command", "--session-command"),
                   no_exec_flags=_s("-V", "--version", "-h", "--help")),
    "runuser": Launcher(_s("-u", "--user", "-g", "--group", "-G", "--supp-group", "-s", "--shell",
                           "-w"), shell_flags=_s("-c", "--command")),
    "script": Launcher(_s("-t", "--timing", "-I", "-O", "-T", "-B", "-m", "-E"),
                       shell_flags=_s("-c", "--command")),
    "systemd-run": Launcher(_s("-p", "--property", "-u", "--unit", "-M", "--machine", "-H",
                               "--host", "--description", "--slice", "-E", "--setenv",
                               "--working-directory", "--uid", "--gid", "--nice",
                               "--on-active", "--on-boot", "--on-startup",
                               "--on-unit-active", "--on-unit-inactive", "--on-calendar",
                               "--on-timezone-change", "--on-clock-change",
                               "--timer-property", "--path-property", "--socket-property",
                               "--service-type", "--expand-environment", "-C", "--capsule"),
                            no_exec_flags=_s("-h", "--help", "--version")),
    "run0": Launcher(_s("-u", "--user", "-g", "--group", "-D", "--chdir", "--unit",
                        "--property", "--description", "--slice", "--nice", "--setenv",
                        "--background", "--machine")),
    "pkexec": Launcher(_s("--user")),
    "nsenter": Launcher(_s("-t", "--target", "-S", "--setuid", "-G", "--setgid", "-w", "--wd",
                           "-W", "--env")),
    "unshare": Launcher(_s("--propagation", "--setgroups", "--map-user", "--map-group",
                           "--map-users", "--map-groups", "-S", "--setuid", "-G", "--setgid",
                           "-R", "--root", "-w", "--wd", "--kill-child")),
    "firejail": Launcher(),
    "setpriv": Launcher(_s("--reuid", "--regid", "--groups", "--inh-caps", "--ambient-caps",
                           "--bounding-set", "--securebits", "--selinux-label",
                           "--apparmor-profile", "--landlock-access", "--landlock-rule")),
    "prlimit": Launcher(_s("-p", "--pid")),
    "cgexec": Launcher(_s("-g")),
    "chrt": Launcher(_s("-T", "--sched-runtime", "-P", "--sched-period", "-D",
                        "--sched-deadline"), skip_positionals=1),
    "sg": Launcher(skip_positionals=1, shell_flags=_s("-c")),
    "xvfb-run": Launcher(_s("-n", "--server-num", "-e", "--error-file", "-f", "--auth-file",
                            "-p", "--xauth-protocol", "-s", "--server-args", "-w", "--wait")),
    "dbus-run-session": Launcher(_s("--config-file", "--dbus-daemon")),
    "dbus-launch": Launcher(_s("--config-file")),
    "torsocks": Launcher(_s("-u", "--user", "-p", "--pass", "-a", "--address", "-P", "--port")),
    "proxychains": Launcher(_s("-f")),
    "proxychains4": Launcher(_s("-f")),
    "fakeroot": Launcher(_s("-l", "--lib", "--faked", "-s", "-i")),
    "faketime": Launcher(_s("-m", "-p", "-f"), skip_positionals=1),
    "valgrind": Launcher(),
    "daemonize": Launcher(_s("-a", "-c", "-e", "-E", "-l", "-o", "-p", "-u")),
    "entr": Launcher(),
    "screen": Launcher(_s("-S", "-c", "-e", "-h", "-p", "-T", "-t", "-X", "-s", "-Logfile"),
                       no_exec_flags=_s("-ls", "-list", "-v")),
}

#: Programs that run a command given as the value of one of their options, as well as doing
#: their own work: option -> the prefix the command follows in its value (`exec=` in tar's
#: `--checkpoint-action=exec=CMD`). The command is a shell string (tar, rsync and ssh hand it
#: to a shell).
OPTION_COMMANDS: dict[str, dict[str, str]] = {
    "tar": {"--checkpoint-action": "exec=", "--to-command": "", "--use-compress-program": "",
            "-I": "", "--info-script": "", "--new-volume-script": "", "-F": ""},
    "gtar": {"--checkpoint-action": "exec=", "--to-command": "", "--use-compress-program": "",
             "-I": "", "--info-script": "", "--new-volume-script": "", "-F": ""},
    "rsync": {"-e": "", "--rsh": "", "--rsync-path": ""},
    "ssh": {"-oProxyCommand": "", "-oLocalCommand": "", "-oKnownHostsCommand": ""},
    "scp": {"-S": "", "-oProxyCommand": ""},
    "sftp": {"-S": "", "-oProxyCommand": ""},
    "zip": {"-TT": "", "--unzip-command": ""},
    "sort": {"--compress-program": ""},
}

#: `<tool> <subcommand> [options] [--] command…` launchers (`uv run`, `bundle exec`…).
SUBCOMMAND_LAUNCHERS: dict[str, frozenset[str]] = {
    "uv": _s("run"), "poetry": _s("run"), "pipenv": _s("run"), "pdm": _s("run"),
    "hatch": _s("run"), "doppler": _s("run"), "op": _s("run"), "infisical": _s("run"),
    "dotenvx": _s("run"), "mise": _s("exec", "x"), "asdf": _s("exec"), "rbenv": _s("exec"),
    "pyenv": _s("exec"), "bundle": _s("exec"), "conda": _s("run"), "nix": _s("shell"),
    "direnv": _s("exec"), "aws-vault": _s("exec"),
    "npm": _s("exec", "x"), "pnpm": _s("exec", "dlx"), "yarn": _s("exec", "dlx"),
    "bun": _s("x"), "railway": _s("run"),
}


@dataclass(slots=True)
class Unwrapped:
    """What a launcher runs: an argv, a shell string, or nothing at all."""

    argv: list[Arg] = field(default_factory=list)
    shell: Arg | None = None
    assigns: list[tuple[str, Arg]] = field(default_factory=list)
    runs: bool = True
    split: Arg | None = None
    remote: str | None = None


def option_commands(name: str, args: Sequence[Arg]) -> list[Arg]:
    """The shell strings a program runs from its options (`tar --to-command=CMD`,
    `tar -I CMD`, `ssh -o ProxyCommand=CMD`)."""
    opts = OPTION_COMMANDS.get(name)
    if not opts:
        return []
    out: list[Arg] = []
    k = 0
    while k < len(args):
        a = args[k]
        text = a.text
        if text == "--":
            break
        if text == "-o" and k + 1 < len(args):
            a = args[k + 1]
            text = "-o" + a.text
            k += 1
        key, eq, value = text.partition("=")
        if not eq and text in opts and k + 1 < len(args):
            key, a = text, args[k + 1]
            value = a.text
            k += 1
        k += 1
        prefix = opts.get(key)
        if prefix is None or not value.startswith(prefix):
            continue
        out.append(Arg(value[len(prefix):], a.static, a.glob, a.sources))
    return out


def _is_assignment(text: str) -> bool:
    name, eq, _ = text.partition("=")
    return bool(eq) and name.replace("_", "a").isalnum() and not name[0].isdigit()


def unwrap(name: str, args: Sequence[Arg]) -> Unwrapped | None:
    """The command a launcher would run, or None when `name` is not a launcher."""
    spec = LAUNCHERS.get(name)
    if spec is None:
        subs = SUBCOMMAND_LAUNCHERS.get(name)
        if subs is None or not args or args[0].text not in subs:
            return None
        rest = list(args[1:])
        texts = [a.text for a in rest]
        if "--" in texts:
            return Unwrapped(argv=rest[texts.index("--") + 1:])
        i = 0
        while i < len(rest) and rest[i].text.startswith("-"):
            i += 1
        return Unwrapped(argv=rest[i:])
    out = Unwrapped()
    i, n = 0, len(args)
    if spec.shell_flags:
        for k, a in enumerate(args):
            opt, eq, val = a.text.partition("=")
            if opt in spec.shell_flags:
                if eq:
                    out.shell = Arg(val, a.static, a.glob, a.sources)
                else:
                    out.shell = args[k + 1] if k + 1 < n else Arg("")
                return out
    skip = spec.skip_positionals
    while i < n:
        a = args[i]
        t = a.text
        if t == "--":
            i += 1
            break
        if t == "-" and spec.assignments:
            i += 1
            continue
        if t.startswith("-") and len(t) > 1:
            if t in spec.no_exec_flags:
                out.runs = False
                return out
            opt, eq, val = t.partition("=")
            if opt.startswith("--"):
                if opt in spec.no_exec_flags:
                    out.runs = False
                    return out
                value: Arg | None = None
                if eq:
                    value = Arg(val, a.static, a.glob, a.sources)
                elif opt in spec.value_opts or opt in spec.shell_flags or opt in spec.split_flags:
                    value = args[i + 1] if i + 1 < n else Arg("")
                    i += 1
                if value is not None and opt in spec.shell_flags:
                    out.shell = value
                elif value is not None and opt in spec.split_flags:
                    out.split = value
                elif opt in spec.argv_flags:
                    spec = Launcher(spec.value_opts, spec.skip_positionals, spec.assignments)
                i += 1
                continue
            if t[1:].isdigit():
                i += 1
                continue
            j = 1
            while j < len(t):
                flag = "-" + t[j]
                if flag in spec.no_exec_flags:
                    out.runs = False
                    return out
                if flag in spec.argv_flags:
                    spec = Launcher(spec.value_opts, spec.skip_positionals, spec.assignments)
                if flag in spec.value_opts or flag in spec.shell_flags or flag in spec.split_flags:
                    attached = t[j + 1:]
                    if attached:
                        value = Arg(attached, a.static, a.glob, a.sources)
                    else:
                        value = args[i + 1] if i + 1 < n else Arg("")
                        i += 1
                    if flag in spec.shell_flags:
                        out.shell = value
                    elif flag in spec.split_flags:
                        out.split = value
                    break
                j += 1
            i += 1
            continue
        if spec.assignments and _is_assignment(t):
            key, _, val = t.partition("=")
            out.assigns.append((key, Arg(val, a.static, a.glob, a.sources)))
            i += 1
            continue
        if skip > 0:
            skip -= 1
            i += 1
            continue
        break
    rest = list(args[i:])
    if spec.joins_shell and rest:
        static = all(r.static for r in rest)
        out.shell = Arg(" ".join(r.text for r in rest), static, False,
                        tuple(s for r in rest for s in r.sources))
        return out
    if out.shell is not None:
        return out
    out.argv = rest
    if not rest and out.split is None:
        out.runs = False
    return out


_SSH_VALUE = _s("-p", "-i", "-l", "-o", "-F", "-J", "-L", "-R", "-D", "-b", "-c", "-E", "-e", "-I",
                "-m", "-O", "-Q", "-S", "-W", "-w", "-B")
_DOCKER_EXEC_VALUE = _s("-e", "--env", "--env-file", "-u", "--user", "-w", "--workdir",
                        "--detach-keys", "--index")
_KUBECTL_VALUE = _s("-c", "--container", "-n", "--namespace", "--context", "--cluster",
                    "--kubeconfig", "-f", "--filename", "--pod-running-timeout", "--user",
                    "-s", "--server", "--token", "--as", "--as-group", "-l", "--selector")
_DOCKER_GLOBAL_VALUE = _s("-H", "--host", "--context", "-c", "--config", "-l", "--log-level",
                          "-f", "--file", "-p", "--project-name", "--project-directory",
                          "--env-file", "--profile")


def _skip_options(args: Sequence[Arg], start: int, value_opts: frozenset[str]) -> int:
    """Index of the first positional at or after `start`, skipping options and their values."""
    i = start
    while i < len(args):
        t = args[i].text
        if t == "--":
            return i + 1
        if not t.startswith("-") or len(t) < 2:
            return i
        if "=" not in t and (t in value_opts or (len(t) == 2 and t in value_opts)):
            i += 2
            continue
        i += 1
    return i


def remote(name: str, args: Sequence[Arg]) -> Unwrapped | None:
    """`ssh host 'cmd'`, `docker exec c cmd…`, `kubectl exec pod -- cmd…`: what runs remotely."""
    if name in ("ssh", "mosh"):
        i = _skip_options(args, 0, _SSH_VALUE)
        if i >= len(args):
            return Unwrapped(runs=False)
        host = args[i].text
        rest = list(args[i + 1:])
        if rest and rest[0].text == "--":  # `ssh HOST -- CMD`: the command follows `--`
            rest = rest[1:]
        if not rest:
            return Unwrapped(runs=False, remote=host)
        static = all(r.static for r in rest)
        text = " ".join(r.text for r in rest)
        return Unwrapped(shell=Arg(text, static, False, tuple(s for r in rest for s in r.sources)),
                         remote=f"ssh:{host}")
    if name in ("docker", "podman", "nerdctl", "docker-compose"):
        i = _skip_options(args, 0, _DOCKER_GLOBAL_VALUE)
        if name != "docker-compose" and i < len(args) and args[i].text == "compose":
            i = _skip_options(args, i + 1, _DOCKER_GLOBAL_VALUE)
            compose = True
        else:
            compose = name == "docker-compose"
        if i < len(args) and args[i].text == "container":
            i += 1
        if i >= len(args) or args[i].text not in ("exec", "run"):
            return None
        verb = args[i].text
        if verb == "run" and not compose:
            return None
        i = _skip_options(args, i + 1, _DOCKER_EXEC_VALUE)
        if i >= len(args):
            return Unwrapped(runs=False)
        target = args[i].text
        return Unwrapped(argv=list(args[i + 1:]), remote=f"{name}:{target}")
    if name in ("kubectl", "oc"):
        texts = [a.text for a in args]
        if "exec" not in texts:
            return None
        k = texts.index("exec")
        if "--" in texts[k:]:
            d = texts.index("--", k)
            pod_i = _skip_options(args, k + 1, _KUBECTL_VALUE)
            pod = texts[pod_i] if pod_i < d else "?"
            return Unwrapped(argv=list(args[d + 1:]), remote=f"{name}:{pod}")
        i = _skip_options(args, k + 1, _KUBECTL_VALUE)
        if i >= len(args):
            return Unwrapped(runs=False)
        return Unwrapped(argv=list(args[i + 1:]), remote=f"{name}:{texts[i]}")
    return None
