"""Writes that wipe without deleting are judged like the deletes they amount to."""

from __future__ import annotations

import pytest
from shell_helpers import decide, ids

from safehold.decide import Guard


@pytest.mark.parametrize(("cmd", "allowed", "ident"), [
    ("sort -o /var/lib/app/users.db users.txt", False, "fs:redirect-truncate"),
    ("sort -o app.db /dev/null", False, "fs:redirect-truncate"),
    ("sort --output=app.sqlite3 /dev/null", False, "fs:redirect-truncate"),
    ("cp /dev/null app.db", False, "fs:copy-over"),
    ("truncate -s 0 data/app.db", False, "fs:truncate"),
    (": > app.db", False, "fs:redirect-truncate"),
    ("find . -delete", False, "fs:find-delete"),
    ("rm -rf .git", False, "fs:rm-recursive"),
    ("aws s3api put-bucket-lifecycle-configuration --bucket prod --lifecycle-configuration "
     "'{\"Rules\":[{\"Status\":\"Enabled\",\"Filter\":{},\"Expiration\":{\"Days\":1}}]}'",
     False, "aws:s3-lifecycle-expire"),
    ("gsutil lifecycle set lc.json gs://prod-data", False, "gsutil:lifecycle-set"),
    ("curl -X POST https://api.example.com/cache/flush", False, None),
    ("sort -o sorted.txt names.txt", True, None),
    ("find . -name '*.pyc' -delete", True, None),
])
def test_wipes(guard: Guard, cmd: str, allowed: bool, ident: str | None) -> None:
    d = decide(guard, cmd)
    assert (d.verdict == "allow") is allowed, (d.verdict, d.reasons)
    if ident:
        assert ident in ids(d.facts), ids(d.facts)
