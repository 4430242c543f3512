# Sourced by run_suite.sh and run_tests.sh: create or reuse ./.venv and install the project.
# Needs only Python >= 3.11 with pip. torch is installed FIRST with an exact pin: an unpinned torch
# (directly or through another package) pulls several GB of CUDA wheels.
set -euo pipefail
TORCH_PIN="${ECGKD_TORCH_PIN:-torch==2.13.0}"
PY="${PYTHON:-python3}"
VENV="${ECGKD_VENV:-.venv}"

if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "ecgkd-lite needs Python >= 3.11; '$PY' is $("$PY" --version 2>&1)" >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating virtual environment $VENV"
  "$PY" -m venv "$VENV" || { "$PY" -m pip install --quiet --user virtualenv && "$PY" -m virtualenv "$VENV"; }
fi
# shellcheck disable=SC1091
source "$VENV/bin/activate"
stamp="$VENV/.ecgkd-installed"
PIP_PIN="pip==26.3"
want="$(cat pyproject.toml requirements.lock scripts/bootstrap.sh | python -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())') $TORCH_PIN"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[setup] installing $TORCH_PIN, then the locked dependencies (requirements.lock), then ecgkd_lite"
  quiet() { grep -v "^WARNING: Location" || true; }
  python -m pip install --quiet "$PIP_PIN" 2>&1 | quiet
  python -m pip install --quiet "$TORCH_PIN" 2>&1 | quiet
  python -m pip install --quiet -r requirements.lock 2>&1 | quiet
  # the package itself: no dependency resolution (the lock has them all), no isolated build
  # environment (the lock's setuptools builds it), so nothing unlocked is installed
  log="$(mktemp)"
  python -m pip install --quiet --no-deps --no-build-isolation -e . >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
  rm -f "$log"
  python -c "import torch, ecgkd_lite; assert torch.__version__.startswith('${TORCH_PIN#torch==}'), torch.__version__" \
    || { echo "[setup] installation failed" >&2; exit 1; }
  python -m pip check >/dev/null || { echo "[setup] the installed packages do not agree with each other:" >&2; python -m pip check >&2; exit 1; }
  echo "$want" > "$stamp"
fi
# a registered kernel named like the notebooks' metadata, pointing at this environment
python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ecgkd-lite)" >/dev/null 2>&1 || true
export TQDM_DISABLE=1 ECGKD_PROGRESS=0 PYTHONHASHSEED=0 PYDEVD_DISABLE_FILE_VALIDATION=1
unset MPLBACKEND  # with MPLBACKEND=Agg executed notebooks lose their plot outputs
