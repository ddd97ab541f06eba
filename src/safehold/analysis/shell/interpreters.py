"""Look inside interpreter one-liners for what they do to the system.

`python -c` is read with Python's own `ast` (`analysis/scripts/python_code.py`); JavaScript,
Ruby, Perl, PHP and awk with a small tokenizer that knows their strings and comments, so words
inside strings or comments are never mistaken for calls. What is recovered: shell commands
they run (`os.system`, `execSync`, `system`, backticks), argv lists they spawn, files they
delete (`shutil.rmtree`, `fs.rmSync`, `FileUtils.rm_rf`, `unlink`), SQL a JavaScript database
client runs, and what the code reaches (programs, network, databases). A call whose argument
is computed at run time is reported as not understood, never assumed harmless.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from safehold.analysis.scripts.effects import (
    REACH_DATABASE,
    REACH_DELETE,
    REACH_DYNAMIC,
    REACH_NETWORK,
    REACH_PROCESS,
    CodeEffects,
)
from safehold.analysis.scripts.effects import merge as _merge
from safehold.analysis.scripts.modules import module_kinds
from safehold.analysis.scripts.orm import token_calls
from safehold.analysis.scripts.python_code import python_effects
from safehold.analysis.shell.paths import DYN
from safehold.analysis.shell.words import Arg

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
    dialect = _code_modules(toks, fx, lang) if lang in ("js", "ruby", "perl") else None
    for call in token_calls(toks, lang):
        fx.orm.append((call.id, call.effect, call.reason, call.suggestion))
        fx.reaches.add(REACH_DATABASE)
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
        method = "." in t.text or (i > 0 and toks[i - 1].text == ".") or (
            i > 1 and toks[i - 2].text == "-" and toks[i - 1].text == ">")
        if dialect is not None and short in _SQL_CALLS and method:
            fx.reaches.add(REACH_DATABASE)
            if isinstance(first, _Tok) and not first.dynamic:
                fx.sql.append((dialect or "postgres", first.text))
            elif first is not None:
                fx.unknowns.append(f"{lang} hands SQL computed at run time to {short}()")
            continue
        if name in ("fetch", "globalThis.fetch") and lang == "js":
            fx.reaches.add(REACH_NETWORK)
        if name in shell_calls or (short in shell_calls and "." in name):
            fx.reaches.add(REACH_PROCESS)
            if isinstance(first, _Tok) and not first.dynamic and literal and len(args) == 1:
                fx.shells.append(first.text)
            elif isinstance(first, _Tok) and not first.dynamic and literal:
                fx.argvs.append([a.text for a in args if isinstance(a, _Tok)])
            else:
                fx.unknowns.append(f"{lang} passes a computed command to {name}()")
        elif name in spawn_calls or short in spawn_calls:
            fx.reaches.add(REACH_PROCESS)
            if isinstance(first, _Tok) and not first.dynamic:
                argv = [first.text]
                for a in args[1:]:
                    if isinstance(a, list):
                        argv += [x.text if not x.dynamic else DYN for x in a]
                fx.argvs.append(argv)
            else:
                fx.unknowns.append(f"{lang} spawns a computed command with {name}()")
        elif name in deletes or (short in deletes and lang == "js"):
            fx.reaches.add(REACH_DELETE)
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
                fx.reaches.add(REACH_DYNAMIC)
                fx.unknowns.append(f"{lang} runs dynamic code through {name}()")
    return fx


#: Database client methods that take SQL text (`client.query("…")`, `db.exec("…")`,
#: `$dbh->do("…")`).
_SQL_CALLS = frozenset({"query", "execute", "exec", "run", "raw", "$executeRawUnsafe",
                        "$queryRawUnsafe", "unsafe", "do", "prepare", "selectall_arrayref",
                        "selectrow_array", "exec_params", "async_exec"})
_DBI_DIALECT = {"pg": "postgres", "mysql": "mysql", "mariadb": "mysql", "sqlite": "sqlite"}


def _code_modules(toks: list[_Tok], fx: CodeEffects, lang: str) -> str | None:
    """Record what the modules code loads reach; the SQL dialect of its database driver (""
    when it has one without SQL), or None when it loads none."""
    kinds = module_kinds({"js": "javascript"}.get(lang, lang))
    dialect: str | None = None
    for i, t in enumerate(toks):
        if lang == "perl" and t.kind == "str" and t.text.lower().startswith("dbi:"):
            driver = t.text.split(":")[1].lower() if t.text.count(":") > 1 else ""
            dialect = _DBI_DIALECT.get(driver, dialect or "")
            fx.reaches.add(REACH_DATABASE)
        if lang == "perl" and t.kind == "id" and t.text == "DBI" and dialect is None:
            dialect = ""
            fx.reaches.add(REACH_DATABASE)
        if t.kind != "str" or t.dynamic or i == 0:
            continue
        before = toks[i - 1].text
        loads = before in ("from", "require", "import") or (
            before == "(" and i > 1 and toks[i - 2].text in ("require", "import"))
        if not loads:
            continue
        reach = kinds.reach(t.text.removeprefix("node:"))
        if reach == "network":
            fx.reaches.add(REACH_NETWORK)
        elif reach == "database":
            fx.reaches.add(REACH_DATABASE)
            found = kinds.dialect(t.text) or ""
            dialect = found if dialect is None or not dialect else dialect
    return dialect


def code_effects(code: str, lang: str) -> CodeEffects:
    return python_effects(code) if lang == "python" else script_effects(code, lang)
