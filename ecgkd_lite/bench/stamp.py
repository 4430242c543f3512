"""The stamp every result file carries: the command that made it, the commit, the date, the machine.

One function for the benchmark runner and every script in ``benchmarks/``, so every JSON in
``results/`` says the same things the same way::

    {"command": ..., "git_commit": ..., "date": <UTC ISO>, "machine": {platform, cpu, cpu_count,
     python, numpy, torch, torch_threads, load_average}}
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

from ..config import REPO_ROOT


def git_commit(root: Path = REPO_ROOT) -> str | None:
    """The checked-out commit (None outside a git checkout)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """What a timing or a float result depends on: platform, CPU, cores, library versions, threads, load."""
    import numpy
    import torch

    return {
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def run_stamp(command: str | None = None) -> dict:
    """``{"command", "git_commit", "date", "machine"}``; ``command`` defaults to the running script
    and its arguments (``python benchmarks/x.py --flag``), with ``OMP_NUM_THREADS`` when set."""
    if command is None:
        script = Path(sys.argv[0])
        try:
            script = script.resolve().relative_to(REPO_ROOT)
        except ValueError:
            pass
        env = f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} " if os.environ.get("OMP_NUM_THREADS") else ""
        command = env + " ".join(["python", shlex.quote(str(script)), *map(shlex.quote, sys.argv[1:])])
    return {
        "command": command,
        "git_commit": git_commit(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
    }
