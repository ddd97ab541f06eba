"""`python -m tests.corpus.report [-v]`: print agreement with the peer corpora."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.corpus.peers import format_report, run


def main() -> None:
    report = run()
    print(format_report(report))
    if "-v" in sys.argv:
        print("\nunreviewed disagreements:")
        for t in report.by_expect.values():
            for case, why in t.failures:
                print(f"  [{case.corpus} expects {case.expect}] {case.cmd!r}\n      -> {why}")
    if report.unused_disagreements:
        print(f"\n{len(report.unused_disagreements)} reviewed disagreements now agree; remove:")
        for k in report.unused_disagreements:
            print("  ", k)


if __name__ == "__main__":
    main()
