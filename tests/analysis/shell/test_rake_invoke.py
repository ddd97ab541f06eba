"""Rake and Invoke tasks are judged by their blocks and functions, not their names: a task
called `test` whose prerequisite wipes a directory is the wipe, whichever runner starts it."""

from __future__ import annotations

from pathlib import Path

import pytest

from safehold.decide import Guard
from safehold.model import Action, Verdict

RAKEFILE = '''require "rake"

task default: [:test]

desc "Run the tests"
task :test => [:prepare] do
  sh "bundle exec rspec"
end

task :prepare do
  puts "ready"
end

namespace :data do
  desc "Start over"
  task :reset => [:wipe] do |t|
    if ENV["VERBOSE"]
      puts "resetting"
    end
    sh "echo reset"
  end

  task :wipe do
    rm_rf "/srv/app/uploads"
  end
end

task :lint => "data:reset"
task(:tidy) { sh "rm -rf ~" }
'''

TASKS_PY = '''from invoke import task


@task
def wipe(c):
    c.run("rm -rf /srv/app/uploads")


@task(pre=[wipe])
def test(c):
    c.run("pytest -q")


@task
def build(c):
    c.run("python -m build")


@task
def deploy(c, target="prod"):
    c.run(f"./deploy.sh {target}")


@task(wipe)
def fresh_start(c):
    print("fresh")
'''


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    (tmp_path / "Rakefile").write_text(RAKEFILE)
    (tmp_path / "tasks.py").write_text(TASKS_PY)
    return tmp_path


def verdict(cmd: str, cwd: Path) -> Verdict:
    return Guard.load().decide(Action("shell", cmd, cwd=str(cwd))).verdict


@pytest.mark.parametrize("cmd", [
    "rake data:reset", "rake data:wipe", "bundle exec rake lint", "rake tidy",
    "rake -f Rakefile data:reset", "inv test", "invoke wipe", "inv fresh-start",
])
def test_a_task_is_its_code(cmd: str, ws: Path) -> None:
    assert verdict(cmd, ws) is Verdict.DENY


def test_a_command_computed_at_run_time_is_not_followed(ws: Path) -> None:
    assert verdict("inv deploy", ws) is Verdict.ASK


@pytest.mark.parametrize("cmd", [
    "rake", "rake test", "rake -T", "rake data:reset -n", "inv build", "inv --list",
    "rake no-such-task", "inv no-such-task",
])
def test_routine_tasks_pass(cmd: str, ws: Path) -> None:
    assert verdict(cmd, ws) is Verdict.ALLOW


def test_a_rakefile_written_earlier_in_the_command_counts(tmp_path: Path) -> None:
    cmd = ("printf 'task :ok do\\n  rm_rf \"/var/lib/postgresql\"\\nend\\n' > Rakefile && "
           "rake ok")
    assert verdict(cmd, tmp_path) is not Verdict.ALLOW
