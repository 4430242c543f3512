#!/usr/bin/env bash
# The main job: execute the numbered notebooks in order on the embedded synthetic data and leave the
# executed notebooks, figures (PNG) and tables in reports/. Creates/reuses ./.venv on first use.
# ECGKD_PROFILE=full selects the long profile (real data, GPU). Extra arguments go to `ecgkd suite`.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh
ecgkd suite --out reports "$@"
