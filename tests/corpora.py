"""The one place that locates the peer guards' test corpora (dcg, cc-safety-net).

They are not part of this repository: `SAFEHOLD_CORPORA` names their directory, else they are
looked for in `shared/corpora` beside the checkout (`../shared/corpora` from the repository root).
Standard library only, so benchmarks and reports can use it without pytest.
"""

from __future__ import annotations

import os
from pathlib import Path

CORPORA_ENV = "SAFEHOLD_CORPORA"
BESIDE_CHECKOUT = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"
FILES = ("dcg-cases.jsonl", "cc-safety-net-cases.jsonl")


def location() -> Path:
    """Where the corpora are expected (whether or not they are there)."""
    override = os.environ.get(CORPORA_ENV)
    return Path(override) if override else BESIDE_CHECKOUT


def find() -> Path | None:
    """The corpora directory when every corpus file is in it, else None."""
    where = location()
    return where if all((where / name).is_file() for name in FILES) else None


def missing_reason() -> str:
    where = location()
    absent = ", ".join(name for name in FILES if not (where / name).is_file())
    return (
        f"peer corpora missing: {absent} not in {where}; put the corpora directory at "
        f"{BESIDE_CHECKOUT} or set {CORPORA_ENV} to a directory holding {' and '.join(FILES)}"
    )
