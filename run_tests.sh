#!/usr/bin/env bash
# The whole test suite: unit tests (tests/) and nbval on every notebook (notebooks/*.ipynb).
# Creates/reuses ./.venv on first use. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh
python -m pytest tests notebooks \
  --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
  --nbval-cell-timeout 300 -p no:cacheprovider --durations 15 "$@"
