"""Launchers that run another command: find the command they run.

`sudo -u root rm -rf /` runs `rm -rf /`; `watch 'cmd'` and `su -c 'cmd'` run a shell string;
`ssh host 'cmd'` and `docker exec c cmd` run a command elsewhere. Each launcher is described by
the options that consume a value, so its own options are never mistaken for the command; the
descriptions are data (`catalog/data/launchers.yaml`), this module only reads words with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from safehold.analysis.shell.words import Arg
from safehold.catalog.launcherdata import Launcher, load_launcher_data

_DATA = load_launcher_data()
#: Launchers, `<tool> run`-style launchers and commands given as option values: data in
#: `catalog/data/launchers.yaml`.
LAUNCHERS: dict[str, Launcher] = _DATA.launchers
SUBCOMMAND_LAUNCHERS: dict[str, frozenset[str]] = _DATA.subcommands
OPTION_COMMANDS: dict[str, dict[str, str]] = _DATA.option_commands


def _s(*items: str) -> frozenset[str]:
    return frozenset(items)


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
