"""Text decoded from escapes and definitions made earlier in the line are followed into the
shell that runs them."""

from __future__ import annotations

import pytest
from shell_helpers import decide, ids

from safehold.decide import Guard


@pytest.mark.parametrize(("cmd", "allowed", "ident"), [
    ("printf '\\x72\\x6d -rf ~' | bash", False, "fs:rm-recursive"),
    ("printf '\\162\\155 -rf ~\\n' | sh", False, "fs:rm-recursive"),
    ("echo -e '\\x72\\x6d -rf ~' | bash", False, "fs:rm-recursive"),
    ("printf '%s\\n' 'git push --force' | sh", False, "git:push-force"),
    ("printf 'rm -rf %s\\n' /etc | sh", False, "fs:rm-recursive"),
    ("printf '%b' '\\x72m -rf ~' | sh", False, "fs:rm-recursive"),
    ("printf '%5.2f' 3 | sh", False, "shell:opaque-string"),
    ("(echo 'rm -rf ~'; echo ls) | bash", False, "fs:rm-recursive"),
    ("{ echo ls; echo 'git reset --hard'; } | sh", False, "git:reset-hard"),
    ("printf '%s\\n' 'rm -rf /' | xargs -d '\\n' sh -c 'eval \"$1\"' _", False,
     "fs:rm-recursive"),
    ("alias x='rm -rf'; x ~", False, "fs:rm-recursive"),
    ("alias gp='git push --force'\ngp origin main", False, "git:push-force"),
    ("alias x=\"$CMD\"; x", False, "shell:opaque-string"),
    ("printf 'hello %s\\n' world", True, None),
    ("echo -e 'a\\tb'", True, None),
    ("alias ll='ls -la'; ll src", True, None),
    ("(echo hi; ls) | cat", True, None),
])
def test_decoded_and_defined_commands(guard: Guard, cmd: str, allowed: bool,
                                      ident: str | None) -> None:
    d = decide(guard, cmd)
    assert (d.verdict == "allow") is allowed, (d.verdict, d.reasons)
    if ident:
        assert ident in ids(d.facts), ids(d.facts)
