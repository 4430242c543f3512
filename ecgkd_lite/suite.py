"""Build and execute the numbered notebooks.

Notebook sources live in ``notebooks/src/NN_topic.py`` in the "percent" format (``# %%`` starts a
code cell, ``# %% [markdown]`` a Markdown cell whose lines are ``# ``-prefixed), which diff and review
well. ``build_notebook`` turns a source into ``notebooks/NN_topic.ipynb``; ``execute_notebook`` runs
it top to bottom in a fresh kernel (the current environment's) and stores the outputs, which nbval
then checks. The suite runner executes every notebook in order into ``reports/``.
"""

from __future__ import annotations

import hashlib
import re
import os
import time
from pathlib import Path

import nbformat

from .config import REPO_ROOT
from .errors import ConfigError

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
SOURCE_DIR = NOTEBOOK_DIR / "src"


def parse_percent(text: str) -> list:
    """Split percent-format text (``# %%`` code cells, ``# %% [markdown]`` cells) into nbformat
    cells, with jupytext (the standard reader of this format); empty code cells are dropped and only
    type and source are kept, so a built notebook depends on the source text alone."""
    import jupytext

    cells = []
    for cell in jupytext.reads(text, fmt="py:percent").cells:
        if cell.cell_type == "markdown":
            cells.append(nbformat.v4.new_markdown_cell(cell.source))
        elif cell.cell_type == "code" and cell.source.strip():
            cells.append(nbformat.v4.new_code_cell(cell.source))
    return cells


def build_notebook(source: Path, target: Path | None = None) -> Path:
    """``notebooks/src/NN_x.py`` -> ``notebooks/NN_x.ipynb`` (no outputs yet)."""
    source = Path(source)
    target = Path(target) if target else NOTEBOOK_DIR / (source.stem + ".ipynb")
    nb = nbformat.v4.new_notebook()
    nb.cells = parse_percent(source.read_text())
    for i, cell in enumerate(nb.cells):  # stable ids: a rebuild of an unchanged source changes nothing
        cell.id = hashlib.sha256(f"{source.stem}:{i}:{cell.cell_type}:{cell.source}".encode()).hexdigest()[:8]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ecgkd-lite)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, target)
    return target


def execute_notebook(path: Path, out: Path | None = None, timeout: int = 1800) -> tuple[Path, float]:
    """Execute ``path`` in a fresh kernel; write the executed notebook to ``out`` (default: in place)."""
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    os.environ.setdefault("ECGKD_PROGRESS", "0")
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.pop("MPLBACKEND", None)
    start = time.perf_counter()
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK_DIR)}}
    )
    client.execute()
    for cell in nb.cells:  # keep the stored notebook small and stable
        cell.metadata.pop("execution", None)
    out = Path(out) if out else path
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return out, time.perf_counter() - start


def select_notebooks(only: list[str] | None = None) -> list[Path]:
    """The numbered notebooks in order, optionally only those whose name starts with a given prefix."""
    paths = sorted(p for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
    if only:
        chosen = [p for p in paths if any(p.name.startswith(o) for o in only)]
        if not chosen:
            raise ConfigError(f"no notebook matches {only}; available: {[p.name for p in paths]}")
        return chosen
    return paths


def run_suite(
    out_dir: Path, only: list[str] | None = None, inplace: bool = False, log=print
) -> list[tuple[str, float]]:
    """Execute the notebooks in order; executed copies to ``out_dir/notebooks`` (or in place).

    Every model a notebook asks for is recorded in ``$ECGKD_RUN_LOG`` (default
    ``out_dir/runs.log``, started afresh) with how it was obtained; the suite ends with a summary
    (loaded from ``pretrained/``, from the local cache, trained) naming any run that trained."""
    out_dir = Path(out_dir)
    os.environ["ECGKD_REPORTS"] = str(out_dir.resolve())
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    if "ECGKD_RUN_LOG" not in os.environ:
        os.environ["ECGKD_RUN_LOG"] = str((out_dir / "runs.log").resolve())
        Path(os.environ["ECGKD_RUN_LOG"]).write_text("")
    timings = []
    for nb in select_notebooks(only):
        target = nb if inplace else out_dir / "notebooks" / nb.name
        log(f"[suite] executing {nb.name} ...")
        _, seconds = execute_notebook(nb, target)
        log(f"[suite] {nb.name} done in {seconds:.0f} s -> {target}")
        timings.append((nb.name, seconds))
    for line in run_summary(os.environ["ECGKD_RUN_LOG"]):
        log(f"[suite] {line}")
    return timings


def run_summary(run_log: str | Path) -> list[str]:
    """Lines saying how many distinct runs were loaded (shipped / cached) and trained, and which trained."""
    from .train.pretrained import read_run_log

    path = Path(run_log)
    if not path.exists():
        return [f"no run log at {path}"]
    first: dict[str, str] = {}
    for name, status in read_run_log(path):
        first.setdefault(name, status)  # how the run was obtained the first time it was asked for
    counts = {s: sorted(n for n, st in first.items() if st == s) for s in ("shipped", "cached", "trained")}
    lines = [
        f"models: {len(first)} runs; {len(counts['shipped'])} loaded from pretrained/, "
        f"{len(counts['cached'])} from the local cache, {len(counts['trained'])} trained (log: {path})"
    ]
    lines += [f"trained: {name}" for name in counts["trained"]]
    return lines


# ------------------------------------------------------------------------------------------ prose
#: spans of a Markdown cell where a number is not a result: maths, code, link targets, HTML comments
_NOT_PROSE = [
    re.compile(p, re.S)
    for p in (
        r"\$\$.*?\$\$",
        r"\$[^$\n]*\$",
        r"```.*?```",
        r"`[^`\n]*`",
        r"\]\([^)]*\)",
        r"<!--.*?-->",
        r"https?://\S+",
    )
]
#: numbers that are names or references, not results
_NAMES = [
    re.compile(p, re.M)
    for p in (
        r"^#+ *\d+(\.\d+)*\.? ",  # heading numbering
        r"\b(notebooks?|sections?|cells?|steps?|parts?|exercises?|chapter|figures?|Fig\.|item)\s+\d+([-–,/]\s*\d+)*",
        r"\b\d{2}_\w+",  # notebook file stems (04_vanilla_kd)
        r"\bet al\.?,? \(?\d{4}\)?",
        r"\(\d{4}[a-z]?\)",
        r"\b(19|20)\d{2}\b(?=[);,])",  # citations
        r"arXiv:? ?\d{4}\.\d{4,5}",
        r"doi:? ?[\w./-]+",
        r"\b(1|12)[- ]leads?\b",
        r"\b[123]-D\b",
        r"\bV[1-6]\b",
        r"\baV[RLF]\b",
        r"\b[Ll]eads? (I{1,3}|V[1-6])\b",
        r"\b95 ?% (bootstrap |confidence |paired )?(interval|CI)s?\b",
        r"\b[A-Za-z]+\d+[A-Za-z]*\b",  # identifiers (PTB-XL codes, layer names)
    )
]
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?:\s*%)?")


def hand_typed_numbers(source: str | Path) -> list[tuple[int, str, str]]:
    """Numbers in the Markdown cells of a notebook source that are neither rendered from code nor
    names: ``[(cell index, number, context), ...]``. A number in prose is either computed (a code cell
    that displays ``Markdown(f"...")``) or a definition written as maths or code (``$T = 4$``,
    ```2.5 s```); references (notebook 04, section 3), citations and lead names are allowed."""
    text = Path(source).read_text() if isinstance(source, Path) or "\n" not in str(source) else str(source)
    found = []
    for i, cell in enumerate(parse_percent(text)):
        if cell.cell_type != "markdown":
            continue
        body = cell.source
        for pattern in _NOT_PROSE + _NAMES:
            body = pattern.sub(lambda m: " " * len(m.group(0)), body)
        for line in body.splitlines():
            for m in _NUMBER.finditer(line):
                found.append((i, m.group(0).strip(), " ".join(line[max(0, m.start() - 40) : m.end() + 40].split())))
    return found
