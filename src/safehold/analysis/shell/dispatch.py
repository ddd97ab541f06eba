"""Judge one simple command: unwrap it, look inside what it runs, match it against the catalog.

The order matters and mirrors what the shell does: a launcher (`sudo`, `env`, `timeout`…) runs
the command after its own options; a shell or `eval` runs a string; an interpreter runs code;
xargs / parallel / find run a template; `ssh` and `docker exec` run a command elsewhere. Only the
command that finally runs is matched against the catalog, so wrappers never hide it and data
(echo's arguments, a commit message) is never matched as a command.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import TYPE_CHECKING

from safehold.analysis.scripts import follow, runners, written
from safehold.analysis.shell import (
    connections,
    content_reads,
    credentials,
    embedded,
    exfiltration,
    interpreters,
    patterns,
    verbs,
    wrappers,
)
from safehold.analysis.shell.handlers import HANDLERS, NETWORK
from safehold.analysis.shell.normalize import command_name
from safehold.analysis.shell.paths import DYN
from safehold.analysis.shell.words import Arg, Output, Scope
from safehold.catalog.matcher import match_family, parse_args
from safehold.catalog.schema import Entry, Family
from safehold.model import Effect, Operation, Target

if TYPE_CHECKING:
    from safehold.analysis.shell.state import State
    from safehold.analysis.shell.walk import Redirects, Walker

SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "yash", "csh",
                    "tcsh", "rbash", "posh"})
_SHELL_VALUE = frozenset({"-o", "+o", "-O", "+O", "--rcfile", "--init-file"})
#: Environment variables that make a shell run another file before its script.
_STARTUP_VARS = {"BASH_ENV": frozenset({"bash", "rbash"}),
                 "ENV": frozenset({"sh", "dash", "ksh", "mksh", "ash", "posh", "yash", "bash"}),
                 "ZDOTDIR": frozenset({"zsh"}), "PROMPT_COMMAND": frozenset({"bash"})}
MAX_WRAP = 12
#: git configuration keys whose value is a command git runs.
_GIT_COMMAND_KEYS = frozenset({"core.sshcommand", "core.pager", "core.editor", "core.fsmonitor",
                               "diff.external", "sequence.editor", "gpg.program",
                               "credential.helper"})


def _show(argv: Sequence[Arg]) -> str:
    return " ".join(a.text.replace(DYN, "$?") for a in argv)[:300]


class Dispatcher:
    def __init__(self, state: State):
        self.state = state

    # -- entry from the walker --------------------------------------------------------------
    def command(self, argv: list[Arg], assigns: list[tuple[str, Arg]], scope: Scope,
                stdin: Output | None, redirects: Redirects, walker: Walker) -> Output:
        if redirects.inputs or redirects.outputs:
            source = _show(argv) or " ".join(f"{k}=" for k, _ in assigns)
            self.redirections(redirects, scope, walker, source)
        if not argv:
            for name, arg in assigns:
                scope.env[name] = arg.text if arg.static else None
            written.record(self.state, argv, redirects.outputs, Output(""), stdin, scope)
            return Output()
        out = self.run(argv, scope, stdin, walker, redirects.inputs, assigns, 0)
        written.record(self.state, argv, redirects.outputs, out, stdin, scope)
        return out

    def redirections(self, redirects: Redirects, scope: Scope, walker: Walker,
                     source: str) -> None:
        st = self.state
        credentials.check_inputs(st, redirects.inputs, scope, source)
        for target, truncates in redirects.outputs:
            if target.procsub:
                continue
            resolved = st.paths.resolve(target.text, scope.cwd)
            if resolved is not None and st.paths.is_startup(resolved):
                self._startup(resolved, source or "redirection")
            construct = "redirect-truncate" if truncates else "redirect-append"
            for entry in st.catalog.construct(construct):
                self.emit_paths(entry, [(target, False)], scope, source or "redirection")

    # -- one command -------------------------------------------------------------------------
    def run(self, argv: list[Arg], scope: Scope, stdin: Output | None, walker: Walker,
            inputs: Sequence[Arg] = (), assigns: Sequence[tuple[str, Arg]] = (),
            level: int = 0) -> Output:
        """Judge one command; a client's operations carry what it connects to."""
        st = self.state
        client = None
        if argv and argv[0].static and st.connections is not None:
            client = st.connections.get(command_name(argv[0].text))
            if client is not None and client.subcommands and not any(
                    a.text in client.subcommands for a in argv[1:]):
                client = None  # `git status`: not a verb that names a target
        if client is None:
            return self._run(argv, scope, stdin, walker, inputs, assigns, level)
        env = {k: (v.text if v.static else None) for k, v in assigns}

        def lookup(var: str) -> str | None:
            return env[var] if var in env else scope.lookup(var)

        conn = connections.targets(client, argv[1:], lookup, scope.cwd, st.paths)
        mark = st.mark()
        out = self._run(argv, scope, stdin, walker, inputs, assigns, level)
        if conn:
            st.since(mark, lambda op: connections.with_connection(op, client, conn),
                     lambda f: connections.facts_with_connection(f, client, conn))
            name = command_name(argv[0].text)
            st.operation(connections.connect_operation(client, name, conn, _show(argv)))
        return out

    def _run(self, argv: list[Arg], scope: Scope, stdin: Output | None, walker: Walker,
             inputs: Sequence[Arg], assigns: Sequence[tuple[str, Arg]],
             level: int) -> Output:
        st = self.state
        if st.expired():
            st.timed_out()
            return Output()
        source = _show(argv)
        first = argv[0]
        if not first.static:
            if any(s in NETWORK for s in first.sources):
                self.construct("shell-from-network", source)
            st.unknown("shell:dynamic-command",
                       f"the command name {first.text.replace(DYN, '$?')!r} is only known at "
                       "run time", source)
            return Output(None, ("dynamic command",))
        if first.glob or "{" in first.text:
            expanded = self._pattern_name(first, scope, source)
            if expanded is None:
                return Output(None, ("pattern command",))
            if expanded:
                argv = [*expanded, *argv[1:]]
                first = argv[0]
                source = _show(argv)
        if first.text == "!" and first.static and len(argv) > 1 and not assigns:
            return self.run(argv[1:], scope, stdin, walker, inputs, assigns, level)
        if first.text in walker.functions and level == 0:
            return walker.call_function(argv, scope, stdin)
        if level == 0 and first.text in st.aliases:
            # expanded once, as the shell does: an alias naming itself is not re-expanded
            value = st.aliases.pop(first.text)
            try:
                text = " ".join([value, *(shlex.quote(a.text) for a in argv[1:])])
                return self.shell_string(Arg(text, all(a.static for a in argv[1:])), scope,
                                         stdin, walker, "alias", source, new_process=False)
            finally:
                st.aliases[first.text] = value
        name = command_name(first.text)
        args = argv[1:]
        if level > MAX_WRAP:
            st.unknown("shell:too-deep", "too many nested launchers", source)
            return Output()
        for var, value in assigns:
            if name in _STARTUP_VARS.get(var, ()):
                st.unknown("shell:startup-file", f"{var} makes {name} run another file first",
                           source)
            if name == "git" and var == "GIT_SSH_COMMAND":
                self.shell_string(value, scope.child(), None, walker, "GIT_SSH_COMMAND", source)

        if name == "git":
            expanded = self._git_alias(args, assigns, scope, walker, source)
            if expanded is None:
                return Output(None, (name,))
            args = expanded

        for command in wrappers.option_commands(name, args):
            self.shell_string(command, scope.child(), None, walker, name, source)
        unwrapped = wrappers.unwrap(name, args)
        if unwrapped is None:
            unwrapped = wrappers.remote(name, args)
        if unwrapped is not None:
            # Only the `time` keyword (first word, no assignments) still sees shell functions;
            # every other launcher runs a program, which cannot see them.
            keyword = level == 0 and name == "time" and not assigns and first.text == "time"
            return self._unwrapped(name, unwrapped, scope, stdin, walker, inputs,
                                   level - 1 if keyword else level, source, assigns)

        out = Output(None, (name,))
        inline_code = False
        handler = HANDLERS.get(name)
        if "/" in first.text:
            follow.run_file(self, first, None, args, scope, walker, level, source, direct=True,
                            stdin=stdin, inputs=inputs)
        if name in runners.RUNNERS:
            runners.RUNNERS[name](self, name, args, scope, stdin, inputs, walker, level, source)
        if handler is not None:
            handled = handler(self, name, args, scope, stdin, walker, inputs, level, source)
            if handled is not None:
                out = handled
        elif name in SHELLS:
            out = self._shell(name, args, scope, stdin, walker, source)
        else:
            lang = interpreters.language(name)
            if lang is not None:
                inline_code = self._interpreter(name, lang, args, scope, stdin, walker, level,
                                                source, inputs)
            elif name in embedded.SQL_CLIENTS:
                database = embedded.analyse_sql(st, name, args, stdin, inputs, scope.cwd, source)
                self.guard_paths(database, scope, source)
            elif name in embedded.HTTP_CLIENTS:
                embedded.analyse_http(st, name, argv, stdin, scope.cwd, source)
            elif (name not in runners.RUNNERS and "/" not in first.text
                  and not st.catalog.families_for(name)):
                verbs.check(st, name, args, source)
        creds_before = len(st.creds)
        self.catalog(name, args, scope, source, check_dynamic=not inline_code)
        credentials.check_paths(st, name, args, scope, source)
        credentials.check_search(st, name, args, scope, source)
        if name == "git":
            content_reads.check_git(st, args, scope, source)
        elif name in ("grep", "egrep", "fgrep", "rg", "ag", "ack"):
            content_reads.check_tree_search(st, name, args, scope, source)
        return exfiltration.check(st, name, args, scope, stdin, inputs, out,
                                  len(st.creds) > creds_before, source)

    def _pattern_name(self, first: Arg, scope: Scope, source: str) -> list[Arg] | None:
        """The words a command name that is a pattern expands to (empty: it is no pattern);
        None when what it becomes cannot be known, recorded as an unknown."""
        words = patterns.expand_braces(first.text)
        if words == [first.text] and not first.glob:
            return []
        out: list[Arg] = []
        for w in words:
            if any(c in w for c in "*?["):
                matches = patterns.expand_glob(w, scope.cwd)
                if matches is None:
                    self.state.unknown("shell:pattern-command", f"the command name {w!r} is a "
                                       "pattern that matches no file now; what runs depends on "
                                       "the files present when it runs", source)
                    return None
                if len(matches) > 1:
                    self.state.unknown("shell:pattern-command", f"the command name {w!r} "
                                       f"matches {len(matches)} files; which one runs depends on "
                                       "the order bash sorts them in", source)
                out.extend(Arg(m) for m in matches)
            else:
                out.append(Arg(w))
        if len(words) >= patterns.MAX_WORDS or len(out) >= patterns.MAX_WORDS:
            self.state.unknown("shell:pattern-command", f"the command name {first.text!r} "
                               f"expands to more than {patterns.MAX_WORDS} words; the rest are "
                               "not followed", source)
        return out

    def _git_alias(self, args: list[Arg], assigns: Sequence[tuple[str, Arg]], scope: Scope,
                   walker: Walker, source: str) -> list[Arg] | None:
        """Expand an alias defined on the command line (`git -c alias.x=reset x --hard`).

        Returns the arguments with the alias replaced, or None when the alias ran a shell
        command (analysed here) or cannot be known."""
        aliases: dict[str, Arg] = {}
        env = dict(assigns)
        for k, v in env.items():
            if k.startswith("GIT_CONFIG_KEY_") and v.text.lower().startswith("alias."):
                value = env.get("GIT_CONFIG_VALUE_" + k[len("GIT_CONFIG_KEY_"):], Arg(DYN, False))
                aliases[v.text[6:].lower()] = value
        params = env.get("GIT_CONFIG_PARAMETERS")
        if params is not None:
            for item in params.text.replace("'", " ").split():
                key, eq, val = item.partition("=")
                if key.lower().startswith("alias.") and eq:
                    aliases[key[6:].lower()] = Arg(val, params.static)
        i = 0
        while i < len(args):
            t = args[i].text
            value_text = None
            if t == "-c" and i + 1 < len(args):
                value_text = args[i + 1].text
                i += 2
            elif t.startswith("-c") and len(t) > 2:
                value_text = t[2:]
                i += 1
            elif t in ("-C", "--git-dir", "--work-tree", "--namespace", "--config-env"):
                i += 2
                continue
            elif t.startswith("-"):
                i += 1
                continue
            else:
                break
            if value_text is not None:
                key, eq, val = value_text.partition("=")
                if key.lower().startswith("alias.") and eq:
                    aliases[key[6:].lower()] = Arg(val, DYN not in val)
                elif key.lower() in _GIT_COMMAND_KEYS and eq:
                    self.shell_string(Arg(val.lstrip("!"), DYN not in val), scope.child(), None,
                                      walker, f"git -c {key}", source)
        if i >= len(args) or args[i].text.lower() not in aliases:
            return args
        alias = aliases[args[i].text.lower()]
        rest = args[i + 1:]
        if not alias.static:
            self.state.unknown("shell:git-alias", f"git alias {args[i].text!r} is only known at "
                               "run time", source)
            return None
        if alias.text.startswith("!"):
            text = " ".join([alias.text[1:], *(a.text for a in rest)])
            self.shell_string(Arg(text, all(a.static for a in rest)), scope.child(), None,
                              walker, "git alias", source)
            return None
        return [*args[:i], *(Arg(w) for w in alias.text.split()), *rest]

    def _unwrapped(self, name: str, u: wrappers.Unwrapped, scope: Scope, stdin: Output | None,
                   walker: Walker, inputs: Sequence[Arg], level: int, source: str,
                   assigns: Sequence[tuple[str, Arg]] = ()) -> Output:
        inner_scope = scope
        if u.remote is not None:
            inner_scope = Scope({}, None, {}, None)
        elif assigns:
            # `VAR=… sudo cmd`, `VAR=… npx tool`: the launched command inherits VAR.
            inner_scope = scope.child()
            inner_scope.env.update((k, v.text if v.static else None) for k, v in assigns)
        if u.shell is not None:
            # the launched command inherits stdin (`ssh host bash -s <<EOF … EOF`)
            return self.shell_string(u.shell, inner_scope.child(), stdin, walker, name, source)
        argv = list(u.argv)
        if u.split is not None:
            if not u.split.static:
                self.state.unknown("shell:dynamic-command", f"{name} -S runs a command string "
                                   "only known at run time", source)
                return Output(None, (name,))
            words = [Arg(w) for w in u.split.text.split()]
            return self.run([Arg(name), *words, *argv], inner_scope, stdin, walker, inputs,
                            u.assigns, level + 1)
        if not u.runs or not argv:
            if u.remote is not None and stdin is not None:
                # `ssh host <<EOF … EOF`: the remote login shell runs what it reads
                self._from_stdin(name, stdin, inner_scope, walker, source)
            self.catalog(name, [], scope, source)
            return Output(None, (name,))
        return self.run(argv, inner_scope, stdin, walker, inputs, u.assigns, level + 1)

    # -- shells, eval, source ----------------------------------------------------------------
    def shell_string(self, text: Arg, scope: Scope, stdin: Output | None, walker: Walker,
                     who: str, source: str, new_process: bool = True) -> Output:
        """Analyse a command string a shell will run; a new shell process does not see the
        functions defined in this one."""
        if not text.static:
            if any(s in NETWORK for s in text.sources):
                self.construct("shell-from-network", source)
            self.state.unknown("shell:opaque-string",
                               f"{who} runs a command string that is only known at run time",
                               source)
            return Output(None, (who,))
        if not new_process:
            return walker.run_text(text.text, scope, stdin, source=who)
        saved = walker.functions
        walker.functions = {}
        try:
            return walker.run_text(text.text, scope, stdin, source=who)
        finally:
            walker.functions = saved

    def _shell(self, name: str, args: Sequence[Arg], scope: Scope, stdin: Output | None,
               walker: Walker, source: str) -> Output:
        i, n = 0, len(args)
        command: Arg | None = None
        script: Arg | None = None
        while i < n:
            t = args[i].text
            if t == "--" or t == "-":
                i += 1
                break
            if t in _SHELL_VALUE:
                if t in ("--rcfile", "--init-file"):
                    self.state.unknown("shell:startup-file", f"{name} {t} runs another file "
                                       "first", source)
                i += 2
                continue
            if t.startswith("-") and len(t) > 1 and not t.startswith("--"):
                if "n" in t[1:] and name in ("bash", "sh", "dash", "zsh", "ksh", "mksh"):
                    return Output(None, (name,))
                if "s" in t[1:] and "c" not in t[1:]:
                    return self._from_stdin(name, stdin, scope, walker, source)
                if "c" in t[1:]:
                    j = i + 1
                    if j < n and args[j].text == "--":
                        j += 1
                    command = args[j] if j < n else None
                    if command is None:
                        return Output()
                    inner = scope.child()
                    for k, a in enumerate(args[j + 1:j + 11]):
                        inner.env[str(k)] = a.text if a.static else None
                    return self.shell_string(command, inner, None, walker, name, source)
                i += 1
                continue
            if t.startswith("--") or t.startswith("+"):
                i += 1
                continue
            break
        if command is not None:
            return self.shell_string(command, scope.child(), None, walker, name, source)
        if i < n:
            script = args[i]
        if script is not None:
            if script.procsub:
                self._from_process(name, script, source)
            elif not script.static:
                self.state.unknown("shell:opaque-string",
                                   f"{name} runs a script whose name is only known at run time",
                                   source)
            else:
                follow.run_file(self, script, "shell", args[i + 1:], scope, walker, 0, source)
            return Output(None, (name,))
        return self._from_stdin(name, stdin, scope, walker, source)

    def _from_process(self, who: str, arg: Arg, source: str) -> None:
        if any(s in NETWORK for s in arg.sources):
            self.construct("shell-from-network", source)
        self.state.unknown("shell:opaque-string",
                           f"{who} runs what another command prints; it is not known before it "
                           "runs", source)

    def _from_stdin(self, who: str, stdin: Output | None, scope: Scope, walker: Walker,
                    source: str) -> Output:
        if stdin is None:
            return Output(None, (who,))
        if stdin.text is not None:
            return walker.run_text(stdin.text, scope.child(), None, source=who)
        if "file" in stdin.producers:
            return Output(None, (who,))
        if any(p in NETWORK for p in stdin.producers):
            self.construct("pipe-to-shell", source)
        what = ", ".join(stdin.producers) or "another program"
        self.state.unknown("shell:opaque-string",
                           f"{who} runs commands read from the output of {what}", source)
        return Output(None, (who,))

    def construct(self, name: str, source: str) -> None:
        for entry in self.state.catalog.construct(name):
            self.state.operation(Operation(entry.id, entry.effect, entry.reason, source,
                                           suggestion=entry.suggestion))

    # -- interpreters -----------------------------------------------------------------------
    def _interpreter(self, name: str, lang: str, args: Sequence[Arg], scope: Scope,
                     stdin: Output | None, walker: Walker, level: int, source: str,
                     inputs: Sequence[Arg] = ()) -> bool:
        """Analyse the code an interpreter runs; True when the code was given inline (the
        remaining arguments are then the program's own, not the interpreter's)."""
        st = self.state
        inv = interpreters.invocation(lang, args)
        codes: list[str] = []
        for c in inv.code:
            if not c.static:
                if any(s in NETWORK for s in c.sources):
                    self.construct("shell-from-network", source)
                st.unknown("shell:opaque-code", f"{name} runs code that is only known at run "
                           "time", source)
            else:
                codes.append(c.text)
        if inv.from_stdin and not inv.code and inv.script is None:
            if stdin is not None and stdin.text is not None:
                codes.append(stdin.text)
            elif stdin is not None and "file" not in stdin.producers:
                if any(p in NETWORK for p in stdin.producers):
                    self.construct("pipe-to-shell", source)
                st.unknown("shell:opaque-code", f"{name} runs code read from the output of "
                           f"{', '.join(stdin.producers) or 'another program'}", source)
        if inv.script is not None and inv.script.procsub:
            self._from_process(name, inv.script, source)
        elif inv.script is not None and not inv.script.static:
            st.unknown("shell:opaque-code", f"{name} runs a script whose name is only known at "
                       "run time", source)
        for loaded in inv.loads:
            if not loaded.static:
                st.unknown("shell:opaque-code", f"{name} loads a module whose name is only "
                           "known at run time", source)
        for code in codes:
            follow.apply_effects(self, interpreters.code_effects(code, lang), name, scope,
                                 walker, level, source)
        if inv.script is not None and inv.script.static and not inv.script.procsub:
            rest = list(args[args.index(inv.script) + 1:]) if inv.script in args else []
            follow.run_file(self, inv.script, lang, rest, scope, walker, level, source,
                            stdin=stdin, inputs=inputs)
        elif inv.module is not None and lang == "python":
            runners.python_module(self, inv.module, args, scope, walker, level, source)
        return bool(inv.code)

    # -- catalog ------------------------------------------------------------------------------
    def catalog(self, name: str, args: Sequence[Arg], scope: Scope, source: str,
                check_dynamic: bool = True) -> None:
        st = self.state
        families = st.catalog.families_for(name)
        if not families:
            return
        texts = [a.text for a in args]
        if check_dynamic and any(not a.static for a in args):
            self._dynamic_args(name, families, texts, source)
        for family in families:
            for m in match_family(family, texts, name):
                if family.family == "cred":
                    st.credential(m.entry.id, m.entry.reason, source)
                    continue
                if m.entry.paths is not None:
                    self.emit_paths(m.entry, [(self._arg_for(args, t), False)
                                              for t in self._path_args(m.entry, m.args)],
                                    scope, source)
                    continue
                targets = tuple(Target(m.entry.targets, t.replace(DYN, "$?"))
                                for t in m.args) if m.entry.targets else ()
                st.operation(Operation(m.entry.id, m.entry.effect, m.entry.reason, source,
                                       targets, m.entry.suggestion))

    def _dynamic_args(self, name: str, families: Sequence[Family], texts: list[str],
                      source: str) -> None:
        """An argument only known at run time could be the flag or verb that makes the call
        destructive (`git reset $MODE`): try every flag and verb the catalog knows for the
        command in its place, and report an unknown when one of them would match more."""
        try:
            end = texts.index("--")
        except ValueError:
            end = len(texts)
        # Only a word that starts with the unknown part, or an option completed at run time
        # (`--ha$X`, `-d$X`), can turn into a flag or a verb; `origin/$BRANCH` cannot.
        slots = [i for i, t in enumerate(texts[:end])
                 if t.startswith(DYN) or (t.startswith("-") and DYN in t)]
        if not slots:
            return
        base = {m.entry.id for f in families for m in match_family(f, texts, name)}
        for family in families:
            if family.family == "cred":
                continue
            words: set[str] = set()
            for e in family.entries:
                if e.when.command and name not in e.when.command:
                    continue
                words |= e.when.flags_any
                for group in e.when.flags_all:
                    words |= group
                for alts in e.when.subcommand:
                    words |= alts
            for i in slots:
                before = len(parse_args(texts[:i], family.options_with_value,
                                        family.short_flag_clusters).positionals)
                for w in sorted(self._completions(texts[i], words)):
                    trial = [*texts[:i], w, *texts[i + 1:]]
                    for m in match_family(family, trial, name):
                        verb = not w.startswith("-")
                        if verb and before >= len(m.entry.when.subcommand):
                            continue
                        if m.entry.id not in base and m.entry.effect > Effect.WRITE:
                            self.state.unknown(
                                "shell:dynamic-argument",
                                f"{name}: argument {i + 1} is only known at run time and could "
                                f"make this {m.entry.id} ({m.entry.reason})", source)
                            return

    @staticmethod
    def _completions(text: str, words: set[str]) -> set[str]:
        """What a word with a run-time part could become, among the catalog's words."""
        prefix = text.split(DYN, 1)[0]
        if not prefix:
            return words
        if prefix.startswith("--"):
            return {w for w in words if w.startswith(prefix)}
        return {prefix + w[1:] for w in words if len(w) == 2 and w[0] == "-"}

    @staticmethod
    def _arg_for(args: Sequence[Arg], text: str) -> Arg:
        for a in args:
            if a.text == text:
                return a
        return Arg(text, DYN not in text)

    @staticmethod
    def _path_args(entry: Entry, positionals: Sequence[str]) -> list[str]:
        if entry.path_regex is not None:
            out = []
            for p in positionals:
                m = entry.path_regex.search(p)
                if m:
                    out.append(m.group(1))
            return out
        if entry.path_args == "first":
            return list(positionals[:1])
        if entry.path_args == "last":
            return list(positionals[-1:])
        if entry.path_args == "allbutlast":
            return list(positionals[:-1])
        return list(positionals)

    def emit_paths(self, entry: Entry, paths: Sequence[tuple[Arg, bool]], scope: Scope,
                   source: str) -> None:
        """One operation for `entry` over these paths; unresolvable ones are unknowns."""
        st = self.state
        worst: Effect | None = None
        targets: list[Target] = []
        for arg, contents in paths:
            cls, resolved = st.paths.classify(arg.text, scope.cwd, contents, scope.workspace)
            effect = entry.path_effect(cls)
            if effect is None:
                st.unknown(entry.id, f"{entry.reason} The target {resolved!r} cannot be resolved "
                           "before the command runs, so its cost is unknown.", source)
                continue
            targets.append(Target("path", resolved))
            worst = effect if worst is None else max(worst, effect)
            if st.paths.is_startup(resolved):
                self._startup(resolved, source)
            if cls == "guard":
                self._guard_path(resolved, source)
        if worst is not None:
            st.operation(Operation(entry.id, worst, entry.reason, source, tuple(targets),
                                   entry.suggestion))

    def guard_paths(self, paths: Sequence[Arg], scope: Scope, source: str) -> None:
        """Files a client opens and may write whatever it is told (a database client, a
        socket bound on a path): nothing more than a write, except on safehold's own files."""
        for arg in paths:
            cls, resolved = self.state.paths.classify(arg.text, scope.cwd)
            if cls == "guard":
                self._guard_path(resolved, source)

    def _guard_path(self, resolved: str, source: str) -> None:
        for guard in self.state.catalog.construct("guard-path"):
            self.state.operation(Operation(guard.id, guard.effect, guard.reason, source,
                                           (Target("path", resolved),), guard.suggestion))

    def _startup(self, path: str, source: str) -> None:
        for entry in self.state.catalog.construct("startup-file"):
            self.state.operation(Operation(entry.id, entry.effect, entry.reason, source,
                                           (Target("path", path),), entry.suggestion))
