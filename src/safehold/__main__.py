"""Console entry point. `safehold hook …` is dispatched before the CLI framework is imported:
an agent runs the hook on every tool call, so its start-up time is the product's latency."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "hook":
        from safehold.surfaces.hooks.main import main as hook_main

        return hook_main(args[1:])
    from safehold.cli import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
