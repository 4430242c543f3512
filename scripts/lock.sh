#!/usr/bin/env bash
# Refresh requirements.lock: the exact versions of every package (transitive ones included) for
# Python 3.11 on Linux x86-64, from pyproject.toml's ranges (all extras). Run it only on purpose
# and commit the lock on its own. Needs network access to PyPI; uses uv (installed into a
# throw-away virtual environment if not on PATH).
#
# torch is resolved as the CPU build (2.13.0+cpu, so no CUDA packages enter the lock) and is not
# written into the lock: scripts/bootstrap.sh installs the exact torch pin before the lock.
set -euo pipefail
cd "$(dirname "$0")/.."
TORCH_PIN="${ECGKD_TORCH_PIN:-torch==2.13.0}"
UV="$(command -v uv || true)"
if [ -z "$UV" ]; then
  tmp="$(mktemp -d)"
  python3 -m venv "$tmp/venv" && "$tmp/venv/bin/pip" install --quiet uv
  UV="$tmp/venv/bin/uv"
fi
override="$(mktemp)"
echo "${TORCH_PIN}+cpu" > "$override"
links=()
[ -d /opt/wheels ] && links=(--find-links /opt/wheels)
"$UV" pip compile requirements.in --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
  "${links[@]}" --override "$override" --no-emit-package torch --no-emit-package ecgkd-lite \
  --custom-compile-command "bash scripts/lock.sh" -o requirements.lock
rm -f "$override"
echo "requirements.lock refreshed ($(grep -c '==' requirements.lock) packages); torch is pinned separately: $TORCH_PIN"
