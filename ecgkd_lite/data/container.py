"""``ECGData``: the one record container every reader returns and every model consumes.

Contract (docs/design.md section 3):

* ``signals``: float32 ``(N, L, T)`` in **mV**, leads in ``leads`` order (default the 12 standard
  leads I, II, III, aVR, aVL, aVF, V1-V6);
* ``labels``: float32 multi-hot ``(N, C)``; ``classes`` the C names, ``snomed`` their SNOMED-CT codes
  where known;
* ``fs`` in Hz; ``folds`` int ``(N,)`` in 1..10 with the PTB-XL ``strat_fold`` convention
  (1-8 train, 9 validation, 10 test); ``record_ids`` ``(N,)`` strings, unique;
* ``meta``: optional DataFrame aligned with the records (age, sex, ...);
* ``fiducials`` / ``regions``: optional long tables keyed by ``record_id`` (synthetic data only):
  fiducials have one row per beat (sample indices), regions one row per diagnostic interval
  ``(record_id, class, start, end)`` with ``end`` exclusive, in samples at ``fs``;
* ``preprocessing``: what was applied, in order (kept next to every trained model);
* ``unit``: the unit of ``signals``: ``"mV"`` (default) or ``"z"`` (z-scored per record and lead,
  e.g. the ptbxl-2k release); code that assumes millivolts checks it (``require_mv``);
* ``key``: the data set's **identity**, from its recipe, never from float bytes: a reader sets it
  (synthetic: generator version + parameters; real data: SHA-256 of the source files + reader
  version + parameters) and every derived set gets ``fingerprint(parent key, step)``
  (``derive``). Float results differ in their last bits between CPUs and library versions, so a
  key computed from the samples would differ between machines; the recipe does not. Without a
  recipe (arrays built by hand) the key is a hash of the content on a 1e-3 grid (not bit-portable:
  a sample on a rounding boundary can flip; readers and steps always set a recipe key).
  ``digest()`` is the cheap consistency check that goes with the key (shapes, label counts, ids,
  per-lead mean/std) and ``digest_problems`` compares two digests with a float tolerance.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from ..checks import check_fraction, check_int
from ..errors import BadSignalError, ConfigError, DataError, LeadMismatchError, SplitError
from ..utils import fingerprint as _fingerprint
from .leads import LEADS12, canonical_lead, lead_indices

log = logging.getLogger(__name__)

TRAIN_FOLDS: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8)
VAL_FOLDS: tuple[int, ...] = (9,)
TEST_FOLDS: tuple[int, ...] = (10,)
SPLIT_FOLDS = {"train": TRAIN_FOLDS, "val": VAL_FOLDS, "test": TEST_FOLDS}

#: fiducial columns (sample indices, -1 where the wave is absent, e.g. no P wave in AF)
#: units a container's signals may be in
UNITS = ("mV", "z")

FIDUCIAL_COLUMNS = ("p_on", "p_peak", "p_off", "qrs_on", "r_peak", "qrs_off", "t_peak", "t_off")


@dataclass
class ECGData:
    signals: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    fs: float
    folds: np.ndarray
    record_ids: np.ndarray
    leads: tuple[str, ...] = LEADS12
    snomed: tuple[str | None, ...] | None = None
    meta: pd.DataFrame | None = None
    fiducials: pd.DataFrame | None = None
    regions: pd.DataFrame | None = None
    preprocessing: list = field(default_factory=list)
    source: str = "unknown"
    unit: str = "mV"
    key: str | None = None

    def __post_init__(self):
        if self.unit not in UNITS:
            raise DataError(f"unit must be one of {UNITS}; got {self.unit!r}")
        self.signals = np.asarray(self.signals)
        if self.signals.dtype != np.float32:
            self.signals = self.signals.astype(np.float32)
        self.labels = np.asarray(self.labels, dtype=np.float32)
        self.folds = np.asarray(self.folds, dtype=np.int64)
        self.record_ids = np.asarray(self.record_ids).astype(str)
        self.classes = tuple(self.classes)
        self.leads = tuple(canonical_lead(lead) for lead in self.leads)
        if self.snomed is not None:
            self.snomed = tuple(self.snomed)
        self._check_shapes()
        if self.key is None:
            self.key = self.content_key()

    # ------------------------------------------------------------------ basic facts
    def _check_shapes(self) -> None:
        s = self.signals
        if s.ndim != 3:
            raise DataError(f"signals must be (N, leads, T); got shape {s.shape}")
        n, n_leads, _ = s.shape
        if n_leads != len(self.leads):
            raise LeadMismatchError(
                self.source, f"signals have {n_leads} leads but {len(self.leads)} lead names {self.leads}"
            )
        if self.labels.shape != (n, len(self.classes)):
            raise DataError(f"labels must be (N={n}, C={len(self.classes)}); got {self.labels.shape}")
        if self.folds.shape != (n,) or self.record_ids.shape != (n,):
            raise DataError(f"folds {self.folds.shape} and record_ids {self.record_ids.shape} must both be ({n},)")
        if n and (self.folds.min() < 1 or self.folds.max() > 10):
            raise DataError(f"folds must lie in 1..10; got {self.folds.min()}..{self.folds.max()}")
        if len(set(self.record_ids.tolist())) != n:
            raise DataError("record_ids are not unique")
        if self.snomed is not None and len(self.snomed) != len(self.classes):
            raise DataError(f"snomed has {len(self.snomed)} codes for {len(self.classes)} classes")
        if self.meta is not None and len(self.meta) != n:
            raise DataError(f"meta has {len(self.meta)} rows for {n} records")
        if self.fs <= 0:
            raise DataError(f"fs must be positive; got {self.fs}")

    def __len__(self) -> int:
        return self.signals.shape[0]

    @property
    def n_leads(self) -> int:
        return self.signals.shape[1]

    @property
    def n_samples(self) -> int:
        return self.signals.shape[2]

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def seconds(self) -> float:
        return self.n_samples / self.fs

    def __repr__(self) -> str:
        unit = "" if self.unit == "mV" else f", unit={self.unit!r}"
        return (
            f"ECGData(source={self.source!r}, records={len(self)}, leads={self.n_leads}, "
            f"samples={self.n_samples} @ {self.fs:g} Hz, classes={self.n_classes}{unit})"
        )

    def summary(self) -> pd.DataFrame:
        """Positives per class and split (train / val / test)."""
        rows = {}
        for split, folds in SPLIT_FOLDS.items():
            mask = np.isin(self.folds, folds)
            rows[split] = self.labels[mask].sum(0).astype(int)
        return pd.DataFrame(rows, index=list(self.classes))

    def fingerprint(self) -> str:
        """The data set's identity (``key``): from its recipe, the same on every machine."""
        return self.key

    def content_key(self) -> str:
        """A key for data without a recipe: labels, folds, ids, fs, leads, classes, unit and the
        signals rounded to 1e-3 (a fallback for arrays built by hand; not bit-portable)."""
        import hashlib

        h = hashlib.blake2b(str(self.signals.shape).encode(), digest_size=10)
        for lo in range(0, len(self), 256):  # in chunks: no full-size float64 copy of a large set
            chunk = np.nan_to_num(self.signals[lo : lo + 256].astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
            h.update(np.round(chunk * 1e3).astype(np.int64).tobytes())
        return _fingerprint(
            "content",
            h.hexdigest(),
            self.labels,
            self.folds,
            list(self.record_ids),
            float(self.fs),
            list(self.leads),
            list(self.classes),
            self.unit,
        )

    def derive(self, step: dict, *, record: bool = True, **changes) -> "ECGData":
        """A new container made from this one by ``step`` (a JSON-like dict that names the step and
        every parameter that decides its result, but no fitted float): ``key`` becomes
        ``fingerprint(self.key, step)``; ``record`` appends ``step`` to ``preprocessing``
        (``changes["preprocessing"]`` overrides what is appended)."""
        history = list(self.preprocessing) + ([changes.pop("preprocessing", step)] if record else [])
        return replace(self, key=_fingerprint(self.key, step), preprocessing=history, **changes)

    def digest(self) -> dict:
        """A cheap summary that catches a wrong data set without hashing float bits: shapes, fs,
        leads, classes, unit, label counts, a hash of the ids and folds (exact), and the per-lead
        mean and RMS of the signals (compared with a tolerance, see ``digest_problems``)."""
        if self.signals.size:
            x = np.nan_to_num(self.signals.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
            mean, rms = x.mean(axis=(0, 2)), np.sqrt((x**2).mean(axis=(0, 2)))
        else:
            mean = rms = np.zeros(self.n_leads)
        return {
            "records": len(self),
            "samples": self.n_samples,
            "fs": float(self.fs),
            "leads": list(self.leads),
            "classes": list(self.classes),
            "unit": self.unit,
            "label_counts": self.labels.sum(0).astype(int).tolist(),
            "ids": _fingerprint(list(self.record_ids), self.folds),
            "lead_mean": [float(v) for v in mean],
            "lead_rms": [float(v) for v in rms],
        }

    def check_unit(self, needed: str, what: str) -> None:
        """DataError unless the signals are in ``needed`` units (e.g. ``"mV"`` for an amplitude check)."""
        if self.unit != needed:
            raise DataError(
                f"{what} needs signals in {needed}; {self!r} is in {self.unit!r}"
                + (" (z-scored per record and lead: amplitudes in mV are not recoverable)" if self.unit == "z" else "")
            )

    # ------------------------------------------------------------------ selection
    def subset(self, index: np.ndarray | Sequence[int] | slice) -> "ECGData":
        """Records at ``index`` (positions or boolean mask); side tables follow."""
        idx = np.arange(len(self))[index]
        ids = self.record_ids[idx]
        keep = set(ids.tolist())
        return self.derive(
            {"step": "subset", "records": _fingerprint(ids.tolist())},
            record=False,
            signals=self.signals[idx],
            labels=self.labels[idx],
            folds=self.folds[idx],
            record_ids=ids,
            meta=None if self.meta is None else self.meta.iloc[idx].reset_index(drop=True),
            fiducials=_filter_table(self.fiducials, keep),
            regions=_filter_table(self.regions, keep),
        )

    def select_leads(self, leads: str | Iterable[str]) -> "ECGData":
        """Keep only ``leads`` (a name like ``"I"`` or a list), in the order given; ConfigError for
        no lead, an unknown lead or a lead named twice."""
        idx = lead_indices(leads, self.leads)
        if not idx:
            raise ConfigError(
                f"select_leads needs at least one lead; got {leads!r} (available leads: {list(self.leads)})"
            )
        chosen = [self.leads[i] for i in idx]
        return self.derive(
            {"step": "select_leads", "leads": chosen},
            signals=np.ascontiguousarray(self.signals[:, idx]),
            leads=tuple(chosen),
        )

    def split(self, name: str) -> "ECGData":
        """``"train"`` (folds 1-8), ``"val"`` (9) or ``"test"`` (10); SplitError if empty."""
        if name not in SPLIT_FOLDS:
            raise ConfigError(f"split {name!r} is unknown; choose one of {list(SPLIT_FOLDS)}")
        mask = np.isin(self.folds, SPLIT_FOLDS[name])
        if not mask.any():
            raise SplitError(f"split {name!r} (folds {list(SPLIT_FOLDS[name])}) is empty in {self!r}")
        return self.subset(mask)

    def splits(self) -> tuple["ECGData", "ECGData", "ECGData"]:
        """``(train, val, test)``."""
        return self.split("train"), self.split("val"), self.split("test")

    def labeled_unlabeled_split(self, ratio: float, seed: int = 0) -> tuple["ECGData", "ECGData"]:
        """Split the **training folds** into a labeled part (``ratio`` of the records) and an
        unlabeled pool (the rest). Validation and test folds are never in either part.

        The labeled part is drawn per fold (stratified by fold) with ``np.random.default_rng(seed)``.
        ``ratio`` must lie in (0, 1]; at 1 the unlabeled pool is empty.
        """
        check_fraction("labeled ratio", ratio, open_low=True, error=SplitError)
        seed = check_int("seed", seed, low=0)
        train = self.split("train")
        rng = np.random.default_rng(seed)
        labeled = np.zeros(len(train), dtype=bool)
        for f in np.unique(train.folds):
            pos = np.flatnonzero(train.folds == f)
            k = max(1, int(round(ratio * len(pos))))
            labeled[rng.choice(pos, size=k, replace=False)] = True
        lab = train.subset(labeled).derive({"step": "labeled_split", "ratio": ratio, "seed": seed})
        unl = train.subset(~labeled).derive({"step": "unlabeled_pool", "ratio": 1 - ratio, "seed": seed})
        return lab, unl

    # ------------------------------------------------------------------ checks
    def validate(self, on_bad: str = "raise") -> "ECGData":
        """Check every record for NaN/inf samples and flat leads.

        ``on_bad="raise"`` raises BadSignalError naming the first bad record and lead;
        ``on_bad="drop"`` drops bad records and logs how many and which.
        """
        if on_bad not in ("raise", "drop"):
            raise ConfigError(f"on_bad must be 'raise' or 'drop'; got {on_bad!r}")
        bad = find_bad_records(self.signals, self.leads)
        if not bad:
            return self
        if on_bad == "raise":
            i, problem = bad[0]
            raise BadSignalError(self.record_ids[i], problem)
        drop = np.zeros(len(self), dtype=bool)
        drop[[i for i, _ in bad]] = True
        log.warning(
            "dropped %d of %d records with bad signals: %s",
            drop.sum(),
            len(self),
            ", ".join(f"{self.record_ids[i]} ({p})" for i, p in bad[:10]) + (" ..." if len(bad) > 10 else ""),
        )
        return self.subset(~drop).derive({"step": "drop_bad", "dropped": [str(self.record_ids[i]) for i, _ in bad]})

    def check_finite(self, what: str, leads: Sequence[int] | None = None) -> None:
        """BadSignalError naming the first record (and lead) with a NaN or inf sample, and ``what``
        the data were for (e.g. "predict", "the training split"); ``leads`` restricts the check to
        those lead positions (the ones a model reads)."""
        x = self.signals if leads is None else self.signals[:, list(leads)]
        finite = np.isfinite(x).all(axis=2)
        if finite.all():
            return
        i, j = (int(v[0]) for v in np.nonzero(~finite))
        lead = self.leads[j if leads is None else list(leads)[j]]
        n_bad = int((~finite.all(axis=1)).sum())
        raise BadSignalError(
            self.record_ids[i],
            f"lead {lead} has NaN or inf samples ({what}; {n_bad} record(s) "
            "affected in all; ECGData.validate(on_bad='drop') removes them)",
        )

    # ------------------------------------------------------------------ ground truth (synthetic)
    def region_mask(self, index: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """Boolean ``(n, C, T)`` mask of the ground-truth diagnostic regions of records ``index``."""
        if self.regions is None:
            raise DataError(f"{self!r} carries no ground-truth regions (only synthetic data does)")
        idx = np.arange(len(self)) if index is None else np.atleast_1d(np.asarray(index))
        mask = np.zeros((len(idx), self.n_classes, self.n_samples), dtype=bool)
        pos = {rid: k for k, rid in enumerate(self.record_ids[idx])}
        cls = {c: k for k, c in enumerate(self.classes)}
        sel = self.regions[self.regions["record_id"].isin(pos)]
        for rid, c, start, end in sel[["record_id", "class", "start", "end"]].itertuples(index=False):
            mask[pos[rid], cls[c], max(0, int(start)) : max(0, int(end))] = True
        return mask

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write to one ``.npz`` (side tables as JSON inside). Atomic."""
        import io
        import json

        from ..utils import atomic_write_bytes

        side = {
            "classes": list(self.classes),
            "fs": float(self.fs),
            "leads": list(self.leads),
            "snomed": None if self.snomed is None else list(self.snomed),
            "preprocessing": self.preprocessing,
            "source": self.source,
            "unit": self.unit,
            "key": self.key,
        }
        arrays = dict(
            signals=self.signals,
            labels=self.labels,
            folds=self.folds,
            record_ids=self.record_ids,
            side=np.array(json.dumps(side, default=str)),
        )
        for name in ("meta", "fiducials", "regions"):
            table = getattr(self, name)
            if table is not None:
                arrays[name] = np.array(table.to_json(orient="split"))
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> "ECGData":
        import io
        import json

        path = Path(path)
        if not path.exists():
            from ..errors import MissingFileError

            raise MissingFileError(str(path), "cached data set file does not exist")
        with np.load(path, allow_pickle=False) as z:
            side = json.loads(str(z["side"]))
            tables = {
                name: pd.read_json(io.StringIO(str(z[name])), orient="split", dtype=False)
                for name in ("meta", "fiducials", "regions")
                if name in z.files
            }
            if "fiducials" in tables or "regions" in tables:
                for t in tables.values():
                    if "record_id" in t:
                        t["record_id"] = t["record_id"].astype(str)
            return cls(
                signals=z["signals"],
                labels=z["labels"],
                folds=z["folds"],
                record_ids=z["record_ids"],
                classes=tuple(side["classes"]),
                fs=side["fs"],
                leads=tuple(side["leads"]),
                snomed=None if side["snomed"] is None else tuple(side["snomed"]),
                preprocessing=side["preprocessing"],
                source=side["source"],
                unit=side.get("unit", "mV"),
                key=side.get("key"),
                **tables,
            )


def digest_problems(stored: dict, current: dict, *, rtol: float = 1e-3, atol: float = 1e-3) -> tuple[list[str], bool]:
    """Compare two ``ECGData.digest()`` results: ``(problems, exact)``. ``problems`` lists what
    differs beyond float noise (any structural field, or a per-lead mean/RMS outside
    ``atol + rtol * |stored|``); ``exact`` is True when the floats are identical too."""
    problems = []
    for name in ("records", "samples", "fs", "leads", "classes", "unit", "label_counts", "ids"):
        if name in stored and stored[name] != current.get(name):
            problems.append(f"{name}: {_short(stored[name])} != {_short(current.get(name))}")
    exact = True
    for name in ("lead_mean", "lead_rms"):
        if name not in stored:
            continue
        a, b = np.asarray(stored[name], dtype=float), np.asarray(current.get(name, []), dtype=float)
        if a.shape != b.shape:
            problems.append(f"{name}: {len(a)} leads != {len(b)} leads")
            continue
        exact &= bool(np.array_equal(a, b))
        bad = ~np.isclose(b, a, rtol=rtol, atol=atol)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            problems.append(f"{name}[{i}]: {a[i]:.6g} != {b[i]:.6g} (beyond float noise: rtol {rtol:g}, atol {atol:g})")
    return problems, exact and not problems


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _filter_table(table: pd.DataFrame | None, keep: set) -> pd.DataFrame | None:
    if table is None:
        return None
    return table[table["record_id"].isin(keep)].reset_index(drop=True)


def find_bad_records(signals: np.ndarray, leads: Sequence[str], flat_tol: float = 1e-6) -> list[tuple[int, str]]:
    """``[(record index, problem), ...]`` for NaN/inf samples or flat (constant) leads."""
    out = []
    finite = np.isfinite(signals).all(axis=2)  # (N, L)
    for i, l in zip(*np.nonzero(~finite)):
        out.append((int(i), f"lead {leads[l]} has NaN or inf samples"))
    span = np.nanmax(signals, axis=2) - np.nanmin(signals, axis=2) if signals.size else np.zeros(signals.shape[:2])
    flat = (span <= flat_tol) & finite
    for i, l in zip(*np.nonzero(flat)):
        out.append((int(i), f"lead {leads[l]} is flat (constant signal)"))
    out.sort(key=lambda t: t[0])
    return out
