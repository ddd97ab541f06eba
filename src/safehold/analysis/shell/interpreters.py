"""Look inside interpreter one-liners for what they do to the system.

`python -c` is read with Python's own `ast`; JavaScript, Ruby, Perl, PHP and awk with a small
tokenizer that knows their strings and comments, so words inside strings or comments are never
mistaken for calls. What is recovered: shell commands they run (`os.system`, `execSync`,
`system`, backticks), argv lists they spawn, files they delete (`shutil.rmtree`,
`fs.rmSync`, `FileUtils.rm_rf`, `unlink`) and files they write (`open(p, 'w')`,
`fs.writeFileSync`, `File.write`, `shutil.copy`), plus files a client opens and may write
(`sqlite3.connect`, a socket bound on a path). A command or deletion whose argument is computed
at run time is reported as not understood, never assumed harmless; a write to a computed path is
an ordinary write.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from safehold.analysis.shell.paths import DYN
from safehold.analysis.shell.words import Arg


@dataclass(slots=True)
class CodeEffects:
    """What a piece of interpreter code was found to do."""

    shells: list[str] = field(default_factory=list)
    argvs: list[list[str]] = field(default_factory=list)
    deletes: list[tuple[str, bool]] = field(default_factory=list)
    unknowns: list[str] = field(default_factory=list)
    #: files written (opened for writing, copied or moved onto, linked, chmod-ed)
    writes: list[str] = field(default_factory=list)
    #: files opened by a client that may write them (a database, a socket bound on a path)
    opens: list[str] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)


# -- which interpreter, and where its code is --------------------------------------------------

_PYTHON = re.compile(r"^(python|pypy)[0-9.]*$")
_LANG_BY_NAME = {"node": "js", "nodejs": "js", "bun": "js", "deno": "js", "perl": "perl",
                 "ruby": "ruby", "php": "php", "awk": "awk", "gawk": "awk", "mawk": "awk",
                 "nawk": "awk"}
_CODE_FLAGS = {"python": {"-c"}, "js": {"-e", "-p", "--eval", "--print"},
               "perl": {"-e", "-E"}, "ruby": {"-e"}, "php": {"-r"}, "awk": {"-e", "--source"}}
_VALUE_FLAGS = {
    "python": {"-W", "-X", "-m", "--check-hash-based-pycs"},
    "js": {"-r", "--require", "--import", "--loader", "--experimental-loader", "-C",
           "--conditions", "--input-type", "--env-file", "--title", "--inspect-port"},
    "perl": {"-I", "-M", "-m", "-x", "-i", "-l", "-0", "-C", "-d", "-D"},
    "ruby": {"-r", "-I", "-C", "-E", "-K", "-T", "-W", "-x"},
    "php": {"-d", "-c", "-z", "-f", "-t", "-S"},
    "awk": {"-f", "-v", "-F", "--file", "--assign", "--field-separator", "-i", "--include",
            "-l", "--load"},
}
_ATTACHED_ONLY = {"perl": {"-I", "-M", "-m", "-x", "-i", "-l", "-0", "-C", "-d", "-D"}}
#: Options that load code from a module or file before the program runs.
_LOADS = {"-r", "--require", "--import", "--loader", "--experimental-loader", "-M", "-m"}


def language(name: str) -> str | None:
    if _PYTHON.match(name):
        return "python"
    return _LANG_BY_NAME.get(name)


@dataclass(slots=True)
class Invocation:
    """Where an interpreter call gets its code: inline text, a script file, or stdin."""

    lang: str
    code: list[Arg] = field(default_factory=list)
    script: Arg | None = None
    module: str | None = None
    from_stdin: bool = False
    loads: list[Arg] = field(default_factory=list)


def invocation(lang: str, args: Sequence[Arg]) -> Invocation:
    inv = Invocation(lang)
    code_flags = _CODE_FLAGS[lang]
    value_flags = _VALUE_FLAGS[lang]
    attached_only = _ATTACHED_ONLY.get(lang, set())
    i, n = 0, len(args)
    if lang == "js" and n and args[0].text in ("eval", "-e") and args[0].text == "eval":
        return Invocation(lang, code=list(args[1:2]))
    while i < n:
        a = args[i]
        t = a.text
        if t == "-" or t == "--":
            inv.from_stdin = t == "-" or inv.from_stdin
            i += 1
            if t == "--":
                break
            continue
        if not t.startswith("-") or len(t) < 2:
            break
        opt, eq, val = t.partition("=")
        if opt.startswith("--"):
            if opt in code_flags:
                inv.code.append(Arg(val, a.static) if eq else (
                    args[i + 1] if i + 1 < n else Arg("")))
                i += 1 if eq else 2
                if lang == "python":
                    return inv
                continue
            if opt in ("--file",) and lang == "awk":
                inv.script = Arg(val) if eq else (args[i + 1] if i + 1 < n else None)
            if opt in _LOADS and opt in value_flags:
                loaded = Arg(val, a.static) if eq else (args[i + 1] if i + 1 < n else Arg(""))
                inv.loads.append(loaded)
            i += 1 if eq or opt not in value_flags else 2
            continue
        j = 1
        while j < len(t):
            f = "-" + t[j]
            rest = t[j + 1:]
            if f in code_flags and rest and lang == "js" and all("-" + ch in code_flags for ch in
                                                                 rest):
                j += 1
                continue
            if f in code_flags:
                inv.code.append(Arg(rest, a.static) if rest else (args[i + 1] if i + 1 < n
                                                                  else Arg("")))
                if not rest:
                    i += 1
                if lang == "python":
                    return inv
                break
            if f in value_flags:
                if f == "-m" and lang == "python":
                    mod = Arg(rest, a.static) if rest else (args[i + 1] if i + 1 < n else Arg(""))
                    inv.module = mod.text
                    inv.loads.append(mod)
                    return inv
                if f == "-f" and lang in ("awk", "php"):
                    inv.script = Arg(rest) if rest else (args[i + 1] if i + 1 < n else None)
                if f in _LOADS and lang != "python":
                    inv.loads.append(Arg(rest, a.static) if rest else (
                        args[i + 1] if i + 1 < n else Arg("")))
                if not rest and f not in attached_only:
                    i += 1
                break
            j += 1
        i += 1
    if inv.code or inv.script is not None:
        return inv
    if i < n:
        if lang == "awk":
            inv.code.append(args[i])
        else:
            inv.script = args[i]
            if inv.script.text == "-":
                inv.script, inv.from_stdin = None, True
    else:
        inv.from_stdin = True
    return inv


# -- Python ---------------------------------------------------------------------------------

_PY_SHELL = {"os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput",
             "commands.getoutput", "asyncio.create_subprocess_shell", "pty.spawn"}
_PY_SPAWN = {"subprocess.run", "subprocess.call", "subprocess.check_call",
             "subprocess.check_output", "subprocess.Popen", "asyncio.create_subprocess_exec",
             "os.execv", "os.execvp", "os.execve", "os.execl", "os.execlp", "os.spawnv",
             "os.spawnvp", "os.posix_spawn", "os.posix_spawnp", "sh.Command"}
_PY_DELETE = {"os.remove": False, "os.unlink": False, "os.rmdir": False, "os.removedirs": True,
              "shutil.rmtree": True, "send2trash.send2trash": False}
_PY_PATH_METHODS = {"unlink": False, "rmdir": False, "rmtree": True}
_PY_DYNAMIC = {"exec", "eval", "compile", "__import__", "getattr", "importlib.import_module"}
_PY_OPEN = {"open", "io.open", "codecs.open", "builtins.open"}
#: call -> which positional arguments it writes
_PY_WRITE = {"shutil.copy": (1,), "shutil.copy2": (1,), "shutil.copyfile": (1,),
             "shutil.copytree": (1,), "shutil.move": (0, 1), "os.rename": (0, 1),
             "os.replace": (0, 1), "os.renames": (0, 1), "os.symlink": (1,), "os.link": (1,),
             "os.chmod": (0,), "os.chown": (0,), "os.truncate": (0,), "os.utime": (0,),
             "os.mkfifo": (0,), "os.mknod": (0,)}
_PY_PATH_WRITES = {"write_text", "write_bytes", "touch", "symlink_to", "hardlink_to", "chmod",
                   "rename", "replace"}
_PY_OPENS = {"sqlite3.connect", "dbm.open", "shelve.open"}


class _PyVisitor(ast.NodeVisitor):
    def __init__(self, effects: CodeEffects):
        self.fx = effects
        self.aliases: dict[str, str] = {}
        self.consts: dict[str, str] = {}

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self.aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else \
                a.name.split(".")[0]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for a in node.names:
            self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"

    def visit_Assign(self, node: ast.Assign) -> None:
        value = self._str(node.value)
        for t in node.targets:
            if isinstance(t, ast.Name):
                if value is not None:
                    self.consts[t.id] = value
                else:
                    self.consts.pop(t.id, None)
        self.generic_visit(node)

    def _dotted(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self._dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id == "__import__" and node.args:
            return self._str(node.args[0])
        return None

    def _str(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name) and node.id in self.consts:
            return self.consts[node.id]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self._str(node.left), self._str(node.right)
            if left is not None and right is not None:
                return left + right
        if isinstance(node, ast.JoinedStr):
            parts = []
            for v in node.values:
                s = self._str(v) if not isinstance(v, ast.FormattedValue) else self._str(v.value)
                parts.append(s if s is not None else DYN)
            return "".join(parts)
        return None

    def _argv(self, node: ast.AST) -> list[str] | None:
        if isinstance(node, ast.List | ast.Tuple):
            return [self._str(e) or DYN for e in node.elts]
        return None

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        name = self._dotted(node.func) or ""
        first = node.args[0] if node.args else None
        if name in _PY_SHELL:
            self._shell(name, first)
        elif name in _PY_SPAWN or name.startswith("subprocess."):
            shell = any(k.arg == "shell" and isinstance(k.value, ast.Constant) and k.value.value
                        for k in node.keywords)
            if first is None:
                first = next((k.value for k in node.keywords if k.arg == "args"), None)
            argv = self._argv(first) if first is not None else None
            text = self._str(first) if first is not None else None
            if name.startswith("os.exec") or name.startswith("os.spawn"):
                rest = [self._str(a) or DYN for a in node.args[1:]]
                if name.startswith("os.spawn"):
                    rest = rest[1:]
                argv = rest[1:] if name.endswith("l") or name.endswith("lp") else \
                    (self._argv(node.args[1]) if len(node.args) > 1 else None)
                text = None
            if argv is not None:
                if shell:
                    self.fx.shells.append(" ".join(argv))
                else:
                    self.fx.argvs.append(argv)
            elif text is not None:
                if shell or name in ("subprocess.getoutput",):
                    self.fx.shells.append(text)
                else:
                    self.fx.argvs.append(text.split())
            elif first is not None:
                self.fx.unknowns.append(f"python passes a computed command to {name}()")
        elif isinstance(node.func, ast.Attribute) and node.func.attr in _PY_READ_METHODS and \
                isinstance(node.func.value, ast.Call) and \
                (self._dotted(node.func.value.func) or "").rsplit(".", 1)[-1] in _PY_PATHS:
            inner = node.func.value
            path = self._str(inner.args[0]) if inner.args else None
            if path is not None:
                self.fx.reads.append(path)
        elif name in _PY_DELETE:
            path = self._str(first) if first is not None else None
            if path is None:
                self.fx.unknowns.append(f"python deletes a computed path with {name}()")
            else:
                self.fx.deletes.append((path, _PY_DELETE[name]))
        elif isinstance(node.func, ast.Attribute) and node.func.attr in _PY_PATH_METHODS and \
                isinstance(node.func.value, ast.Call):
            inner = node.func.value
            inner_name = self._dotted(inner.func) or ""
            if inner_name.rsplit(".", 1)[-1] in ("Path", "PurePath", "PosixPath"):
                path = self._str(inner.args[0]) if inner.args else None
                if path is None:
                    self.fx.unknowns.append("python deletes a computed pathlib path")
                else:
                    self.fx.deletes.append((path, _PY_PATH_METHODS[node.func.attr]))
        elif name in _PY_OPEN:
            mode = node.args[1] if len(node.args) > 1 else next(
                (k.value for k in node.keywords if k.arg == "mode"), None)
            text = self._str(mode) if mode is not None else "r"
            if text is None or set(text) & set("wax+"):
                self._written(first)
            elif first is not None and (path := self._str(first)) is not None:
                self.fx.reads.append(path)
        elif name in _PY_WRITE:
            for i in _PY_WRITE[name]:
                arg = node.args[i] if i < len(node.args) else None
                self._written(arg)
        elif name in _PY_OPENS or (isinstance(node.func, ast.Attribute) and
                                   node.func.attr == "bind"):
            path = self._str(first) if first is not None else None
            if path is not None:
                self.fx.opens.append(path)
        elif isinstance(node.func, ast.Attribute) and node.func.attr in _PY_PATH_WRITES and \
                isinstance(node.func.value, ast.Call) and \
                (self._dotted(node.func.value.func) or "").rsplit(".", 1)[-1] in (
                    "Path", "PurePath", "PosixPath"):
            inner = node.func.value
            self._written(inner.args[0] if inner.args else None)
            if node.func.attr in ("rename", "replace"):
                self._written(first)
        elif name in _PY_DYNAMIC:
            if first is None or self._str(first) is None:
                self.fx.unknowns.append(f"python runs dynamic code through {name}()")
            elif name in ("exec", "eval", "compile"):
                inner_fx = python_effects(self._str(first) or "")
                _merge(self.fx, inner_fx)

    def _written(self, arg: ast.AST | None) -> None:
        """A write to a path known before the code runs; a computed one is an ordinary write
        to somewhere unknown, which costs nothing more than a write."""
        path = self._str(arg) if arg is not None else None
        if path is not None and DYN not in path:
            self.fx.writes.append(path)

    def _shell(self, name: str, arg: ast.AST | None) -> None:
        text = self._str(arg) if arg is not None else None
        if text is None:
            self.fx.unknowns.append(f"python passes a computed command to {name}()")
        else:
            self.fx.shells.append(text)


#: pathlib methods that read the file (what it holds can be a secret).
_PY_READ_METHODS = frozenset({"read_text", "read_bytes"})
_PY_PATHS = frozenset({"Path", "PurePath", "PosixPath"})


def _merge(into: CodeEffects, other: CodeEffects) -> None:
    into.reads += other.reads
    into.shells += other.shells
    into.argvs += other.argvs
    into.deletes += other.deletes
    into.unknowns += other.unknowns
    into.writes += other.writes
    into.opens += other.opens


def python_effects(code: str) -> CodeEffects:
    fx = CodeEffects()
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        fx.unknowns.append(f"python code does not parse ({type(exc).__name__})")
        return fx
    _PyVisitor(fx).visit(tree)
    return fx


# -- JavaScript, Ruby, Perl, PHP, awk -----------------------------------------------------------

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<lc>(?://|\#)[^\n]*)
      | (?P<bc>/\*.*?\*/)
      | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<bt>`(?:[^`\\]|\\.)*`)
      | (?P<qx>%x\((?:[^)\\]|\\.)*\)|qx\{(?:[^}\\]|\\.)*\}
              |qx\((?:[^)\\]|\\.)*\)|qx/(?:[^/\\]|\\.)*/)
      | (?P<id>[A-Za-z_$][\w$]*(?:(?:\.|::)[A-Za-z_$][\w$]*)*[!?]?)
      | (?P<p>.)""",
    re.VERBOSE | re.DOTALL,
)
_INTERP = {"js": re.compile(r"\$\{"), "ruby": re.compile(r"#\{"), "perl": re.compile(r"[$@]\w"),
           "php": re.compile(r"\$\w"), "awk": re.compile(r"(?!)")}
_ESC = re.compile(r"\\(x[0-9A-Fa-f]{2}|[0-7]{1,3}|.)", re.DOTALL)
_ESC_MAP = {"n": "\n", "t": "\t", "r": "\r", "0": "\0"}

_SHELL_CALLS = {
    "js": {"exec", "execSync", "child_process.exec", "child_process.execSync", "cp.exec",
           "cp.execSync", "shell.exec", "$"},
    "ruby": {"system", "exec", "spawn", "IO.popen", "Open3.capture2", "Open3.capture2e",
             "Open3.capture3", "Open3.popen3", "Open3.popen2", "Kernel.system", "Process.spawn",
             "%x"},
    "perl": {"system", "exec", "qx", "readpipe"},
    "php": {"system", "exec", "shell_exec", "passthru", "popen", "proc_open", "pcntl_exec"},
    "awk": {"system"},
}
_SPAWN_CALLS = {"js": {"spawn", "spawnSync", "execFile", "execFileSync", "execa", "execaSync",
                       "child_process.spawn", "child_process.spawnSync",
                       "child_process.execFile", "child_process.execFileSync"}}
#: Delete functions per language: True = recursive, False = one file, None = recursive when the
#: call passes `recursive` (fs.rmSync(p, {recursive: true})).
_DELETE_CALLS: dict[str, dict[str, bool | None]] = {
    "js": {"rmSync": None, "rmdirSync": None, "unlinkSync": False, "rm": None, "rmdir": None,
           "unlink": False, "rimraf": True, "rimrafSync": True, "removeSync": True,
           "remove": True, "emptyDirSync": True, "emptyDir": True, "fs.rmSync": None,
           "fs.rmdirSync": None, "fs.unlinkSync": False, "fs.rm": None, "fs.rmdir": None,
           "fs.unlink": False, "fs.promises.rm": None, "fsp.rm": None, "del": True,
           "deleteSync": True, "Deno.remove": None, "Deno.removeSync": None},
    "ruby": {"FileUtils.rm_rf": True, "FileUtils.rm_r": True, "FileUtils.rm": False,
             "FileUtils.rm_f": False, "FileUtils.remove_dir": True,
             "FileUtils.remove_entry": True, "FileUtils.remove_entry_secure": True,
             "FileUtils.rmtree": True, "FileUtils.remove": False, "File.delete": False,
             "File.unlink": False, "Dir.rmdir": False, "Dir.delete": False,
             "Dir.unlink": False, "rm_rf": True, "rm_r": True},
    "perl": {"unlink": False, "rmdir": False, "remove_tree": True, "rmtree": True,
             "File::Path::remove_tree": True, "File::Path::rmtree": True},
    "php": {"unlink": False, "rmdir": False},
    "awk": {},
}
#: call -> which argument is a file it writes (created, overwritten, appended, copied or linked
#: onto); a computed one is an ordinary write somewhere, not reported
_WRITE_CALLS: dict[str, dict[str, int]] = {
    "js": {"writeFileSync": 0, "appendFileSync": 0, "copyFileSync": 1, "renameSync": 1,
           "cpSync": 1, "symlinkSync": 1, "linkSync": 1, "truncateSync": 0,
           "createWriteStream": 0, "fs.writeFile": 0, "fs.appendFile": 0, "fs.copyFile": 1,
           "fs.rename": 1, "fs.promises.writeFile": 0, "fs.promises.appendFile": 0,
           "fsp.writeFile": 0, "fsp.appendFile": 0, "Deno.writeTextFile": 0,
           "Deno.writeFile": 0, "Bun.write": 0},
    "ruby": {"File.write": 0, "IO.write": 0, "File.binwrite": 0, "File.symlink": 1,
             "File.rename": 1, "FileUtils.cp": 1, "FileUtils.mv": 1, "FileUtils.ln_s": 1,
             "FileUtils.ln_sf": 1, "FileUtils.touch": 0, "FileUtils.install": 1},
    "php": {"file_put_contents": 0, "copy": 1, "rename": 1, "symlink": 1, "touch": 0},
}
_EVAL_CALLS = {"js": {"eval", "Function", "vm.runInNewContext", "vm.runInThisContext"},
               "ruby": {"eval", "instance_eval", "class_eval", "module_eval", "binding.eval"},
               "perl": {"eval"}, "php": {"eval", "assert", "create_function"}, "awk": set()}


@dataclass(slots=True)
class _Tok:
    kind: str
    text: str
    dynamic: bool = False


def _decode(body: str) -> str:
    def repl(m: re.Match[str]) -> str:
        s = m.group(1)
        if s[0] == "x":
            return chr(int(s[1:], 16))
        if s[0].isdigit() and s != "0":
            return chr(int(s, 8))
        return _ESC_MAP.get(s, s)

    return _ESC.sub(repl, body)


def tokenize(code: str, lang: str) -> list[_Tok]:
    out: list[_Tok] = []
    interp = _INTERP[lang]
    for m in _TOKEN.finditer(code):
        kind = m.lastgroup or "p"
        text = m.group()
        if kind in ("ws", "bc") or (kind == "lc" and ((text.startswith("//") and lang in
                                                       ("js", "php")) or (text.startswith("#") and
                                                       lang in ("ruby", "perl", "php", "awk")))):
            continue
        if kind == "lc":
            out.append(_Tok("p", text[0]))
            continue
        if kind == "str":
            body = text[1:-1]
            dynamic = text[0] == '"' and bool(interp.search(body))
            out.append(_Tok("str", _decode(body), dynamic))
        elif kind == "bt":
            body = text[1:-1]
            if lang == "js":
                out.append(_Tok("str", _decode(body), bool(interp.search(body))))
            else:
                out.append(_Tok("bt", _decode(body), bool(_INTERP[lang].search(body))))
        elif kind == "qx":
            body = text[3:-1]
            out.append(_Tok("bt", _decode(body), bool(_INTERP[lang].search(body))))
        else:
            out.append(_Tok(kind, text))
    return out


def _call_args(toks: list[_Tok], i: int) -> tuple[list[_Tok | list[_Tok]], bool]:
    """Literal arguments after a callee at toks[i]; (args, all-literal)."""
    j = i + 1
    paren = j < len(toks) and toks[j].text == "("
    if paren:
        j += 1
    args: list[_Tok | list[_Tok]] = []
    literal = True
    depth = 0
    while j < len(toks):
        t = toks[j]
        if t.text in (")", ";", "\n") and depth == 0:
            break
        if t.text in ("[", "{"):
            if depth == 0 and t.text == "[":
                arr: list[_Tok] = []
                j += 1
                while j < len(toks) and toks[j].text != "]":
                    if toks[j].kind == "str":
                        arr.append(toks[j])
                    elif toks[j].text != ",":
                        literal = False
                    j += 1
                args.append(arr)
                j += 1
                continue
            depth += 1
        elif t.text in ("]", "}"):
            if depth == 0:
                break
            depth -= 1
        elif depth == 0:
            if t.kind == "str":
                args.append(t)
            elif t.kind == "id" and t.text == "glob" and j + 1 < len(toks):
                j += 1
                continue
            elif t.text not in (",", "(", ":", "=", ">") and not args and not (
                    t.kind == "id" and t.text in ("true", "false", "recursive", "force")):
                literal = False
        if not paren and t.text == "," and not args:
            break
        j += 1
    return args, literal


def script_effects(code: str, lang: str) -> CodeEffects:
    fx = CodeEffects()
    toks = tokenize(code, lang)
    shell_calls = _SHELL_CALLS.get(lang, set())
    spawn_calls = _SPAWN_CALLS.get(lang, set())
    if lang == "js" and not any(t.kind == "str" and ("child_process" in t.text or t.text in (
            "execa", "zx", "shelljs")) for t in toks):
        shell_calls = {c for c in shell_calls if "." in c and not c.startswith("cp.")}
        spawn_calls = set()
    deletes = _DELETE_CALLS.get(lang, {})
    writes = _WRITE_CALLS.get(lang, {})
    evals = _EVAL_CALLS.get(lang, set())
    for i, t in enumerate(toks):
        if t.kind == "bt":
            if t.dynamic:
                fx.unknowns.append(f"{lang} runs a computed shell command in backticks")
            else:
                fx.shells.append(t.text)
            continue
        if lang == "awk" and t.kind == "str" and i + 2 < len(toks) and toks[i + 1].text == "|" \
                and toks[i + 2].text == "getline":
            fx.shells.append(t.text)
            continue
        if lang == "awk" and t.text == "|" and i + 1 < len(toks) and toks[i - 1].text != "|":
            nxt = toks[i + 1]
            if nxt.kind == "str":
                fx.shells.append(nxt.text)
            elif nxt.text != "getline":
                fx.unknowns.append("awk pipes output into a computed command")
            continue
        if t.kind != "id":
            continue
        name = t.text
        short = name.rsplit(".", 1)[-1]
        if i > 0 and toks[i - 1].text == "." and name not in deletes:
            name = short
        after = toks[i + 1] if i + 1 < len(toks) else None
        is_call = after is not None and (after.text == "(" or (lang in ("ruby", "perl") and
                                                           after.kind in ("str", "id")))
        if not is_call:
            continue
        args, literal = _call_args(toks, i)
        first = args[0] if args else None
        if name in shell_calls or (short in shell_calls and "." in name):
            if isinstance(first, _Tok) and not first.dynamic and literal and len(args) == 1:
                fx.shells.append(first.text)
            elif isinstance(first, _Tok) and not first.dynamic and literal:
                fx.argvs.append([a.text for a in args if isinstance(a, _Tok)])
            else:
                fx.unknowns.append(f"{lang} passes a computed command to {name}()")
        elif name in spawn_calls or short in spawn_calls:
            if isinstance(first, _Tok) and not first.dynamic:
                argv = [first.text]
                for a in args[1:]:
                    if isinstance(a, list):
                        argv += [x.text if not x.dynamic else DYN for x in a]
                fx.argvs.append(argv)
            else:
                fx.unknowns.append(f"{lang} spawns a computed command with {name}()")
        elif name in deletes or (short in deletes and lang == "js"):
            recursive = deletes.get(name, deletes.get(short))
            if recursive is None:
                recursive = any(x.kind == "id" and x.text == "recursive" for x in
                                toks[i + 1:i + 12])
            if isinstance(first, _Tok) and not first.dynamic:
                fx.deletes.append((first.text, bool(recursive)))
            else:
                fx.unknowns.append(f"{lang} deletes a computed path with {name}()")
        elif name in writes or (lang == "js" and short in writes and "." not in short):
            index = writes.get(name, writes.get(short, 0))
            arg = args[index] if index < len(args) else None
            if isinstance(arg, _Tok) and arg.kind == "str" and not arg.dynamic:
                fx.writes.append(arg.text)
        elif name in evals:
            if isinstance(first, _Tok) and not first.dynamic and literal:
                _merge(fx, script_effects(first.text, lang))
            else:
                fx.unknowns.append(f"{lang} runs dynamic code through {name}()")
    return fx


def code_effects(code: str, lang: str) -> CodeEffects:
    return python_effects(code) if lang == "python" else script_effects(code, lang)
