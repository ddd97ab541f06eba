"""Sort a path argument into the class that decides what touching it costs.

Classes (docs/catalog.md): `guard` (safehold's own configuration, policy, data and hook
installations), `routine` (build outputs and caches in the workspace, temp scratch),
`workspace` (anything else in the workspace), `outside`, `protected` (the workspace itself,
.git, database files, volumes, temp roots), `critical` (/, home,
system directories, block devices) and `unknown` (not resolvable before the command runs).
The lists behind the classes are data (`catalog/data/paths.yaml`).

The workspace is the session's project root, fixed for the whole action: `cd /srv/app && rm
-rf data` changes where `data` resolves, never what counts as the workspace.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from safehold.catalog.pathdata import PathData

#: Marks the part of an argument whose value only exists at run time.
DYN = "\x00"
#: The same mark inside text that is parsed again as code (a heredoc fed to a shell or an
#: interpreter): a private-use character every parser accepts, turned back into DYN on reading.
DYN_TEXT = "\ue000"
#: Starts the last component of "some entry below this directory" (what find yields when its
#: expression filters), optionally followed by the name pattern it must match.
BELOW = "\x01"
_PURE_GLOB = re.compile(r"^(\*+|\.\*|\*\.\*|\.\?\*|\.\[!.\]\*|\[\^?!?\.\]\*)$")


@dataclass(frozen=True, slots=True)
class PathClassifier:
    """Classifies paths for one action (home, temp dir and working directory are fixed)."""

    data: PathData
    home: str
    tmpdir: str

    def resolve(self, text: str, cwd: str | None) -> str | None:
        """The absolute, normalised path, or None when it cannot be known statically."""
        if DYN in text or not text:
            return None
        if text == "~" or text.startswith("~/"):
            text = self.home + text[1:]
        elif text.startswith("~"):
            rest = text.find("/")
            text = self.home + (text[rest:] if rest > 0 else "")
        if not text.startswith("/"):
            if cwd is None:
                return None
            text = cwd + "/" + text
        p = posixpath.normpath(text)
        if p.startswith("//"):
            p = "/" + p.lstrip("/")
        return p

    def is_startup(self, path: str) -> bool:
        """A file a shell runs when it starts (`startup_files` in paths.yaml)."""
        return bool(self.data.startup_re(self.home).match(path))

    def classify(self, text: str, cwd: str | None, contents: bool = False,
                 workspace: str | None = None) -> tuple[str, str]:
        """(class, absolute path) for one path argument; `contents` = something below it.

        `cwd` is where a relative path resolves (it moves with `cd`); `workspace` is the
        project root that decides what counts as routine work (it never moves)."""
        p = self.resolve(text, cwd)
        if p is None:
            return "unknown", text.replace(DYN, "$?").replace(BELOW, "")
        head, _, last = p.rpartition("/")
        if last.startswith(BELOW):
            parent = head or "/"
            name = last[1:] or "\u2026"
            shown = f"{parent.rstrip('/')}/{name}"
            if _PURE_GLOB.match(name):
                return self._classify(parent, workspace, True), shown
            if parent != self.home and self._classify(parent, workspace, True) == "critical":
                return "critical", shown
            return self._classify(shown, workspace, False), shown
        if _PURE_GLOB.match(last):
            contents, p = True, head or "/"
        return self._classify(p, workspace, contents), p

    def _usable_workspace(self, ws: str | None) -> bool:
        if ws is None or ws == "/" or ws == self.home:
            return False
        if self.home.startswith(ws + "/"):
            return False
        return ws not in self.data.system_dirs

    def _temp_roots(self) -> tuple[str, ...]:
        tmp = self.tmpdir.rstrip("/") or "/"
        return (*self.data.temp_dirs, tmp) if tmp != "/" else self.data.temp_dirs

    def _names_class(self, components: list[str]) -> str | None:
        d = self.data
        for c in components:
            if d.protected_re.match(c) or d.database_re.match(c):
                return "protected"
        return None

    def _classify(self, p: str, ws: str | None, contents: bool) -> str:
        d = self.data
        if d.guard_re(self.home).match(p):
            return "guard"
        home = self.home.rstrip("/") or "/"
        if p == "/" or p == home or home.startswith(p + "/"):
            return "critical"
        if d.harmless_re.match(p):
            return "routine"
        if d.device_re.match(p):
            return "critical"
        for t in self._temp_roots():
            if p.startswith(t + "/"):
                return "routine"  # scratch, even when it is the working directory
        usable = self._usable_workspace(ws)
        if usable and ws is not None and (p == ws or ws.startswith(p + "/")):
            return "critical" if p in d.system_dirs else "protected"
        for t in self._temp_roots():
            if p == t:
                return "routine" if contents else "protected"
        if usable and ws is not None and p.startswith(ws + "/"):
            parts = p[len(ws) + 1:].split("/")
            named = self._names_class(parts)
            if named:
                return named
            if any(d.routine_re.match(c) for c in parts):
                return "routine"
            return "workspace"
        if p.startswith(home + "/"):
            rel = p[len(home) + 1:]
            named = self._names_class(rel.split("/"))
            if named:
                return named
            if any(rel == c or rel.startswith(c + "/") for c in d.home_caches):
                return "routine"
            return "outside"
        for v in d.volume_dirs:
            if p == v or p.startswith(v + "/"):
                return "protected"
        for s in d.system_dirs:
            if p == s or p.startswith(s + "/"):
                return "critical"
        return self._names_class(p.split("/")) or "outside"
