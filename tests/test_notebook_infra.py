"""The notebook helpers: standard first cell, progress switch, percent-format notebook sources."""

import numpy as np
import pytest
import torch

from ecgkd_lite.errors import ConfigError
from ecgkd_lite.notebook import setup_notebook
from ecgkd_lite.progress import progress, progress_enabled
from ecgkd_lite.suite import parse_percent, select_notebooks


def test_setup_seeds_and_fixes_threads(monkeypatch, tmp_path):
    monkeypatch.setenv("ECGKD_REPORTS", str(tmp_path))
    before = torch.get_num_threads()
    try:
        ctx = setup_notebook(seed=7, threads=1)
        a = (np.random.rand(), torch.rand(1).item())
        setup_notebook(seed=7, threads=1)
        b = (np.random.rand(), torch.rand(1).item())
        assert a == b and torch.get_num_threads() == 1
        assert ctx.profile.name == "quick" and (tmp_path / "figures").is_dir()
        import matplotlib

        assert matplotlib.rcParams["axes.axisbelow"] is True  # the grid under bars and heatmap cells
    finally:
        torch.set_num_threads(before)
        torch.use_deterministic_algorithms(False)


def test_setup_rejects_unknown_profile():
    with pytest.raises(ConfigError, match="profile='huge' is unknown"):
        setup_notebook(profile="huge")


def test_setup_chooses_the_synthetic_generator(monkeypatch):
    monkeypatch.delenv("ECGKD_GENERATOR", raising=False)
    assert setup_notebook(threads=1).source == "synthetic_v2"  # the default: generator v2
    monkeypatch.setenv("ECGKD_GENERATOR", "v1")
    assert setup_notebook(threads=1).source == "synthetic"
    assert setup_notebook(threads=1, generator="v2").source == "synthetic_v2"  # an argument wins
    monkeypatch.setenv("ECGKD_GENERATOR", "v3")
    with pytest.raises(ConfigError, match="generator='v3' is unknown"):
        setup_notebook(threads=1)


def test_progress_switch(monkeypatch):
    monkeypatch.setenv("ECGKD_PROGRESS", "0")
    assert not progress_enabled() and progress(range(3)).disable
    monkeypatch.setenv("ECGKD_PROGRESS", "1")
    assert progress_enabled() and not progress(range(3)).disable
    assert progress(range(3), enabled=False).disable


def test_parse_percent_cells():
    cells = parse_percent("# %% [markdown]\n# # Title\n# text\n\n# %%\nx = 1\n\n# %%\n\n# %%\nprint(x)\n")
    assert [c.cell_type for c in cells] == ["markdown", "code", "code"]  # the empty code cell is dropped
    assert cells[0].source == "# Title\ntext" and cells[1].source == "x = 1" and cells[2].source == "print(x)"


def test_notebooks_are_numbered_in_order_and_built_from_sources():
    from ecgkd_lite.suite import NOTEBOOK_DIR, SOURCE_DIR

    names = [p.name for p in select_notebooks()]
    assert names == sorted(names) and names[0] == "00_overview.ipynb"
    sources = {p.stem for p in SOURCE_DIR.glob("[0-9][0-9]_*.py")}
    assert {p.stem for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb")} == sources
    with pytest.raises(ConfigError, match="no notebook matches"):
        select_notebooks(["99"])


def test_stored_notebooks_write_nothing_to_stderr_and_run_every_code_cell():
    """nbval would compare a stderr stream, whose text (warnings, progress) differs between machines."""
    import nbformat

    for path in select_notebooks():
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            assert cell.get("execution_count") is not None, f"{path.name} cell {i} was not executed"
            streams = [o for o in cell.outputs if o.get("output_type") == "stream" and o.get("name") == "stderr"]
            assert not streams, f"{path.name} cell {i} writes to stderr: {streams[0].get('text', '')[:200]!r}"
            errors = [o for o in cell.outputs if o.get("output_type") == "error"]
            assert not errors, f"{path.name} cell {i} stored an error: {errors[0].get('ename')}"


def test_run_summary_names_what_trained(tmp_path):
    from ecgkd_lite.suite import run_summary

    log = tmp_path / "runs.log"
    log.write_text("teacher-a shipped\nstudent-b trained\nteacher-a cached\nstudent-c cached\n")
    lines = run_summary(log)
    assert lines[0].startswith("models: 3 runs; 1 loaded from pretrained/, 1 from the local cache, 1 trained")
    assert lines[1:] == ["trained: student-b"]
