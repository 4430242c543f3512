"""The README's result tables, rendered from the committed result JSONs.

Every table in the README that quotes a result sits between ``<!-- table: NAME -->`` and
``<!-- /table -->``; ``TABLES[NAME]`` renders it from ``results/``. ``python -m ecgkd_lite.bench.readme``
rewrites every block; ``--check`` exits 1 naming the blocks that differ from what would be written
(``tests/test_readme_tables.py`` runs the same check), so a table cannot drift from its JSON.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Callable

from ..config import REPO_ROOT
from ..errors import ConfigError
from . import cv
from .quality import load_result, markdown_table
from .report import merge_results

README = REPO_ROOT / "README.md"
RESULTS = REPO_ROOT / "results"
BLOCK = re.compile(r"<!-- table: (?P<name>[\w.-]+) -->\n(?P<body>.*?)<!-- /table -->", re.S)


def _json(name: str) -> dict:
    path = RESULTS / name
    if not path.exists():
        raise ConfigError(f"README table needs {path}, which does not exist (see results/README.md for its command)")
    return json.loads(path.read_text())


def _quality(*names: str) -> str:
    """The headline table of one benchmark file, or of several files of one setting merged
    (``report.merge_results``: gap closed against the merged baseline and teacher)."""
    if len(names) == 1:
        return markdown_table(load_result(RESULTS / names[0]))
    (merged,) = merge_results({n: load_result(RESULTS / n) for n in names})
    return markdown_table(merged)


def _tune_evl() -> str:
    rows = sorted(
        _json("tune_evl_ecg_quick.json")["rows"],
        key=lambda r: (r["point"]["alpha"], -r["point"]["l_m"], -r["point"]["l_r"]),
    )
    lines = ["| a | l_m | l_r | l_ot | val macro AUC |", "|---|---|---|---|---|"]
    lines += [
        f"| {r['point']['alpha']:g} | {r['point']['l_m']:g} | {r['point']['l_r']:g} | {r['point']['l_ot']:g} | "
        f"{r['val_macro_auc']:.4f} |"
        for r in rows
    ]
    return "\n".join(lines)


#: block name -> the markdown it holds (without the markers)
TABLES: dict[str, Callable[[], str]] = {
    "bench_quality_quick_baselines": lambda: _quality("bench_quality_quick_baselines.json"),
    "bench_quality_quick_liteheart": lambda: _quality("bench_quality_quick_liteheart.json"),
    "bench_quality_quick_labels10": lambda: _quality(
        "bench_quality_quick_labels10.json", "bench_quality_quick_labels10_classic.json"
    ),
    "bench_quality_ptbxl_liteheart": lambda: _quality("bench_quality_ptbxl_liteheart.json"),
    "bench_quality_quick_evl": lambda: _quality("bench_quality_quick_evl.json"),
    "tune_evl_ecg_quick": _tune_evl,
    "real_gap_ptbxl2k": lambda: _json("real_gap_ptbxl2k.json")["markdown"],
    "ludb_external": lambda: _json("ludb_external.json")["markdown"],
    "bench_quality_ptbxl2k": lambda: cv.markdown(_json("bench_quality_ptbxl2k.json")),
    "bench_quality_ptbxl2k_labels10": lambda: cv.markdown(_json("bench_quality_ptbxl2k_labels10.json")),
}


def render(text: str) -> str:
    """``text`` with every table block re-rendered; ConfigError for a block name without a renderer."""

    def one(match: re.Match) -> str:
        name = match["name"]
        if name not in TABLES:
            raise ConfigError(f"README table block {name!r} has no renderer; known: {sorted(TABLES)}")
        return f"<!-- table: {name} -->\n{TABLES[name]().rstrip()}\n<!-- /table -->"

    return BLOCK.sub(one, text)


def stale(text: str) -> list[str]:
    """Names of the blocks whose text differs from their rendering."""
    return [m["name"] for m, r in zip(BLOCK.finditer(text), BLOCK.finditer(render(text))) if m.group(0) != r.group(0)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ecgkd_lite.bench.readme", description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 when a table differs from its JSON")
    ap.add_argument("--readme", default=str(README))
    args = ap.parse_args(argv)
    path = Path(args.readme)
    text = path.read_text()
    if args.check:
        names = stale(text)
        if names:
            print(f"stale README tables: {names}; run python -m ecgkd_lite.bench.readme")
            return 1
        print(f"{len(BLOCK.findall(text))} README tables match their JSON")
        return 0
    path.write_text(render(text))
    print(f"rendered {len(BLOCK.findall(text))} README tables")
    return 0


if __name__ == "__main__":
    sys.exit(main())
