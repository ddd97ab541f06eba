"""Framework consoles and runners that execute code given on their command line or stdin:
`rails runner CODE`, `rails console <<EOF`, `manage.py shell -c CODE` / `manage.py shell < f`,
`django-admin shell -c`, `artisan tinker --execute=CODE`. The code is read with the reader of its
language, so `rails runner 'User.delete_all'` is judged as the delete it is."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from safehold.analysis.scripts import follow
from safehold.analysis.shell.words import Arg, Output, Scope

if TYPE_CHECKING:
    from safehold.analysis.shell.dispatch import Dispatcher
    from safehold.analysis.shell.walk import Walker


def _code(d: Dispatcher, lang: str, code: Arg | None, stdin: Output | None, who: str,
          scope: Scope, walker: Walker, level: int, source: str) -> None:
    if code is None:
        if stdin is None:
            return
        if stdin.text is None:
            if "file" not in stdin.producers:
                d.state.unknown("shell:opaque-code", f"{who} runs code read from the output of "
                                f"{', '.join(stdin.producers) or 'another program'}", source)
            return
        code = Arg(stdin.text)
    if not code.static:
        d.state.unknown("shell:opaque-code", f"{who} runs code only known at run time", source)
        return
    from safehold.analysis.shell.interpreters import code_effects

    follow.apply_effects(d, code_effects(code.text, lang), who, scope, walker, level, source)


def _option(args: Sequence[Arg], names: tuple[str, ...]) -> Arg | None:
    for i, a in enumerate(args):
        opt, eq, val = a.text.partition("=")
        if opt in names:
            return Arg(val, a.static) if eq else (args[i + 1] if i + 1 < len(args) else None)
    return None


def after_script(d: Dispatcher, script: str, args: Sequence[Arg], scope: Scope,
                 stdin: Output | None, inputs: Sequence[Arg], walker: Walker, level: int,
                 source: str) -> None:
    """Called after a script file was followed: `manage.py shell …`, `artisan tinker …`."""
    name = os.path.basename(script)
    verb = args[0].text if args else ""
    if name == "manage.py" and verb == "shell":
        _django(d, args[1:], scope, stdin, inputs, walker, level, source)
    elif name == "artisan" and verb == "tinker":
        code = _option(args[1:], ("--execute",))
        _code(d, "php", code, stdin if code is None else None, "artisan tinker", scope, walker,
              level, source)


def _django(d: Dispatcher, args: Sequence[Arg], scope: Scope, stdin: Output | None,
            inputs: Sequence[Arg], walker: Walker, level: int, source: str) -> None:
    code = _option(args, ("-c", "--command"))
    if code is None and inputs:
        follow.run_file(d, inputs[-1], "python", [], scope, walker, level, source)
        return
    _code(d, "python", code, stdin if code is None else None, "manage.py shell", scope, walker,
          level, source)


def django_admin(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope,
                 stdin: Output | None, inputs: Sequence[Arg], walker: Walker, level: int,
                 source: str) -> None:
    if args and args[0].text == "shell":
        _django(d, args[1:], scope, stdin, inputs, walker, level, source)


def rails(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope, stdin: Output | None,
          inputs: Sequence[Arg], walker: Walker, level: int, source: str) -> None:
    words = [a for a in args if not a.text.startswith("-")]
    if not words:
        return
    verb = words[0].text
    if verb in ("runner", "r") and len(words) > 1:
        target = words[1]
        if target.static and target.text.endswith(".rb"):
            follow.run_file(d, target, "ruby", words[2:], scope, walker, level, source)
        else:
            _code(d, "ruby", target, None, "rails runner", scope, walker, level, source)
    elif verb in ("console", "c") and (stdin is not None or inputs):
        if inputs:
            follow.run_file(d, inputs[-1], "ruby", [], scope, walker, level, source)
        else:
            _code(d, "ruby", None, stdin, "rails console", scope, walker, level, source)


def alias(d: Dispatcher, name: str, args: Sequence[Arg], scope: Scope, stdin: Output | None,
          inputs: Sequence[Arg], walker: Walker, level: int, source: str) -> None:
    """`alias x='rm -rf'` defines what `x` runs later in the same command."""
    for a in args:
        key, eq, value = a.text.partition("=")
        if eq and key and not key.startswith("-"):
            if a.static:
                d.state.aliases[key] = value
            else:
                d.state.unknown("shell:opaque-string", f"alias {key} is only known at run time",
                                source)


CONSOLE_RUNNERS = {"rails": rails, "django-admin": django_admin, "alias": alias}
