"""PTB-XL reader (Wagner et al. 2020, PhysioNet release layout).

Labels follow the PTB-XL benchmark (Strodthoff et al. 2021, "Deep learning for ECG analysis:
benchmarks and insights from PTB-XL", code: helme/ecg_ptbxl_benchmarking): every key of a record's
``scp_codes`` counts, whatever its likelihood, and is aggregated through ``scp_statements.csv``:

* ``superdiagnostic``: ``diagnostic_class`` of the diagnostic statements, classes in the fixed
  order NORM, MI, STTC, CD, HYP;
* ``subdiagnostic``: ``diagnostic_subclass`` of the diagnostic statements;
* ``diagnostic`` / ``form`` / ``rhythm``: the statements flagged 1 in that column;
* ``all``: every statement.

Except for superdiagnostic the classes are the labels present, sorted alphabetically (as the
benchmark's ``MultiLabelBinarizer``). Folds are ``strat_fold`` (1-8 train, 9 val, 10 test).

Checks (besides those of :mod:`ecgkd_lite.data.wfdb_io`: exact ``.dat`` size, invalid-sample
marker, limb-lead relations): every database row needs ``patient_id``, ``scp_codes``, an integer
``strat_fold`` in 1-10 and both file names (``records100/NNNNN/NNNNN_lr``,
``records500/NNNNN/NNNNN_hr``); a row that lacks one (e.g. a truncated last line) or an unreadable
csv raises RecordError naming the ecg_id (or the file).
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, MissingFileError, RecordError, SamplingRateError, UnknownLabelError
from ..progress import progress
from .cache import cached
from .container import ECGData
from .download import read_sha256sums, verify_tree
from .leads import LEADS12
from .wfdb_io import digital_to_mv, leads12_order, parse_header, read_format16, screen_records

log = logging.getLogger(__name__)

TASKS = ("superdiagnostic", "subdiagnostic", "diagnostic", "form", "rhythm", "all")
SUPERDIAGNOSTIC = ("NORM", "MI", "STTC", "CD", "HYP")
FILENAME_COLUMN = {100: "filename_lr", 500: "filename_hr"}
RECORD_SECONDS = 10  # every PTB-XL record is 10 s long
DATABASE, STATEMENTS, SUMS = "ptbxl_database.csv", "scp_statements.csv", "SHA256SUMS.txt"
#: database columns the reader uses, and those every row must fill
REQUIRED_COLUMNS = ("patient_id", "age", "sex", "scp_codes", "strat_fold", "filename_lr", "filename_hr")
REQUIRED_FIELDS = ("patient_id", "scp_codes", "strat_fold", "filename_lr", "filename_hr")


def load_ptbxl(
    root: str | Path,
    fs: int = 100,
    task: str = "superdiagnostic",
    *,
    verify: bool = False,
    cache: bool = True,
    on_bad: str = "raise",
    drop_unlabeled: bool = True,
    check_lead_relations: bool = True,
) -> ECGData:
    """Read PTB-XL below ``root`` at ``fs`` (100 -> ``records100/``, 500 -> ``records500/``).

    ``verify`` checks the csvs and every record file read against ``root/SHA256SUMS.txt``;
    ``on_bad`` ("raise" | "drop") handles records with NaN/inf samples (WFDB's invalid-sample marker
    is read as NaN), a flat lead or, with ``check_lead_relations``, limb leads that violate
    Einthoven's and Goldberger's relations (swapped lead names; see
    :func:`ecgkd_lite.data.wfdb_io.screen_records`); ``drop_unlabeled`` drops records without a
    label for ``task`` (count logged and kept in ``preprocessing``). Parsed data are cached
    (:mod:`ecgkd_lite.data.cache`) unless ``cache=False``.
    """
    if fs not in FILENAME_COLUMN:
        raise ConfigError(f"fs={fs!r}: PTB-XL is released at {sorted(FILENAME_COLUMN)} Hz only")
    if task not in TASKS:
        raise ConfigError(f"task={task!r} is unknown; choose one of {list(TASKS)}")
    if on_bad not in ("raise", "drop"):
        raise ConfigError(f"on_bad must be 'raise' or 'drop'; got {on_bad!r}")
    root = Path(root)
    if not root.is_dir():
        raise MissingFileError(str(root), "PTB-XL root folder does not exist")
    db = read_database(root)
    record_files = [f"{name}{ext}" for name in db[FILENAME_COLUMN[fs]] for ext in (".hea", ".dat")]
    if verify:
        n = verify_tree(root, read_sha256sums(root / SUMS), [DATABASE, STATEMENTS, *record_files], progress=True)
        log.info("ptbxl: %d files match %s", n, SUMS)
    params = dict(
        fs=fs, task=task, on_bad=on_bad, drop_unlabeled=drop_unlabeled, check_lead_relations=bool(check_lead_relations)
    )
    files = [root / DATABASE, root / STATEMENTS, *(root / f for f in record_files)]
    return cached(
        "ptbxl",
        root,
        params,
        files,
        lambda: _parse(root, db, fs, task, on_bad, drop_unlabeled, bool(check_lead_relations)),
        enabled=cache,
    )


def read_database(root: Path) -> pd.DataFrame:
    """``ptbxl_database.csv`` indexed by ``ecg_id`` with ``scp_codes`` parsed to dicts and
    ``strat_fold`` as int; RecordError naming the ecg_id for a row that lacks a required field or
    has a fold outside 1-10, or naming the file if it cannot be parsed."""
    path = root / DATABASE
    if not path.exists():
        raise MissingFileError(str(path), f"{DATABASE} does not exist")
    try:
        db = pd.read_csv(path, index_col="ecg_id")
    except (ValueError, pd.errors.ParserError) as exc:  # a cut quoted field, no ecg_id column, ...
        raise RecordError(str(path), f"cannot be read as the PTB-XL database: {exc}") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in db.columns]
    if missing:
        raise RecordError(str(path), f"lacks the columns {missing}")
    empty = db[list(REQUIRED_FIELDS)].isna()  # pandas reads an empty field as NaN
    if empty.to_numpy().any():
        ecg_id = empty.index[empty.any(axis=1)][0]
        lacks = [c for c in REQUIRED_FIELDS if empty.at[ecg_id, c]]
        raise RecordError(str(ecg_id), f"the {DATABASE} row lacks {lacks} (a truncated row?)")
    for fs, column in FILENAME_COLUMN.items():
        suffix = column.removeprefix("filename_")
        wrong = ~db[column].astype(str).str.fullmatch(rf"records{fs}/\d+/\d+_{suffix}")
        if wrong.any():
            ecg_id = wrong.index[wrong][0]
            raise RecordError(
                str(ecg_id),
                f"{column} {db.at[ecg_id, column]!r} in {DATABASE} is not a "
                f"records{fs}/NNNNN/NNNNN_{suffix} path (a truncated row?)",
            )
    db["strat_fold"] = [_fold(str(i), v) for i, v in zip(db.index, db["strat_fold"])]
    db["scp_codes"] = [_parse_codes(str(i), text) for i, text in zip(db.index, db["scp_codes"])]
    return db


def _fold(record: str, value) -> int:
    try:
        fold = float(value)
    except (TypeError, ValueError):
        fold = float("nan")
    if not (fold.is_integer() and 1 <= fold <= 10):
        raise RecordError(record, f"strat_fold {value!r} in {DATABASE} is not a fold number 1-10")
    return int(fold)


def read_statements(root: Path) -> pd.DataFrame:
    path = root / STATEMENTS
    if not path.exists():
        raise MissingFileError(str(path), f"{STATEMENTS} does not exist")
    return pd.read_csv(path, index_col=0)


def _parse_codes(record: str, text: str) -> dict:
    try:
        codes = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        codes = None
    if not isinstance(codes, dict):
        raise RecordError(record, f"scp_codes {text!r} is not a dict literal")
    return codes


def task_labels(codes: dict, statements: pd.DataFrame, task: str) -> set[str]:
    """The labels of one record for ``task`` (see the module docstring)."""
    if task == "all":
        return set(codes)
    if task in ("form", "rhythm", "diagnostic"):
        return {c for c in codes if statements.at[c, task] == 1}
    column = "diagnostic_class" if task == "superdiagnostic" else "diagnostic_subclass"
    return {
        statements.at[c, column]
        for c in codes
        if statements.at[c, "diagnostic"] == 1 and pd.notna(statements.at[c, column])
    }


def read_record(base: Path, record: str, fs: int) -> np.ndarray:
    """``(12, 10 * fs)`` float32 mV of one record (``base`` is the path without extension)."""
    header = parse_header(base.with_name(base.name + ".hea"), record)
    if header.fs != fs:
        raise SamplingRateError(record, f"header says {header.fs:g} Hz; records{fs}/ must hold {fs} Hz")
    order = leads12_order(record, header.lead_names)
    if header.n_samples != RECORD_SECONDS * fs:
        raise RecordError(
            record, f"header says {header.n_samples} samples; PTB-XL records have {RECORD_SECONDS * fs} at {fs} Hz"
        )
    digital = read_format16(base.with_name(base.name + ".dat"), header)
    return digital_to_mv(digital, header)[order]


def _parse(
    root: Path,
    db: pd.DataFrame,
    fs: int,
    task: str,
    on_bad: str,
    drop_unlabeled: bool,
    check_lead_relations: bool = True,
) -> ECGData:
    statements = read_statements(root)
    for ecg_id, codes in db["scp_codes"].items():
        unknown = [c for c in codes if c not in statements.index]
        if unknown:
            raise UnknownLabelError(str(ecg_id), f"scp code {unknown[0]!r} is not in {STATEMENTS}")
    labels = [task_labels(codes, statements, task) for codes in db["scp_codes"]]
    steps = [
        {
            "step": "read_ptbxl",
            "fs": fs,
            "task": task,
            "label_rule": "every scp_codes key, any likelihood (Strodthoff et al. 2021 benchmark)",
        }
    ]
    unlabeled = [str(i) for i, lab in zip(db.index, labels) if not lab]
    if drop_unlabeled and unlabeled:
        log.info("ptbxl: dropped %d of %d records without a %s label", len(unlabeled), len(db), task)
        steps.append({"step": "drop_unlabeled", "task": task, "dropped": len(unlabeled), "records": unlabeled})
        keep = [bool(lab) for lab in labels]
        db, labels = db[keep], [lab for lab in labels if lab]
    present = set().union(*labels)
    classes = [c for c in SUPERDIAGNOSTIC if c in present] if task == "superdiagnostic" else sorted(present)
    column = {c: k for k, c in enumerate(classes)}
    y = np.zeros((len(db), len(classes)), dtype=np.float32)
    for i, lab in enumerate(labels):
        y[i, [column[c] for c in lab]] = 1
    names = db[FILENAME_COLUMN[fs]]
    signals = np.stack(
        [
            read_record(root / name, str(ecg_id), fs)
            for ecg_id, name in progress(names.items(), total=len(names), desc=f"PTB-XL {fs} Hz", unit="rec")
        ]
    )
    meta = pd.DataFrame(
        {
            "patient_id": db["patient_id"].to_numpy(),
            "age": db["age"].to_numpy(),
            "sex": db["sex"].to_numpy(),
            "filename_lr": db["filename_lr"].to_numpy(),
            "filename_hr": db["filename_hr"].to_numpy(),
        }
    )
    data = ECGData(
        signals=signals,
        labels=y,
        classes=tuple(classes),
        fs=float(fs),
        folds=db["strat_fold"].to_numpy(),
        record_ids=db.index.astype(str).to_numpy(),
        leads=LEADS12,
        snomed=None,
        meta=meta,
        preprocessing=steps,
        source="ptbxl",
    )
    return screen_records(data, on_bad, reader="load_ptbxl", check_lead_relations=check_lead_relations)
