"""Do the shipped runs still match their data on another CPU? Emulate other numeric back ends here.

For every run in ``pretrained/`` the data it was trained on is rebuilt from its recipe (the
notebooks' quick synthetic set, generator v2; the 12 leads restored from lead I by the shipped
restoration net; or the teacher and student pools of the semi-supervised scenarios at 10 % labels) in a fresh process with a fresh
cache, under each back-end configuration below, and checked:

* **key**: the run's stored data key (``data_fingerprint``) must equal the key of the rebuilt
  train/validation splits: that is what makes ``cached_fit`` find the shipped run;
* **digest**: the stored digest (shapes, label counts, ids, per-lead mean/RMS) must match the
  rebuilt data up to float noise (``digest_problems``); whether the floats are bit-identical is
  reported too (they need not be).

Configurations (each was checked to take effect on an x86-64 machine with AVX-512):
``ATEN_CPU_CAPABILITY=default`` (torch without vector kernels),
``NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR"`` (numpy 2.x without AVX-512),
``OPENBLAS_CORETYPE=Haswell`` (another BLAS kernel; OpenBLAS picks Haswell itself on some AMD
EPYC machines, so ``Sandybridge`` and ``SkylakeX`` are tried too), one torch thread instead of
two, and all together.

    python scripts/check_portability.py            # every configuration (a few minutes)
    python scripts/check_portability.py --only all # the combined one

Exit status 1 if any run fails its key or digest check in any configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EMULATE = {
    "ATEN_CPU_CAPABILITY": "default",
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
    "OPENBLAS_CORETYPE": "Haswell",
}
CONFIGS: dict[str, dict[str, str]] = {
    "this machine": {},
    "torch without vector kernels": {"ATEN_CPU_CAPABILITY": "default"},
    "numpy without AVX-512": {"NPY_DISABLE_CPU_FEATURES": EMULATE["NPY_DISABLE_CPU_FEATURES"]},
    "OpenBLAS Haswell kernels": {"OPENBLAS_CORETYPE": "Haswell"},
    "OpenBLAS Sandybridge kernels": {"OPENBLAS_CORETYPE": "Sandybridge"},
    "OpenBLAS SkylakeX kernels": {"OPENBLAS_CORETYPE": "SkylakeX"},
    "one torch thread": {"ECGKD_CHECK_THREADS": "1"},
    "all": {**EMULATE, "ECGKD_CHECK_THREADS": "1"},
    "all, Sandybridge BLAS": {**EMULATE, "OPENBLAS_CORETYPE": "Sandybridge", "ECGKD_CHECK_THREADS": "1"},
}


def check_here() -> dict:
    """Runs in the child process: rebuild every shipped run's data and compare. Returns a report."""
    import numpy as np
    import torch

    torch.set_num_threads(int(os.environ.get("ECGKD_CHECK_THREADS", "2")))
    from ecgkd_lite import experiment
    from ecgkd_lite.data.container import digest_problems
    from ecgkd_lite.train.pretrained import PRETRAINED_DIR
    from ecgkd_lite.train.restoration import restore_prepared
    from ecgkd_lite.utils import fingerprint

    from ecgkd_lite.config import notebook_source

    prep = experiment.prepare(notebook_source())  # the notebooks' data (generator v2 unless ECGKD_GENERATOR=v1)
    candidates = {"quick synthetic": (prep.train, prep.val)}
    restorer = experiment.train_restoration(prep, size="tiny")
    restored = restore_prepared(prep, restorer.model, input_leads=["I"], cache=False)
    candidates["restored from lead I"] = (restored.train, restored.val)
    for scenario in ("a", "b"):  # notebook 07's semi-supervised runs (10 % labels, seed 0)
        sd = experiment.scenario_data(prep, 0.1, scenario, seed=0)
        candidates[f"scenario {scenario} teacher"] = (sd.teacher.train, sd.teacher.val)
        candidates[f"scenario {scenario} students"] = (sd.student.train, sd.student.val)
    by_key = {fingerprint(tr.fingerprint(), va.fingerprint()): (name, tr, va) for name, (tr, va) in candidates.items()}
    runs = {}
    for sidecar in sorted(PRETRAINED_DIR.glob("*/best.pt.json")):
        info = json.loads(sidecar.read_text())
        run = sidecar.parent.name
        match = by_key.get(info["data_fingerprint"])
        if match is None:
            runs[run] = {"ok": False, "problem": f"no recipe gives its data key {info['data_fingerprint']}"}
            continue
        name, tr, va = match
        problems, exact = [], True
        for split, data in (("train", tr), ("val", va)):
            p, e = digest_problems(info["data_digest"][split], data.digest())
            problems += [f"{split} {x}" for x in p]
            exact &= e
        runs[run] = {"ok": not problems, "data": name, "bit_identical": exact, "problems": problems}
    return {
        "numpy": np.__version__,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "torch_capability": torch.backends.cpu.get_cpu_capability(),
        "runs": runs,
    }


def run_config(name: str, env_changes: dict[str, str]) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in EMULATE and k != "ECGKD_CHECK_THREADS"}
    env.update(env_changes)
    with tempfile.TemporaryDirectory() as cache:
        env["ECGKD_CACHE"] = cache  # rebuild everything under this back end
        env["ECGKD_PRETRAINED"] = "1"
        env["ECGKD_PROGRESS"] = "0"
        start = time.perf_counter()
        out = subprocess.run([sys.executable, __file__, "--child"], env=env, capture_output=True, text=True, cwd=REPO)
        if out.returncode != 0:
            return {"error": out.stderr[-2000:], "seconds": time.perf_counter() - start}
        report = json.loads(out.stdout.strip().splitlines()[-1])
        report["seconds"] = time.perf_counter() - start
        return report


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", help=f"configurations to run (default all): {list(CONFIGS)}")
    ap.add_argument("--json", type=Path, help="write the reports here")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(check_here()))
        return 0
    chosen = {k: v for k, v in CONFIGS.items() if not args.only or k in args.only}
    if not chosen:
        ap.error(f"--only must name configurations among {list(CONFIGS)}")
    reports, failed = {}, False
    for name, changes in chosen.items():
        rep = run_config(name, changes)
        reports[name] = rep
        if "error" in rep:
            failed = True
            print(f"[{name}] FAILED to run:\n{rep['error']}")
            continue
        bad = {r: v for r, v in rep["runs"].items() if not v["ok"]}
        exact = sum(v.get("bit_identical", False) for v in rep["runs"].values())
        failed |= bool(bad) or not rep["runs"]
        print(
            f"[{name}] torch capability {rep['torch_capability']}, {rep['threads']} thread(s): "
            f"{len(rep['runs']) - len(bad)}/{len(rep['runs'])} shipped runs match their data "
            f"({exact} bit-identical), {rep['seconds']:.0f} s"
        )
        for run, v in bad.items():
            print(f"    {run}: {v.get('problem') or '; '.join(v['problems'])}")
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
