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
want="$(cat pyproject.toml scripts/bootstrap.sh | python -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())') $TORCH_PIN"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[setup] installing $TORCH_PIN, then the ecgkd_lite package and its dependencies"
  python -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  python -m pip install --quiet "$TORCH_PIN" 2>&1 | grep -v "^WARNING: Location" || true
  python -m pip install --quiet -e . 2>&1 | grep -v "^WARNING: Location" || true
  python -c "import torch, ecgkd_lite; assert torch.__version__.startswith('${TORCH_PIN#torch==}'), torch.__version__" \
    || { echo "[setup] installation failed" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
# a registered kernel named like the notebooks' metadata, pointing at this environment
python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ecgkd-lite)" >/dev/null 2>&1 || true
export TQDM_DISABLE=1 ECGKD_PROGRESS=0 PYTHONHASHSEED=0 PYDEVD_DISABLE_FILE_VALIDATION=1
unset MPLBACKEND  # with MPLBACKEND=Agg executed notebooks lose their plot outputs
