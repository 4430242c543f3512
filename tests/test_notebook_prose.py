"""The notebooks as a course: no hand-typed number in prose, and every lesson opens with its learning
goals and prerequisites and closes with takeaways and exercises (solutions in notebooks/solutions)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ecgkd_lite.suite import SOURCE_DIR, hand_typed_numbers, parse_percent

SOURCES = sorted(SOURCE_DIR.glob("[0-9][0-9]_*.py"))
SOLUTIONS_DIR = SOURCE_DIR.parent / "solutions"
#: notebooks (by number, e.g. "07") whose prose another change is still converting: their cases are
#: marked xfail(strict=False) until it lands. Empty: every source passed when this file was written.
PENDING: set[str] = set()
HEADINGS = ("Learning goals", "Prerequisites", "Takeaways", "Exercises")


def _params(pending: set[str]) -> list:
    return [
        pytest.param(
            path,
            id=path.stem,
            marks=[pytest.mark.xfail(reason="converted by another change", strict=False)]
            if path.name[:2] in pending
            else [],
        )
        for path in SOURCES
    ]


def _markdown(path: Path) -> list[str]:
    return [cell.source for cell in parse_percent(path.read_text()) if cell.cell_type == "markdown"]


def _heading_cell(cells: list[str], title: str) -> int | None:
    """Index of the first Markdown cell with ``title`` as a heading (``## Takeaways``) or as a bold
    lead-in at the start of a line (``**Takeaways.**``)."""
    pattern = re.compile(rf"^(#+\s*|\*\*){re.escape(title)}\b", re.M | re.I)
    return next((i for i, body in enumerate(cells) if pattern.search(body)), None)


def test_every_notebook_source_is_listed():
    assert len(SOURCES) >= 15
    assert [p.name[:2] for p in SOURCES] == sorted({p.name[:2] for p in SOURCES})


@pytest.mark.parametrize("path", _params(PENDING))
def test_no_hand_typed_numbers(path):
    assert hand_typed_numbers(path) == []


@pytest.mark.parametrize("path", _params(PENDING))
def test_course_headings(path):
    cells = _markdown(path)
    where = {title: _heading_cell(cells, title) for title in HEADINGS}
    assert all(i is not None for i in where.values()), f"missing headings: {[t for t, i in where.items() if i is None]}"
    assert where["Learning goals"] <= where["Prerequisites"] < where["Takeaways"] <= where["Exercises"]
    assert where["Learning goals"] <= 1, "the learning goals come right after the title"


@pytest.mark.parametrize("path", _params(PENDING))
def test_exercises_have_solutions(path):
    assert list(SOLUTIONS_DIR.glob(f"{path.stem}.md")), f"no notebooks/solutions/{path.stem}.md"
