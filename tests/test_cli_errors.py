"""The ``ecgkd`` command on bad input: one line on stderr and exit code 2 for the package's own
errors (``--debug`` shows the traceback), arguments checked before any work."""

from __future__ import annotations

import shutil

import pytest
from scipy import io as sio

from ecgkd_lite import experiment
from ecgkd_lite.cli import main
from ecgkd_lite.errors import ConfigError


def _run(capsys, *argv):
    rc = main(list(argv))
    err = capsys.readouterr().err
    return rc, err


def _one_line(err: str) -> str:
    assert err.endswith("\n") and err.count("\n") == 1 and "Traceback" not in err
    return err


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if the benchmark gets as far as preparing data for training."""

    def refuse(*args, **kwargs):
        raise AssertionError("work started before the arguments were checked")

    monkeypatch.setattr(experiment, "prepare", refuse)
    monkeypatch.setattr(experiment, "train_teacher", refuse)


def test_data_summary_without_root_is_one_line_exit_2(capsys):
    rc, err = _run(capsys, "data", "summary", "--source", "ptbxl")
    assert rc == 2
    assert _one_line(err) == (
        "ecgkd: ConfigError: --source ptbxl needs --root DIR (the folder of the ptbxl data) "
        "(--debug shows the traceback)\n"
    )


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback(capsys, where):
    argv = ["data", "summary", "--source", "challenge"]
    argv = ["--debug", *argv] if where == "before" else [*argv, "--debug"]
    with pytest.raises(ConfigError, match="--source challenge needs --root"):
        main(argv)


@pytest.mark.parametrize(
    "argv",
    [["data", "summary", "--seed", "-1"], ["export", "some_run", "--format", "onnx", "--out", "x", "--seed", "-3"]],
)
def test_negative_seed_is_refused_by_name(capsys, argv):
    rc, err = _run(capsys, *argv)
    assert rc == 2 and "ConfigError: --seed must be an integer >= 0; got -" in _one_line(err)


@pytest.mark.parametrize(
    "argv,option",
    [
        (["bench", "quality", "--seeds", "0"], "--seeds"),
        (["data", "summary", "--n", "0"], "--n"),
        (["export", "some_run", "--format", "onnx", "--out", "x", "--n-records", "0"], "--n-records"),
        (["export", "some_run", "--format", "onnx", "--out", "x", "--n-boot", "0"], "--n-boot"),
    ],
)
def test_zero_counts_are_refused_by_name_before_any_work(capsys, argv, option):
    rc, err = _run(capsys, *argv)
    assert rc == 2 and f"ConfigError: {option} must be an integer >= 1; got 0" in _one_line(err)


def test_reader_stop_says_how_many_more_and_how_to_skip(capsys, challenge_root, tmp_path):
    root = tmp_path / "cinc"
    root.mkdir()
    for name in ("Q0001", "E00009", "HR00599"):
        for ext in (".hea", ".mat"):
            shutil.copy(challenge_root / f"{name}{ext}", root / f"{name}{ext}")
    for name in ("E00009", "HR00599"):
        val = sio.loadmat(root / f"{name}.mat")["val"]
        val[3] = 0  # aVR flat
        sio.savemat(root / f"{name}.mat", {"val": val})
    rc, err = _run(capsys, "data", "summary", "--source", "challenge", "--root", str(root))
    assert rc == 2
    assert _one_line(err).startswith(
        "ecgkd: BadSignalError: E00009: lead aVR is flat (constant signal); 1 more of the "
        "3 records would be refused as well; load_challenge(..., on_bad='drop') skips"
    )


@pytest.mark.parametrize(
    "argv,pattern",
    [
        (["--methods", ","], "ConfigError: methods ',' holds an empty method name"),
        (["--methods", "dkd,"], "ConfigError: methods 'dkd,' holds an empty method name"),
        (["--eval-data", "ptbxl"], "ConfigError: --eval-data ptbxl needs --eval-root DIR"),
        (["--data", "ptbxl"], "ConfigError: --data ptbxl needs --root DIR"),
        (
            ["--profile", "converged", "--data", "ptbxl", "--root", "x"],
            "ConfigError: --profile converged is the synthetic converged benchmark",
        ),
        (
            ["--hetero-teacher", "printout"],
            "ConfigError: --shard, --every-seed, --report-only, --hetero-teacher and --generator belong",
        ),
        (
            ["--profile", "converged", "--teacher", "resnet1d/small"],
            "runs with its own profile and the default teacher",
        ),
        (
            ["--generator", "v2"],
            "ConfigError: --shard, --every-seed, --report-only, --hetero-teacher and --generator belong",
        ),
        (
            ["--profile", "converged", "--generator", "v2", "--hetero-teacher", "printout"],
            "ConfigError: --generator v2 runs the converged synthetic benchmark on generator v2 data",
        ),
        (
            ["--shard", "0/2"],
            "ConfigError: --shard, --every-seed, --report-only, --hetero-teacher and --generator belong to the converged benchmark",
        ),
    ],
)
def test_bench_quality_checks_arguments_before_training(capsys, no_training, argv, pattern):
    rc, err = _run(capsys, "bench", "quality", *argv)
    assert rc == 2 and pattern in _one_line(err)


def test_bench_quality_reads_the_external_set_before_training(capsys, no_training, tmp_path):
    rc, err = _run(capsys, "bench", "quality", "--eval-data", "ptbxl", "--eval-root", str(tmp_path / "nowhere"))
    assert rc == 2 and "MissingFileError: " in _one_line(err) and "PTB-XL root folder does not exist" in err
    from ecgkd_lite.bench import run_quality

    with pytest.raises(ConfigError, match="eval_root='x' is given without eval_data"):
        run_quality(eval_root="x", log=lambda *a: None)


def test_bench_quality_tuned_on_v2_names_the_missing_v2_search(capsys, no_training, tmp_path, monkeypatch):
    """``--tuned --generator v2`` reads v2's own searches (``tune_<m>_converged_v2.json``), never the
    v1 split's: without them it stops before training and names the command that makes them."""
    from ecgkd_lite.bench import tune as tune_mod

    monkeypatch.setattr(tune_mod, "RESULTS", tmp_path)
    argv = ["--profile", "converged", "--generator", "v2", "--tuned", "--methods", "fitnets"]
    rc, err = _run(capsys, "bench", "quality", *argv)
    assert rc == 2
    assert "fitnets: no tuning result" in err and "tune_fitnets_converged_v2.json" in err
    assert "`ecgkd bench tune --methods fitnets --profile converged --generator v2`" in _one_line(err)


@pytest.mark.parametrize(
    "argv,pattern",
    [
        (["--methods", "fitnets,rkd", "--points", "1"], "--points names grid points of one method; --methods gives 2"),
        (["--methods", "fitnets", "--points", "a,b"], "--points must be comma-separated grid indices"),
        (["--methods", "fitnets", "--points", "7"], "points must be grid indices 0..5; got [7]"),
    ],
)
def test_bench_tune_checks_its_points(capsys, no_training, argv, pattern):
    rc, err = _run(capsys, "bench", "tune", *argv)
    assert rc == 2 and pattern in _one_line(err)


def test_bench_tune_generator_v2_needs_the_converged_split(capsys, no_training):
    rc, err = _run(capsys, "bench", "tune", "--methods", "fitnets", "--generator", "v2")
    assert rc == 2 and "--generator v2 tunes on the converged split: it needs --profile converged" in _one_line(err)


def test_bench_tune_converged_checks_its_data_before_training(capsys, no_training):
    """The converged search runs on the synthetic benchmark's own split only: --data ptbxl is named."""
    rc, err = _run(
        capsys, "bench", "tune", "--methods", "fitnets", "--profile", "converged", "--data", "ptbxl", "--root", "x"
    )
    assert rc != 0
    assert "--profile converged tunes on the synthetic benchmark's split; --data ptbxl does not apply" in _one_line(err)
