"""Read Python code with Python's own `ast` for what it does to the system.

Used for `python -c` one-liners and for Python script files alike. Recovered: shell commands
and argv lists it runs (`os.system`, `subprocess.*`), files it deletes (`shutil.rmtree`,
`os.remove`, `Path.unlink`), SQL it hands to a database driver (`cursor.execute("…")`,
`sqlalchemy.text("…")`), Redis flushes, and HTTP requests it makes (`requests`, `httpx`,
`urllib`). A call whose argument is computed at run time is reported as not understood, never
assumed harmless; what the code reaches (programs, network, database, deletion) is recorded so
a caller can tell an opaque script that matters from one that only reads.
"""

from __future__ import annotations

import ast
from typing import Any

from safehold.analysis.scripts.effects import (
    REACH_DATABASE,
    REACH_DELETE,
    REACH_DYNAMIC,
    REACH_NETWORK,
    REACH_PROCESS,
    CodeEffects,
    merge,
)
from safehold.analysis.scripts.modules import module_kinds
from safehold.analysis.scripts.orm import python_calls
from safehold.analysis.shell.paths import BELOW, DYN

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
#: pathlib methods that read the file (what it holds can be a secret).
_PY_READ_METHODS = frozenset({"read_text", "read_bytes"})
_PY_PATH_WRITES = {"write_text", "write_bytes", "touch", "symlink_to", "hardlink_to", "chmod",
                   "rename", "replace"}
_PY_OPENS = {"sqlite3.connect", "dbm.open", "shelve.open"}
#: Calls that hand SQL text to a database: any object's method of these names, once the code
#: imports a database driver.
_SQL_METHODS = {"execute", "executemany", "executescript", "exec_driver_sql", "fetch",
                "fetchrow", "fetchval", "mogrify"}
_SQL_FUNCTIONS = {"sqlalchemy.text", "sqlalchemy.sql.text", "psycopg.sql.SQL",
                  "psycopg2.sql.SQL"}
#: Redis client methods that wipe a keyspace, as the redis-cli command that does the same.
_REDIS_METHODS = {"flushall": "FLUSHALL", "flushdb": "FLUSHDB"}
_HTTP_VERBS = {"get", "post", "put", "patch", "delete", "head", "options"}
_HTTP_LIBS = ("requests", "httpx", "aiohttp", "urllib3")
#: Calls whose value is a fresh directory or file under the temporary directory.
_TEMP_MAKERS = frozenset({"tempfile.mkdtemp", "tempfile.mkstemp", "tempfile.TemporaryDirectory",
                          "tempfile.NamedTemporaryFile", "tempfile.gettempdir"})
_PYTEST_TEMP = frozenset({"tmp_path", "tmpdir"})


class _PyVisitor(ast.NodeVisitor):
    def __init__(self, effects: CodeEffects, tmpdir: str = "/tmp"):
        self.fx = effects
        self.tmpdir = tmpdir.rstrip("/") or "/tmp"
        self.aliases: dict[str, str] = {}
        self.consts: dict[str, str] = {}
        self.lists: dict[str, list[str]] = {}
        self.kinds = module_kinds("python")
        self.dialect: str | None = None
        self.databases = False

    # -- imports --------------------------------------------------------------------------
    def _imported(self, module: str) -> None:
        self.fx.imports.add(module.split(".")[0])
        reach = self.kinds.reach(module)
        if reach == "network":
            self.fx.reaches.add(REACH_NETWORK)
        elif reach == "database":
            self.fx.reaches.add(REACH_DATABASE)
            self.databases = True
            self.dialect = self.dialect or self.kinds.dialect(module)

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self._imported(a.name)
            self.aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else \
                a.name.split(".")[0]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and not node.level:
            self._imported(node.module)
        for a in node.names:
            self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"

    # -- values known before the code runs ------------------------------------------------
    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        """pytest hands a fresh temporary directory to a parameter named tmp_path/tmpdir."""
        if "pytest" in self.aliases.values() or "pytest" in self.fx.imports:
            for a in node.args.args + node.args.kwonlyargs:
                if a.arg in _PYTEST_TEMP:
                    self.consts[a.arg] = f"{self.tmpdir}/{BELOW}{a.arg}"
        self.generic_visit(node)

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            if isinstance(item.optional_vars, ast.Name) and isinstance(
                    item.context_expr, ast.Call) and (
                    self._dotted(item.context_expr.func) or "") in _TEMP_MAKERS:
                self.consts[item.optional_vars.id] = f"{self.tmpdir}/{BELOW}tmp"
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        if isinstance(node.value, ast.Call) and (self._dotted(node.value.func) or "") in \
                _TEMP_MAKERS and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            self.consts[node.targets[0].id] = f"{self.tmpdir}/{BELOW}tmp"
            return
        value = self._str(node.value)
        argv = self._argv(node.value) if isinstance(node.value, ast.List | ast.Tuple) else None
        for t in node.targets:
            if isinstance(t, ast.Name):
                self.consts.pop(t.id, None)
                self.lists.pop(t.id, None)
                if value is not None:
                    self.consts[t.id] = value
                elif argv is not None:
                    self.lists[t.id] = argv
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
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            left, right = self._str(node.left), self._str(node.right)
            if left is not None and right is not None:
                return left.rstrip("/") + "/" + right
        if isinstance(node, ast.Call) and (self._dotted(node.func) or "") in (
                "os.path.join", "pathlib.Path", "Path", "pathlib.PurePath") and node.args:
            parts = [self._str(a) for a in node.args]
            if all(p is not None for p in parts):
                return "/".join(p.rstrip("/") for p in parts if p is not None)
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
            out: list[str] = []
            for e in node.elts:
                if isinstance(e, ast.Starred) and isinstance(e.value, ast.Name) and \
                        e.value.id in self.lists:
                    out += self.lists[e.value.id]
                else:
                    out.append(self._str(e) or DYN)
            return out
        if isinstance(node, ast.Name) and node.id in self.lists:
            return list(self.lists[node.id])
        return None

    def _literal(self, node: ast.AST | None) -> Any:
        if node is None:
            return None
        try:
            return ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return DYN

    # -- calls ------------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        name = self._dotted(node.func) or ""
        first = node.args[0] if node.args else None
        attr = node.func.attr if isinstance(node.func, ast.Attribute) else ""
        if name in _PY_SHELL:
            self.fx.reaches.add(REACH_PROCESS)
            self._shell(name, first)
        elif name in _PY_SPAWN or name.startswith("subprocess."):
            self.fx.reaches.add(REACH_PROCESS)
            self._spawn(name, node, first)
        elif name in _PY_DELETE:
            self.fx.reaches.add(REACH_DELETE)
            path = self._str(first) if first is not None else None
            if path is None:
                self.fx.unknowns.append(f"python deletes a computed path with {name}()")
            else:
                self.fx.deletes.append((path, _PY_DELETE[name]))
        elif attr in _PY_PATH_METHODS and isinstance(node.func, ast.Attribute) and \
                isinstance(node.func.value, ast.Call) and \
                (self._dotted(node.func.value.func) or "").rsplit(".", 1)[-1] in (
                    "Path", "PurePath", "PosixPath"):
            self.fx.reaches.add(REACH_DELETE)
            inner = node.func.value
            path = self._str(inner.args[0]) if inner.args else None
            if path is None:
                self.fx.unknowns.append("python deletes a computed pathlib path")
            else:
                self.fx.deletes.append((path, _PY_PATH_METHODS[attr]))
        elif name in _PY_OPEN:
            mode = node.args[1] if len(node.args) > 1 else next(
                (k.value for k in node.keywords if k.arg == "mode"), None)
            text = self._str(mode) if mode is not None else "r"
            if text is None or set(text) & set("wax+"):
                self._written(first)
            elif first is not None and (path := self._str(first)) is not None:
                self.fx.reads.append(path)
        elif attr in _PY_READ_METHODS and isinstance(node.func, ast.Attribute) and \
                isinstance(node.func.value, ast.Call) and \
                (self._dotted(node.func.value.func) or "").rsplit(".", 1)[-1] in (
                    "Path", "PurePath", "PosixPath"):
            inner = node.func.value
            path = self._str(inner.args[0]) if inner.args else None
            if path is not None:
                self.fx.reads.append(path)
        elif name in _PY_WRITE:
            for i in _PY_WRITE[name]:
                self._written(node.args[i] if i < len(node.args) else None)
        elif attr in _PY_PATH_WRITES and isinstance(node.func, ast.Attribute) and \
                isinstance(node.func.value, ast.Call) and \
                (self._dotted(node.func.value.func) or "").rsplit(".", 1)[-1] in (
                    "Path", "PurePath", "PosixPath"):
            inner = node.func.value
            self._written(inner.args[0] if inner.args else None)
            if attr in ("rename", "replace"):
                self._written(first)
        elif name == "getattr":
            if len(node.args) < 2 or self._str(node.args[1]) is None:
                self.fx.unknowns.append("python looks up an attribute named at run time with "
                                        "getattr()")
        elif name in _PY_DYNAMIC:
            if first is None or self._str(first) is None:
                self.fx.reaches.add(REACH_DYNAMIC)
                self.fx.unknowns.append(f"python runs dynamic code through {name}()")
            elif name in ("exec", "eval", "compile"):
                merge(self.fx, python_effects(self._str(first) or ""))
        elif name in _PY_OPENS or attr == "bind":
            path = self._str(first) if first is not None else None
            if path is not None:
                self.fx.opens.append(path)
            if name in _PY_OPENS:
                self._sql_connect(name)
        elif name in _SQL_FUNCTIONS or (attr in _SQL_METHODS and self.databases and first
                                        is not None):
            self._sql(name or attr, first)
        elif attr in _REDIS_METHODS and self.databases and "redis" in self.aliases.values():
            self.fx.argvs.append(["redis-cli", _REDIS_METHODS[attr]])
        elif self._http(name, attr, node, first):
            pass

    def _sql_connect(self, name: str) -> None:
        """`sqlite3.connect(…)` is also a database driver in use."""
        if name == "sqlite3.connect":
            self.fx.reaches.add(REACH_DATABASE)

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

    def _spawn(self, name: str, node: ast.Call, first: ast.AST | None) -> None:
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

    def _sql(self, name: str, arg: ast.AST | None) -> None:
        self.fx.reaches.add(REACH_DATABASE)
        text = self._str(arg) if arg is not None else None
        if text is None or DYN in text:
            self.fx.unknowns.append(f"python hands SQL computed at run time to {name}()")
            return
        self.fx.sql.append((self.dialect or "postgres", text))

    def _http(self, name: str, attr: str, node: ast.Call, first: ast.AST | None) -> bool:
        lib = name.split(".")[0]
        method: str | None = None
        url_node = first
        if lib in _HTTP_LIBS and attr in _HTTP_VERBS:
            method = attr.upper()
        elif lib in _HTTP_LIBS and attr == "request" and first is not None:
            method = self._str(first)
            url_node = node.args[1] if len(node.args) > 1 else None
            method = method.upper() if method else DYN
        elif name in ("urllib.request.urlopen", "urllib.request.Request"):
            data = next((k.value for k in node.keywords if k.arg == "data"), None)
            m = next((k.value for k in node.keywords if k.arg == "method"), None)
            method = (self._str(m) or DYN).upper() if m is not None else (
                "POST" if data is not None or len(node.args) > 1 else "GET")
        elif attr in _HTTP_VERBS and REACH_NETWORK in self.fx.reaches and first is not None:
            url = self._str(first)
            if url is None or not url.startswith(("http://", "https://")):
                return False
            method = attr.upper()
        else:
            return False
        if url_node is None:
            url_node = next((k.value for k in node.keywords if k.arg == "url"), None)
        self.fx.reaches.add(REACH_NETWORK)
        url = self._str(url_node) if url_node is not None else None
        if url is None or DYN in url or method == DYN:
            if method not in ("GET", "HEAD", "OPTIONS"):
                self.fx.unknowns.append(f"python sends an HTTP request to a URL computed at run "
                                        f"time with {name or attr}()")
            return True
        body: Any = None
        for k in node.keywords:
            if k.arg in ("json", "data", "content"):
                body = self._literal(k.value)
        if body == DYN:
            body = None
            if method not in ("GET", "HEAD", "OPTIONS"):
                self.fx.unknowns.append(f"python sends an HTTP body computed at run time to {url}")
        self.fx.http.append({"method": method, "url": url, "headers": {}, "body": body})
        return True


def python_effects(code: str, tmpdir: str = "/tmp") -> CodeEffects:
    fx = CodeEffects()
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        fx.unknowns.append(f"python code does not parse ({type(exc).__name__})")
        return fx
    _PyVisitor(fx, tmpdir).visit(tree)
    for call in python_calls(tree):
        fx.orm.append((call.id, call.effect, call.reason, call.suggestion))
        fx.reaches.add(REACH_DATABASE)
    return fx
