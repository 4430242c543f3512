"""Reader of the ``ptbxl-2k`` release: 1,819 PTB-XL records, band-passed and z-scored, 250 Hz, with
the PhysioNet/CinC Challenge 2021 scored labels (its ``README.md`` says how it was made).

Files below ``root``: ``ptbxl_2k.npz`` (``signals`` int16 (N, 12, 2500), ``scale``, ``fs``,
``ecg_id``, ``source_split``, ``leads``), ``labels.csv`` (``ecg_id``, ``labeled``, one 0/1 column per
class, ``codes``), ``classes.csv`` (``abbreviation``, ``snomed_codes``, ...), ``SHA256SUMS.txt``.

Rules (each recorded in ``data.preprocessing``):

* **signals**: ``float32(signals) * scale``; ``unit="z"`` (z-scored per record and lead by the
  source: amplitudes in mV are not recoverable, so every check that needs mV refuses this set);
  leads reordered to I, II, III, aVR, aVL, aVF, V1-V6 by the ``leads`` array; ``fs`` must be 250.
* **folds**: the release keeps PTB-XL's split (``strat_fold`` 1-8 / 9 / 10) as ``source_split``
  but not the fold number, so ``train`` -> fold 1, ``val`` -> 9, ``test`` -> 10 (``split()`` works;
  there are no finer training folds: do not treat folds 2-8 as missing records).
* **labeled and unlabeled records**: 14 records are in no scored class (``labeled == 0``; their
  labels are presumably unscored classes only). ``unlabeled="exclude"`` (default) returns the
  1,805 labeled records; ``unlabeled="only"`` returns the 14 unlabeled ones with **no classes**
  (``labels`` of shape (N, 0)), so they cannot be mistaken for all-negative records or be
  concatenated into a labeled split. There is deliberately no mode mixing both.
* **classes**: the class columns of ``labels.csv`` in its order; a class is kept when it has at
  least ``min_positives`` positives among the labeled records (all splits together). The others
  are listed with their counts in the ``drop_rare_classes`` step and logged; a record whose only
  positives are dropped classes stays, as a negative for every kept class (the Challenge's
  labels are complete for its scored classes), and is listed there too.
* **label checks**: every column must be a ``classes.csv`` abbreviation and every code in
  ``codes`` one of its SNOMED codes (else UnknownLabelError); the 0/1 columns must agree with the
  codes and with ``labeled`` (else RecordError).
* **snomed**: ``classes.csv``'s ``snomed_codes`` (equivalent codes joined by ``|``, e.g. CLBBB
  ``733534002|164909002``).
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..checks import check_int
from ..errors import (
    ConfigError,
    DataError,
    LeadMismatchError,
    MissingFileError,
    RecordError,
    SamplingRateError,
    TruncatedSignalError,
    UnknownLabelError,
)
from .cache import cached
from .container import ECGData
from .download import read_sha256sums, verify_tree
from .leads import LEADS12
from .wfdb_io import leads12_order, screen_records

log = logging.getLogger(__name__)

NPZ, LABELS, CLASSES, SUMS = "ptbxl_2k.npz", "labels.csv", "classes.csv", "SHA256SUMS.txt"
FILES = (NPZ, LABELS, CLASSES)
FS = 250
SECONDS = 10
NPZ_ARRAYS = ("signals", "scale", "fs", "ecg_id", "source_split", "leads")
#: ``source_split`` -> fold (PTB-XL convention: 1-8 train, 9 validation, 10 test)
SPLIT_FOLD = {"train": 1, "val": 9, "test": 10}
UNLABELED_MODES = ("exclude", "only")


def load_ptbxl_2k(
    root: str | Path,
    *,
    unlabeled: str = "exclude",
    min_positives: int = 10,
    verify: bool = False,
    cache: bool = True,
    on_bad: str = "raise",
) -> ECGData:
    """Read the ptbxl-2k release below ``root`` (see the module docstring for every rule).

    ``unlabeled``: ``"exclude"`` (the labeled records only) or ``"only"`` (the unlabeled records,
    without classes); ``min_positives``: the fewest positives a class needs to be kept;
    ``verify``: check the three data files against ``root/SHA256SUMS.txt`` first; ``on_bad``
    (``"raise"`` | ``"drop"``): records with NaN or flat leads. Parsed data are cached
    (:mod:`ecgkd_lite.data.cache`) unless ``cache=False``.
    """
    if unlabeled not in UNLABELED_MODES:
        raise ConfigError(
            f"unlabeled={unlabeled!r}: choose one of {list(UNLABELED_MODES)} (labeled and unlabeled "
            "records are never mixed in one container)"
        )
    min_positives = check_int("min_positives", min_positives, low=1)
    if on_bad not in ("raise", "drop"):
        raise ConfigError(f"on_bad must be 'raise' or 'drop'; got {on_bad!r}")
    root = Path(root)
    if not root.is_dir():
        raise MissingFileError(str(root), "ptbxl-2k root folder does not exist")
    for name in FILES:
        if not (root / name).exists():
            raise MissingFileError(name, f"does not exist below {root}")
    if verify:
        n = verify_tree(root, read_sha256sums(root / SUMS), FILES)
        log.info("ptbxl-2k: %d files match %s", n, SUMS)
    params = dict(
        unlabeled=unlabeled, min_positives=int(min_positives) if unlabeled == "exclude" else None, on_bad=on_bad
    )
    return cached(
        "ptbxl_2k",
        root,
        params,
        [root / f for f in FILES],
        lambda: _parse(root, unlabeled, int(min_positives), on_bad),
        enabled=cache,
    )


# ------------------------------------------------------------------------------------ files
def read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of ``ptbxl_2k.npz``, checked for presence, shapes and types; RecordError
    (truncated or not an npz, an array missing or malformed), LeadMismatchError (lead count or
    names), TruncatedSignalError (fewer than 10 s of samples), SamplingRateError (not 250 Hz)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in NPZ_ARRAYS if k not in z.files]
            if missing:
                raise RecordError(NPZ, f"lacks the array(s) {missing} (has {sorted(z.files)})")
            arrays = {k: z[k] for k in NPZ_ARRAYS}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise RecordError(
            NPZ, f"cannot be read as an npz (truncated or damaged?): {type(exc).__name__}: {exc}"
        ) from None
    sig, fs = arrays["signals"], float(arrays["fs"])
    if sig.ndim != 3:
        raise RecordError(NPZ, f"signals must be (records, leads, samples); got shape {sig.shape}")
    if not np.issubdtype(sig.dtype, np.integer):
        raise RecordError(NPZ, f"signals must be integers (z * 1000); got dtype {sig.dtype}")
    if sig.shape[1] != len(LEADS12) or arrays["leads"].shape != (sig.shape[1],):
        raise LeadMismatchError(
            NPZ,
            f"signals have {sig.shape[1]} leads and 'leads' names "
            f"{arrays['leads'].tolist()}; the 12 standard leads are expected",
        )
    if fs != FS:
        raise SamplingRateError(NPZ, f"fs is {fs:g} Hz; the ptbxl-2k release is {FS} Hz")
    if sig.shape[2] != SECONDS * FS:
        cls = TruncatedSignalError if sig.shape[2] < SECONDS * FS else RecordError
        raise cls(NPZ, f"signals hold {sig.shape[2]} samples per lead; {SECONDS} s at {FS} Hz is {SECONDS * FS}")
    scale = float(arrays["scale"])
    if not np.isfinite(scale) or scale <= 0:
        raise RecordError(NPZ, f"scale must be a positive number; got {scale!r}")
    ids = arrays["ecg_id"]
    if ids.shape != (sig.shape[0],) or arrays["source_split"].shape != (sig.shape[0],):
        raise RecordError(
            NPZ,
            f"ecg_id {ids.shape} and source_split {arrays['source_split'].shape} must both be "
            f"({sig.shape[0]},), one per record",
        )
    if len(np.unique(ids)) != len(ids):
        raise RecordError(NPZ, "ecg_id holds duplicates")
    bad = sorted(set(arrays["source_split"].tolist()) - set(SPLIT_FOLD))
    if bad:
        raise RecordError(NPZ, f"source_split values {bad} are not one of {list(SPLIT_FOLD)}")
    return arrays


def read_classes(root: Path) -> pd.DataFrame:
    """``classes.csv`` indexed by abbreviation; RecordError if a column is missing."""
    table = pd.read_csv(root / CLASSES, dtype=str, keep_default_na=False)
    missing = {"abbreviation", "snomed_codes"} - set(table.columns)
    if missing:
        raise RecordError(CLASSES, f"lacks the column(s) {sorted(missing)}")
    return table.set_index("abbreviation", drop=False)


def read_labels(root: Path, classes: pd.DataFrame) -> pd.DataFrame:
    """``labels.csv`` indexed by ``ecg_id``, checked against ``classes.csv`` (see the module docstring)."""
    table = pd.read_csv(root / LABELS, dtype={"codes": str}, keep_default_na=False)
    missing = {"ecg_id", "labeled", "codes"} - set(table.columns)
    if missing:
        raise RecordError(LABELS, f"lacks the column(s) {sorted(missing)}")
    columns = [c for c in table.columns if c not in ("ecg_id", "labeled", "codes")]
    unknown = [c for c in columns if c not in classes.index]
    if unknown:
        raise UnknownLabelError(LABELS, f"class column(s) {unknown} are not in {CLASSES}")
    values = table[columns + ["labeled"]]
    if not values.isin([0, 1]).all().all():
        raise RecordError(LABELS, "label and 'labeled' columns must hold 0 or 1 only")
    if table["ecg_id"].duplicated().any():
        raise RecordError(LABELS, f"ecg_id {table['ecg_id'][table['ecg_id'].duplicated()].iloc[0]} appears twice")
    code_class = {code: abbr for abbr, codes in classes["snomed_codes"].items() for code in codes.split("|")}
    for row in table.itertuples(index=False):
        rec = f"ecg_id {row.ecg_id}"
        codes = row.codes.split()
        unknown = [c for c in codes if c not in code_class]
        if unknown:
            raise UnknownLabelError(rec, f"SNOMED code(s) {unknown} in {LABELS} are not in {CLASSES}")
        named = {code_class[c] for c in codes}
        marked = {c for c in columns if getattr(row, c) == 1}
        if named != marked:
            raise RecordError(
                rec, f"{LABELS}: the codes name {sorted(named)} but the 0/1 columns mark {sorted(marked)}"
            )
        if bool(marked) != bool(row.labeled):
            raise RecordError(rec, f"{LABELS}: labeled={row.labeled} but {len(marked)} class(es) are marked")
    return table.set_index("ecg_id")


# ------------------------------------------------------------------------------------ parse
def _parse(root: Path, unlabeled: str, min_positives: int, on_bad: str) -> ECGData:
    arrays = read_npz(root / NPZ)
    classes = read_classes(root)
    labels = read_labels(root, classes)
    ids = arrays["ecg_id"].astype(np.int64)
    absent, extra = sorted(set(ids.tolist()) - set(labels.index)), sorted(set(labels.index) - set(ids.tolist()))
    if absent or extra:
        raise RecordError(
            LABELS,
            f"ecg_ids differ from {NPZ}: {len(absent)} record(s) without a label row "
            f"{absent[:5]}, {len(extra)} label row(s) without a record {extra[:5]}",
        )
    labels = labels.loc[ids]
    order = leads12_order(NPZ, arrays["leads"].tolist())
    labeled = labels["labeled"].to_numpy(bool)
    keep = labeled if unlabeled == "exclude" else ~labeled
    columns = [c for c in labels.columns if c not in ("labeled", "codes")]
    steps = [
        {
            "step": "read_ptbxl_2k",
            "fs": FS,
            "unit": "z",
            "scale": float(arrays["scale"]),
            "records": "labeled" if unlabeled == "exclude" else "unlabeled",
            "folds": {split: fold for split, fold in SPLIT_FOLD.items()},
        }
    ]
    left_out = [str(i) for i in ids[~keep]]
    steps.append(
        {
            "step": "exclude_unlabeled" if unlabeled == "exclude" else "exclude_labeled",
            "dropped": len(left_out),
            "records": left_out if unlabeled == "exclude" else [],
        }
    )
    log.info(
        "ptbxl-2k: %s %d %s records",
        "left out" if unlabeled == "exclude" else "kept",
        int((~labeled).sum()),
        "unlabeled",
    )
    if unlabeled == "exclude":
        y_all = labels[columns].to_numpy(np.float32)[keep]
        positives = {c: int(n) for c, n in zip(columns, y_all.sum(0))}
        kept = [c for c in columns if positives[c] >= min_positives]
        dropped = {c: positives[c] for c in columns if c not in kept}
        if not kept:
            raise DataError(
                f"no class has min_positives={min_positives} positives among the {int(keep.sum())} labeled "
                f"records (the most: {max(positives.values(), default=0)})"
            )
        y = y_all[:, [columns.index(c) for c in kept]]
        orphans = [str(i) for i in ids[keep][(y.sum(1) == 0) & (y_all.sum(1) > 0)]]
        steps.append(
            {
                "step": "drop_rare_classes",
                "min_positives": min_positives,
                "dropped": dropped,
                "records_without_kept_positive": orphans,
            }
        )
        if dropped:
            log.warning(
                "ptbxl-2k: %d class(es) with fewer than %d positives left out: %s; %d record(s) now "
                "negative for every kept class: %s%s",
                len(dropped),
                min_positives,
                dropped,
                len(orphans),
                orphans[:10],
                " ..." if len(orphans) > 10 else "",
            )
        snomed = tuple(classes.at[c, "snomed_codes"] for c in kept)
    else:
        kept, y, snomed = [], np.zeros((int(keep.sum()), 0), dtype=np.float32), ()
    signals = arrays["signals"][keep][:, order].astype(np.float32) * np.float32(arrays["scale"])
    split = arrays["source_split"][keep]
    meta = pd.DataFrame({"ecg_id": ids[keep], "source_split": split, "codes": labels["codes"].to_numpy()[keep]})
    data = ECGData(
        signals=signals,
        labels=y,
        classes=tuple(kept),
        fs=float(FS),
        folds=np.array([SPLIT_FOLD[s] for s in split.tolist()], dtype=np.int64),
        record_ids=ids[keep].astype(str),
        leads=LEADS12,
        snomed=snomed,
        meta=meta,
        preprocessing=steps,
        source="ptbxl_2k",
        unit="z",
    )
    # the readers' bad-record policy, for NaN/flat leads only: per-lead z-scores break the limb-lead relations
    return screen_records(data, on_bad, reader="load_ptbxl_2k", check_lead_relations=False)
