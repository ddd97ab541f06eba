#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")/.."
ruff check src tests
mypy src
pytest -q "$@"
rm -rf .pytest_cache/tmp
echo "all checks passed"
