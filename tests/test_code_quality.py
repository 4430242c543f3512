"""The code base compiles, passes the lint gate (ruff: syntax errors, undefined names, broken
comparisons) and the `ruff format` check; notebook sources are compiled and linted too: a notebook
source that is not valid Python builds a broken notebook."""

from __future__ import annotations

import py_compile
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ecgkd_lite.config import REPO_ROOT
from ecgkd_lite.suite import SOURCE_DIR

LINTED = ("ecgkd_lite", "tests", "benchmarks", "scripts", "data_scripts", "notebooks/src")


@pytest.mark.parametrize("source", sorted(SOURCE_DIR.glob("[0-9][0-9]_*.py")), ids=lambda p: p.name)
def test_notebook_source_is_valid_python(source, tmp_path):
    py_compile.compile(str(source), cfile=str(tmp_path / "out.pyc"), doraise=True)


def _ruff() -> list[str]:
    exe = Path(sys.executable).with_name("ruff")
    if exe.exists():
        return [str(exe)]
    if shutil.which("ruff"):
        return [shutil.which("ruff")]
    return [sys.executable, "-m", "ruff"]


def test_ruff_lint_gate_passes():
    out = subprocess.run(
        [*_ruff(), "check", "--output-format", "concise", *LINTED], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-1000:]


#: what `ruff format` lays out (notebook sources are documents and stay as written)
FORMATTED = ("ecgkd_lite", "tests", "benchmarks", "scripts", "data_scripts")


def test_ruff_format_check_passes():
    out = subprocess.run([*_ruff(), "format", "--check", *FORMATTED], cwd=REPO_ROOT, capture_output=True, text=True)
    assert out.returncode == 0, "run `ruff format` on:\n" + out.stdout[-3000:] + out.stderr[-1000:]
