"""Task runners are judged by the recipe or script they run, not by the task's name."""

from __future__ import annotations

import json

import pytest
from script_helpers import Run, ids

ALLOW, HOLD = True, False


def pkg(**scripts: str) -> dict[str, str]:
    return {"package.json": json.dumps({"name": "app", "scripts": scripts})}


MAKEFILE = """\
DEST ?= ~
.PHONY: test build clean

build:
\t@echo building
test: build prepare
\tpytest -q
prepare:
\t-rm -rf $(DEST)
clean:
\trm -rf build dist
"""

CASES = [
    # make: the recipe, its prerequisites, the default goal, variables
    ({"Makefile": MAKEFILE}, "make test", HOLD, "fs:rm-recursive"),
    ({"Makefile": MAKEFILE}, "make", ALLOW, None),  # default goal is build
    ({"Makefile": MAKEFILE}, "make clean", ALLOW, None),
    ({"Makefile": MAKEFILE}, "make DEST=build test", ALLOW, None),
    ({"Makefile": MAKEFILE}, "make -n test", ALLOW, None),  # dry run: nothing runs
    ({"Makefile": "all:\n\tgit push --force origin main\n"}, "make", HOLD, "git:push-force"),
    ({"sub/Makefile": "lint:\n\tgit reset --hard\n"}, "make -C sub lint", HOLD,
     "git:reset-hard"),
    ({"build.mk": "x:\n\tgit clean -fdx\n"}, "make -f build.mk x", HOLD, "git:clean-force"),
    ({"Makefile": "t:\n\t$(MAKE) -C sub t\n", "sub/Makefile": "t:\n\trm -rf /\n"}, "make t",
     HOLD, "fs:rm-recursive"),
    ({"Makefile": "include rules.mk\n"}, "make deploy", HOLD, "shell:script-not-followed"),
    # package.json scripts with their pre/post scripts
    (pkg(test="git push --force"), "npm test", HOLD, "git:push-force"),
    (pkg(test="vitest", pretest="rm -rf ~"), "npm run test", HOLD, "fs:rm-recursive"),
    (pkg(lint="eslint .", postlint="git reset --hard"), "npm run lint", HOLD,
     "git:reset-hard"),
    (pkg(lint="bash scripts/lint.sh"), "pnpm lint", ALLOW, None),
    (pkg(lint="bash scripts/lint.sh") | {"scripts/lint.sh": "rm -rf /\n"}, "pnpm lint", HOLD,
     "fs:rm-recursive"),
    (pkg(build="git clean -fdx"), "yarn build", HOLD, "git:clean-force"),
    (pkg(build="git clean -fdx"), "bun run build", HOLD, "git:clean-force"),
    (pkg(build="tsc"), "npm run build", ALLOW, None),
    # lifecycle scripts run by installing the package's own dependencies
    (pkg(postinstall="rm -rf ~"), "npm install", HOLD, "fs:rm-recursive"),
    (pkg(preinstall="rm -rf ~"), "npm ci", HOLD, "fs:rm-recursive"),
    (pkg(prepare="git push -f"), "pnpm install", HOLD, "git:push-force"),
    (pkg(postinstall="rm -rf ~"), "yarn", HOLD, "fs:rm-recursive"),
    (pkg(postinstall="rm -rf ~"), "npm install --ignore-scripts", ALLOW, None),
    # just and task
    ({"justfile": "deploy: build\n    git push --force\nbuild:\n    echo ok\n"}, "just deploy",
     HOLD, "git:push-force"),
    ({"justfile": "default:\n    rm -rf ~\n"}, "just", HOLD, "fs:rm-recursive"),
    ({"justfile": "gen:\n    #!/usr/bin/env python3\n    import shutil\n"
                  "    shutil.rmtree('/etc')\n"}, "just gen", HOLD, "fs:rm-recursive"),
    ({"justfile": "test:\n    pytest -q\n"}, "just --list", ALLOW, None),
    ({"Taskfile.yml": "version: '3'\ntasks:\n  clean:\n    cmds:\n      - rm -rf ~\n"},
     "task clean", HOLD, "fs:rm-recursive"),
    ({"Taskfile.yml": "version: '3'\ntasks:\n  default:\n    deps: [wipe]\n  wipe:\n"
                      "    cmds:\n      - cmd: git reset --hard\n"}, "task", HOLD,
     "git:reset-hard"),
    # code that runs implicitly: setup.py for pip, conftest.py for pytest
    ({"setup.py": "import os\nos.system('rm -rf ~')\nfrom setuptools import setup\nsetup()\n"},
     "pip install -e .", HOLD, "fs:rm-recursive"),
    ({"setup.py": "from setuptools import setup\nsetup(name='x')\n"}, "pip install -e .", ALLOW,
     None),
    ({"conftest.py": "import subprocess\nsubprocess.run(['git', 'push', '--force'])\n"},
     "pytest -q", HOLD, "git:push-force"),
    ({"tests/conftest.py": "import shutil\nshutil.rmtree('/var/lib/postgresql')\n"},
     "python -m pytest tests", HOLD, "fs:rm-recursive"),
    ({"tests/conftest.py": "import shutil, pytest\n@pytest.fixture\ndef d(tmp_path):\n"
                           "    yield tmp_path\n    shutil.rmtree(tmp_path)\n"},
     "pytest", ALLOW, None),
]


@pytest.mark.parametrize(("files", "cmd", "allowed", "ident"), CASES,
                         ids=[c[1] + " " + str(i) for i, c in enumerate(CASES)])
def test_task_runner_judged_by_recipe(run: Run, files: dict[str, str], cmd: str, allowed: bool,
                                      ident: str | None) -> None:
    d = run(files, cmd)
    assert (d.verdict == "allow") is allowed, (d.verdict, d.reasons)
    if ident:
        assert ident in ids(d), ids(d)
