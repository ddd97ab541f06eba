"""A command that runs a workspace file is judged by what the file does, as if typed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from script_helpers import Run, ids

ALLOW, HOLD = True, False
WIPE = "rm -rf ~\n"
PY_WIPE = "import shutil, os\nshutil.rmtree(os.path.expanduser('~'))\nshutil.rmtree('/home')\n"

CASES = [
    # shell scripts, however they are started
    ({"x.sh": WIPE}, "bash x.sh", HOLD, "fs:rm-recursive"),
    ({"x.sh": WIPE}, "sh x.sh", HOLD, "fs:rm-recursive"),
    ({"x.sh": WIPE}, "./x.sh", HOLD, "fs:rm-recursive"),
    ({"bin/tool": "#!/bin/sh\ngit push --force origin main\n"}, "bin/tool", HOLD,
     "git:push-force"),
    ({"x.sh": WIPE}, "source x.sh", HOLD, "fs:rm-recursive"),
    ({"x.sh": WIPE}, ". ./x.sh", HOLD, "fs:rm-recursive"),
    ({"x.sh": WIPE}, "sudo bash x.sh", HOLD, "fs:rm-recursive"),
    ({"x.sh": WIPE}, "bash -c ./x.sh", HOLD, "fs:rm-recursive"),
    ({"x.sh": "bash y.sh\n", "y.sh": "git reset --hard HEAD~3\n"}, "bash x.sh", HOLD,
     "git:reset-hard"),
    ({"x.sh": 'rm -rf "$1"\n'}, "bash x.sh /etc", HOLD, "fs:rm-recursive"),
    ({"x.sh": 'cd "$(dirname "$0")"\nrm -rf build\n'}, "bash x.sh", ALLOW, None),
    ({"x.sh": "echo hello\nls -la\n"}, "bash x.sh", ALLOW, None),
    ({"x.sh": "bash x.sh\n"}, "bash x.sh", ALLOW, None),  # runs itself: followed once
    ({}, "bash missing.sh", ALLOW, None),  # nothing to run: the command fails
    # Python scripts: by Python's own parse, with their local modules
    ({"fix.py": PY_WIPE}, "python fix.py", HOLD, "fs:rm-recursive"),
    ({"fix.py": PY_WIPE}, "python3 -u fix.py --yes", HOLD, "fs:rm-recursive"),
    ({"tool": "#!/usr/bin/env python3\nimport os\nos.system('git clean -fdx')\n"}, "./tool",
     HOLD, "git:clean-force"),
    ({"fix.py": "import helpers\nhelpers.run()\n",
      "helpers.py": "import subprocess\ndef run():\n    subprocess.run(['git', 'push', '-f'])\n"},
     "python fix.py", HOLD, "git:push-force"),
    ({"fix.py": "import subprocess, sys\nsubprocess.run(sys.argv[1], shell=True)\n"},
     "python fix.py 'rm -rf /'", HOLD, "shell:opaque-code"),
    ({"db.py": "import psycopg\nc = psycopg.connect('dbname=app')\n"
               "c.execute('DELETE FROM users')\n"}, "python db.py", HOLD, "sql:delete-all"),
    ({"db.py": "import sqlite3\nsqlite3.connect('app.db').executescript('DROP TABLE orders')\n"},
     "python3 db.py", HOLD, "sql:drop-table"),
    ({"db.py": "import redis\nredis.Redis(host='cache').flushall()\n"}, "python db.py", HOLD,
     "redis:flush"),
    ({"api.py": "import requests\nrequests.delete('https://api.github.com/repos/acme/web')\n"},
     "python api.py", HOLD, "github:repo-delete"),
    ({"api.py": "import requests, sys\nrequests.post(sys.argv[1], json={'a': 1})\n"},
     "python api.py", HOLD, "shell:opaque-code"),
    ({"gen.py": "import json\nprint(json.dumps({'a': getattr(object, 'x', 1)}))\n"},
     "python gen.py", ALLOW, None),
    ({"clean.py": "import shutil\nshutil.rmtree('build')\n"}, "python clean.py", ALLOW, None),
    ({"big.py": "# filler\n" * 40000}, "python big.py", HOLD, "shell:script-not-followed"),
    ({"pkg/__init__.py": "", "pkg/__main__.py": "import os\nos.system('dropdb app')\n"},
     "python -m pkg", HOLD, "dropdb:drop-database"),
    # JavaScript
    ({"x.js": "require('child_process').execSync('rm -rf ~')\n"}, "node x.js", HOLD,
     "fs:rm-recursive"),
    ({"x.js": "const {Client} = require('pg');\nnew Client().query('TRUNCATE accounts');\n"},
     "node x.js", HOLD, "sql:truncate"),
    ({"x.js": "const fs = require('fs');\nconsole.log(fs.readdirSync('.'));\n"}, "node x.js",
     ALLOW, None),
]


@pytest.mark.parametrize(("files", "cmd", "allowed", "ident"), CASES,
                         ids=[c[1] + " " + str(i) for i, c in enumerate(CASES)])
def test_script_judged_by_contents(run: Run, files: dict[str, str], cmd: str, allowed: bool,
                                   ident: str | None) -> None:
    d = run(files, cmd)
    assert (d.verdict == "allow") is allowed, (d.verdict, d.reasons)
    if ident:
        assert ident in ids(d), ids(d)


def test_a_script_changed_after_a_decision_is_judged_again(run: Run) -> None:
    assert run({"x.sh": "echo fine\n"}, "bash x.sh").verdict == "allow"
    assert run({"x.sh": "rm -rf /\n"}, "bash x.sh").verdict != "allow"
    assert run({"x.sh": "echo fine\n"}, "bash x.sh").verdict == "allow"


def test_a_script_seen_inside_a_longer_command_keeps_all_it_does(run: Run) -> None:
    # The first command reports `rm -rf /` itself before the script repeats it; the second
    # runs the script alone and must still see the deletion.
    first = run({"x.sh": "rm -rf /\n"}, "rm -rf / ; bash x.sh")
    again = run({}, "bash x.sh")
    assert first.verdict != "allow" and again.verdict != "allow"
    assert "fs:rm-recursive" in ids(again)


def test_a_fifo_in_place_of_a_script_is_not_waited_on(run: Run, project: Path) -> None:
    os.mkfifo(project / "x.sh")
    d = run({}, "bash x.sh")
    assert d.verdict != "allow"
    assert "shell:script-not-followed" in ids(d)
