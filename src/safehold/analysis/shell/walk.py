"""Walk a bash parse tree down to the simple commands that would run.

Every construct that can run a command is followed: lists, pipelines (each stage's stdin is the
previous stage's stdout, so `echo … | bash` and `curl … | sh` are visible), subshells,
command and process substitutions, functions, loops, conditionals, heredocs and redirections.
Variables, `cd` and `for` values are tracked in a `Scope`; what cannot be parsed is recorded as
an unknown, never skipped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from safehold.analysis.shell.parser import Node, node_text, parse
from safehold.analysis.shell.paths import DYN, DYN_TEXT
from safehold.analysis.shell.repair import RESERVED, misread_body, misread_heredoc, repaired
from safehold.analysis.shell.words import Arg, Output, Scope, WordEvaluator

if TYPE_CHECKING:
    from safehold.analysis.shell.dispatch import Dispatcher
    from safehold.analysis.shell.state import State

#: Functions bash or zsh call without being named: on a command not found, around prompts,
#: on directory changes and at exit (zsh's TRAP<signal> functions are matched by prefix).
IMPLICIT_FUNCTIONS = frozenset({"command_not_found_handle", "command_not_found_handler",
                                "precmd", "preexec", "chpwd", "periodic", "zshaddhistory",
                                "zshexit"})
MAX_NESTING = 150
MAX_LOOP_VALUES = 8
#: Compound commands that can only be an argument in a misreading of the parse.
_COMPOUND = frozenset({"subshell", "compound_statement", "for_statement", "while_statement",
                       "if_statement", "case_statement", "c_style_for_statement",
                       "function_definition", "negated_command"})
_STATEMENT_SKIP = {"comment", "heredoc_body", "heredoc_start", "heredoc_end", "heredoc_content"}


def joined(outs: Sequence[Output]) -> Output:
    """The output of statements run one after another. An output without text or producers
    is a command known to print nothing (`cd`, an assignment)."""
    if len(outs) == 1:
        return outs[0]
    printing = [o for o in outs if o.text is not None or o.producers]
    if not printing:
        return Output()
    if len(printing) == 1:
        return printing[0]
    if all(o.text is not None for o in printing):
        return Output("".join(o.text or "" for o in printing))
    return Output(None, tuple(p for o in printing for p in o.producers))


class Redirects:
    """What a command's redirections do: its stdin, and the files its output truncates."""

    __slots__ = ("extra_args", "inputs", "outputs", "stdin")

    def __init__(self) -> None:
        self.stdin: Output | None = None
        self.outputs: list[tuple[Arg, bool]] = []  # (target, truncates)
        self.inputs: list[Arg] = []
        self.extra_args: list[Arg] = []  # words after a redirection are still arguments


class Walker:
    """Runs the walk for one action; `dispatcher` judges each simple command."""

    def __init__(self, state: State, dispatcher: Dispatcher):
        self.state = state
        self.dispatcher = dispatcher
        self.words = WordEvaluator(self.substitute, state.home)
        self.nesting = 0
        self.functions: dict[str, Node] = {}
        self.calling: set[str] = set()

    # -- entry points -------------------------------------------------------------------
    def run_text(self, text: str, scope: Scope, stdin: Output | None = None,
                 source: str = "shell") -> Output:
        """Parse and walk shell text (the action itself, or `bash -c '…'` one level down)."""
        st = self.state
        if st.depth >= st.max_depth:
            st.unknown("shell:too-deep", f"shell nested more than {st.max_depth} levels; not "
                       "followed", text)
            return Output()
        st.depth += 1
        try:
            text, tree, problems = repaired(text, parse(text))
            root = tree.root_node
            for problem in problems:
                st.unknown("shell:parse-anomaly", f"the {source} command holds {problem}; "
                           "what bash would run there cannot be read", text[:200])
            if root.has_error:
                self._report_errors(root, text, source)
            return self.statements(root.children, scope, stdin)
        finally:
            st.depth -= 1

    def substitute(self, node: Node, scope: Scope) -> Output:
        """Walk a `$(…)`, backtick or `<(…)` body; what it prints, when that can be known."""
        body = [c for c in node.children if c.is_named]
        return self.statements(body, scope, None)

    # -- statements ----------------------------------------------------------------------
    def statements(self, nodes: Sequence[Node], scope: Scope, stdin: Output | None) -> Output:
        """Run statements in order; what they print together (`(echo a; echo b) | sh` feeds
        both lines to the shell)."""
        outs = []
        for n in nodes:
            if not n.is_named or n.type in _STATEMENT_SKIP:
                continue
            outs.append(self.statement(n, scope, stdin))
        return joined(outs)

    def statement(self, node: Node, scope: Scope, stdin: Output | None = None) -> Output:
        st = self.state
        if st.expired():
            st.timed_out()
            return Output()
        self.nesting += 1
        try:
            if self.nesting > MAX_NESTING:
                st.unknown("shell:too-deep", "commands nest too deeply to analyse",
                           node_text(node)[:200])
                return Output()
            return self._statement(node, scope, stdin)
        finally:
            self.nesting -= 1

    def _statement(self, node: Node, scope: Scope, stdin: Output | None) -> Output:
        t = node.type
        if t == "command":
            return self.command(node, scope, stdin, Redirects())
        if t == "redirected_statement":
            return self.redirected(node, scope, stdin)
        if t == "pipeline":
            return self.pipeline(node, scope, stdin)
        if t in ("list", "program", "compound_statement", "do_group", "else_clause",
                 "elif_clause", "case_item"):
            return self._children(node, scope, stdin)
        if t == "subshell":
            saved = dict(self.functions)
            try:
                return self._children(node, scope.child(), stdin)
            finally:
                self.functions = saved
        if t == "negated_command":
            return self._children(node, scope, stdin)
        if t == "variable_assignment":
            self.assign(node, scope)
            return Output()
        if t == "variable_assignments":
            for c in node.named_children:
                self.assign(c, scope)
            return Output()
        if t == "declaration_command":
            return self.declaration(node, scope)
        if t == "unset_command":
            for c in node.named_children:
                scope.env[node_text(c)] = ""
            return Output()
        if t == "function_definition":
            name = node.child_by_field_name("name")
            body = node.child_by_field_name("body")
            if name is not None and body is not None:
                fname = node_text(name)
                self.functions[fname] = body
                if fname in IMPLICIT_FUNCTIONS or fname.startswith("TRAP"):
                    # The shell calls it by itself (a command not found, a prompt, a signal):
                    # its body runs without ever being named, so it is judged where it is defined.
                    self.call_function([Arg(fname)], scope.child(), None)
            return Output()
        if t == "for_statement":
            return self.for_loop(node, scope)
        if t in ("if_statement", "while_statement", "case_statement", "c_style_for_statement",
                 "test_command"):
            return self._children(node, scope, stdin, words_too=True)
        if t in ("command_substitution", "process_substitution"):
            return self.substitute(node, scope.child())
        if t in ("ERROR",):
            return self._children(node, scope, stdin, words_too=True)
        # Anything else (arithmetic, words at statement level): follow what it contains.
        return self._children(node, scope, stdin, words_too=True)

    def _children(self, node: Node, scope: Scope, stdin: Output | None,
                  words_too: bool = False) -> Output:
        outs: list[Output] = []
        for c in node.named_children:
            if c.type in _STATEMENT_SKIP:
                continue
            if words_too and c.type in ("word", "string", "raw_string", "concatenation",
                                        "simple_expansion", "expansion", "number",
                                        "variable_name", "binary_expression",
                                        "unary_expression", "parenthesized_expression",
                                        "arithmetic_expansion", "ternary_expression",
                                        "postfix_expression"):
                self.words._walk_subs(c, scope)
                continue
            outs.append(self.statement(c, scope, stdin))
        return joined(outs) if outs else Output()

    def pipeline(self, node: Node, scope: Scope, stdin: Output | None) -> Output:
        stages = [c for c in node.named_children if c.type not in _STATEMENT_SKIP]
        out = stdin
        for stage in stages:
            out = self.statement(stage, scope.child() if len(stages) > 1 else scope, out)
        return out or Output()

    def assign(self, node: Node, scope: Scope) -> None:
        name_node = node.child_by_field_name("name")
        value_node = node.child_by_field_name("value")
        if name_node is None:
            return
        name = node_text(name_node)
        if value_node is None:
            scope.env[name] = ""
            return
        arg = self.words.arg(value_node, scope)
        scope.env[name] = arg.text if arg.static else None

    def declaration(self, node: Node, scope: Scope) -> Output:
        argv: list[Arg] = [Arg(node_text(node.children[0]))]
        for c in node.named_children:
            if c.type == "variable_assignment":
                self.assign(c, scope)
                argv.append(Arg(node_text(c)))
            else:
                argv.extend(self.words.args(c, scope))
        return self.dispatcher.command(argv, [], scope, None, Redirects(), self)

    def for_loop(self, node: Node, scope: Scope) -> Output:
        var = node.child_by_field_name("variable")
        body = node.child_by_field_name("body")
        values: list[Arg] = []
        has_values = False
        for c in node.children_by_field_name("value"):
            has_values = True
            values.extend(self.words.args(c, scope))
        name = node_text(var) if var is not None else ""
        if body is None:
            return Output()
        static = [v for v in values if v.static]
        if has_values and len(static) == len(values) and 0 < len(values) <= MAX_LOOP_VALUES:
            out = Output()
            for v in values:
                scope.env[name] = v.text
                out = self.statement(body, scope, None)
            return out
        scope.env[name] = None
        return self.statement(body, scope, None)

    # -- commands and redirections ------------------------------------------------------
    def redirected(self, node: Node, scope: Scope, stdin: Output | None) -> Output:
        body = node.child_by_field_name("body")
        redirects = Redirects()
        redirects.stdin = stdin
        followers: list[tuple[str, Node]] = []
        for r in node.children_by_field_name("redirect"):
            self.redirect(r, scope, redirects, followers)
        if body is None:
            out = Output()
            self.dispatcher.redirections(redirects, scope, self, "redirection")
        elif body.type == "command":
            out = self.command(body, scope, redirects.stdin, redirects)
        else:
            out = self.statement(body, scope, redirects.stdin)
            self.dispatcher.redirections(redirects, scope, self, "")
        for op, follower in followers:
            if op.startswith("|"):
                out = self._pipe_into(follower, scope, out)
            else:
                out = self.statement(follower, scope, None)
        return out

    def _pipe_into(self, node: Node, scope: Scope, first: Output) -> Output:
        if node.type == "pipeline":
            stages = [c for c in node.named_children if c.type not in _STATEMENT_SKIP]
            out = first
            for stage in stages:
                out = self._pipe_into(stage, scope, out) if stage.type == "pipeline" else \
                    self.statement(stage, scope.child(), out)
            return out
        return self.statement(node, scope.child(), first)

    def redirect(self, r: Node, scope: Scope, redirects: Redirects,
                 followers: list[tuple[str, Node]]) -> None:
        t = r.type
        if t == "heredoc_redirect":
            self.heredoc(r, scope, redirects, followers)
            return
        if t == "herestring_redirect":
            parts = [self.words.arg(c, scope) for c in r.named_children]
            text = " ".join(p.text for p in parts) + "\n"
            redirects.stdin = Output(text.replace(DYN, DYN_TEXT))
            return
        if t != "file_redirect":
            return
        op = "".join(node_text(c) for c in r.children if not c.is_named)
        dests = r.children_by_field_name("destination")
        if not dests:
            dests = [c for c in r.named_children if c.type != "file_descriptor"]
        for d in dests[1:]:
            redirects.extra_args.extend(self.words.args(d, scope))
        for d in dests[:1]:
            arg = self.words.args(d, scope)[0] if d.type in (
                "process_substitution", "command_substitution") else self.words.arg(d, scope)
            if "&" in op and (arg.text.isdigit() or arg.text == "-"):
                continue
            if op.startswith("<") and op not in ("<>",):
                redirects.inputs.append(arg)
                redirects.stdin = Output(None, ("file",))
            else:
                redirects.outputs.append((arg, ">>" not in op))

    def heredoc(self, r: Node, scope: Scope, redirects: Redirects,
                followers: list[tuple[str, Node]]) -> None:
        start = next((c for c in r.children if c.type == "heredoc_start"), None)
        quoted = start is not None and any(q in node_text(start) for q in "'\"\\")
        strip_tabs = any(node_text(c) == "<<-" for c in r.children if not c.is_named)
        body_node = next((c for c in r.children if c.type == "heredoc_body"), None)
        misread = misread_body(r) if misread_heredoc(r) else None
        if misread is not None:
            # The parser read the body's first line (`\rm …`) as words; bash reads the lines
            # up to the delimiter as the body. Unquoted, only a body without expansions is
            # certain.
            if not quoted and any(ch in misread for ch in "$`"):
                self.state.unknown("shell:parse-anomaly", "a here-document the parser misreads "
                                   "holds expansions; what it feeds cannot be read",
                                   node_text(r)[:200])
                misread = DYN_TEXT
            elif not quoted:
                misread = re.sub(r"\\([\\$`])|\\\n", lambda m: m.group(1) or "", misread)
            redirects.stdin = Output(misread)
            return
        pending_op = ""
        for c in r.children:
            if not c.is_named:
                text = node_text(c)
                if text in ("|", "|&", "&&", "||", ";", "&"):
                    pending_op = text
                continue
            if c.type == "file_redirect":
                self.redirect(c, scope, redirects, followers)
            elif c.type not in ("heredoc_start", "heredoc_body", "heredoc_end", "heredoc_content"):
                op = pending_op
                if c.type == "pipeline" and c.children and node_text(c.children[0]) in ("|", "|&"):
                    op = "|"
                followers.append((op, c))
                pending_op = ""
        if body_node is None:
            redirects.stdin = Output("")
            return
        text = node_text(body_node) if quoted else self.words.arg(body_node, scope).text
        if strip_tabs:
            text = "\n".join(line.lstrip("\t") for line in text.split("\n"))
        # Run-time parts stay marked (DYN) in the text, so whoever reads it as code sees exactly
        # which words are unknown.
        redirects.stdin = Output(text.replace(DYN, DYN_TEXT))

    def command(self, node: Node, scope: Scope, stdin: Output | None,
                redirects: Redirects) -> Output:
        assigns: list[tuple[str, Arg]] = []
        argv: list[Arg] = []
        followers: list[tuple[str, Node]] = []
        if redirects.stdin is None:
            redirects.stdin = stdin
        for c in node.named_children:
            t = c.type
            if t == "variable_assignment":
                name = c.child_by_field_name("name")
                value = c.child_by_field_name("value")
                arg = self.words.arg(value, scope) if value is not None else Arg("")
                assigns.append((node_text(name) if name is not None else "", arg))
            elif t == "command_name":
                for w in c.named_children:
                    if w.type == "word" and node_text(w) in RESERVED and not assigns and \
                            node_text(w) not in ("time", "!", "coproc"):
                        self.state.unknown("shell:parse-anomaly", f"{node_text(w)!r} is a "
                                           "reserved word where the parse reads a command name; "
                                           "bash reads this command differently",
                                           node_text(node)[:200])
                    argv.extend(self.words.args(w, scope))
            elif t in _COMPOUND:
                self.state.unknown("shell:parse-anomaly", f"a {t.replace('_', ' ')} where the "
                                   "parse reads an argument; bash reads this command "
                                   "differently", node_text(node)[:200])
                self.statement(c, scope, None)
            elif t in ("file_redirect", "herestring_redirect", "heredoc_redirect"):
                self.redirect(c, scope, redirects, followers)
            elif t == "comment":
                continue
            else:
                argv.extend(self.words.args(c, scope))
        argv.extend(redirects.extra_args)
        out = self.dispatcher.command(argv, assigns, scope, redirects.stdin, redirects, self)
        for op, follower in followers:
            out = self._pipe_into(follower, scope, out) if op.startswith("|") else \
                self.statement(follower, scope, None)
        return out

    def call_function(self, argv: list[Arg], scope: Scope, stdin: Output | None) -> Output:
        """Run a shell function's body where it is called, with its arguments as $1…."""
        name = argv[0].text
        if name in self.calling:
            self.state.unknown("shell:recursive-function", f"function {name} calls itself; "
                               "what it ends up running cannot be followed", name)
            return Output()
        self.calling.add(name)
        saved = {k: scope.env.get(k) for k in ("@", *map(str, range(1, 10)))}
        try:
            for i, a in enumerate(argv[1:10], start=1):
                scope.env[str(i)] = a.text if a.static else None
            return self.statement(self.functions[name], scope, stdin)
        finally:
            self.calling.discard(name)
            for k, v in saved.items():
                if v is None:
                    scope.env.pop(k, None)
                else:
                    scope.env[k] = v

    # -- parse errors ------------------------------------------------------------------------
    def _report_errors(self, root: Node, text: str, source: str) -> None:
        bad = self._first_error(root)
        where = ""
        if bad is not None:
            line, col = bad.start_point
            snippet = node_text(bad)[:60] or text[bad.start_byte:bad.start_byte + 40]
            where = f" at line {line + 1}, column {col + 1} ({snippet!r})"
        self.state.unknown("shell:parse-error",
                           f"the {source} command does not parse{where}; what it would run "
                           "cannot be known", text[:200])

    def _first_error(self, node: Node) -> Node | None:
        stack = [node]
        while stack:
            n = stack.pop()
            if n.type == "ERROR" or n.is_missing:
                return n
            if n.has_error:
                stack.extend(reversed(n.children))
        return None
