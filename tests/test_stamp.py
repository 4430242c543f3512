"""Every result file's stamp comes from one function."""

from __future__ import annotations

import sys

from ecgkd_lite.bench.quality import _stamp
from ecgkd_lite.bench.stamp import machine, run_stamp


def test_stamp_names_command_commit_date_and_machine(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["benchmarks/bench_x.py", "--repeats", "3"])
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    stamp = run_stamp()
    assert stamp["command"] == "OMP_NUM_THREADS=1 python benchmarks/bench_x.py --repeats 3"
    assert stamp["date"].endswith("+00:00") and len(stamp["date"]) == 25
    assert stamp["git_commit"] is None or len(stamp["git_commit"]) == 40
    m = stamp["machine"]
    assert {"platform", "cpu", "cpu_count", "python", "numpy", "torch", "torch_threads", "load_average"} <= set(m)
    assert run_stamp("given")["command"] == "given"


def test_benchmark_runner_uses_the_same_stamp():
    stamp = _stamp(["bench", "quality", "--methods", "a b"])
    assert stamp["command"] == "ecgkd bench quality --methods 'a b'"
    assert set(stamp["machine"]) == set(machine())
