"""PhysioNet/CinC Challenge 2020/2021 reader (``*.hea`` + ``*.mat``, ``#Dx:`` SNOMED-CT codes).

Rules (each recorded in ``data.preprocessing``):

* **headers** are parsed by :mod:`ecgkd_lite.data.wfdb_io` (accepts ``E00009.mat`` on line 1);
  ``val`` is read from the ``.mat`` with ``scipy.io.loadmat``; ``mV = (val - baseline) / gain``;
  leads are reordered to I, II, III, aVR, aVL, aVF, V1-V6 by their header names.
* **gain fix** (``fix_gain``): some 2020 headers state a wrong gain. :data:`GAIN_FIXES` maps
  (record-name prefix, stated gain per mV) to the true gain: PTB-XL ``HR*`` 200 -> 1000 and Georgia
  ``E*`` 4880 -> 1000 (the samples are in about 1000 units/mV). Independently every record's
  amplitude is checked: the median over leads of the peak-to-peak amplitude must lie within
  :data:`PLAUSIBLE_PTP_MV`; records outside are logged (not changed). The check needs mV:
  :func:`amplitude_check` runs it on a container and refuses one whose ``unit`` is not ``"mV"``.
* **resampling** to ``fs`` with ``scipy.signal.resample_poly`` (polyphase, anti-aliased), then
  **crop** (``"start"``: first ``seconds``; ``"center"``: the middle) or **zero-pad at the end** to
  ``seconds``.
* **labels**: codes map through ``tables/snomed_ct.csv`` to canonical codes (equivalent codes merge);
  classes are named by abbreviation, ``snomed`` holds the codes.
* **folds**: the Challenge has none; fold = 1 + (first 8 bytes of SHA-256(record id), big-endian) mod 10.
* **bad records** (``on_bad``: ``"raise"`` raises the first as a typed error saying how many more
  there are; ``"drop"`` drops them, logs a counted warning and lists them in ``preprocessing``):
  a header without a ``#Dx:`` line (or an empty one; it would become an all-negative label row) and
  a lead with a gain of 0 (WFDB falls back to 200/mV, which the gain fix would then even "correct")
  are HeaderParseErrors; NaN/inf samples (WFDB's invalid-sample marker -32768 is read as NaN) and
  flat leads BadSignalErrors; limb leads that violate Einthoven's/Goldberger's relations
  (``check_lead_relations``) LeadMismatchErrors (see :func:`ecgkd_lite.data.wfdb_io.screen_records`).
  A ``.mat`` with fewer or more samples than its header says always raises (Truncated/SignalSizeError).
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import io as sio
from scipy import signal as sps

from ..checks import check_positive
from ..errors import (
    ConfigError,
    HeaderParseError,
    LeadMismatchError,
    MissingFileError,
    RecordError,
    SamplingRateError,
    SignalSizeError,
    TruncatedSignalError,
    UnknownLabelError,
)
from ..progress import progress
from .cache import cached
from .container import ECGData
from .leads import LEADS12
from .snomed import snomed_table
from .wfdb_io import Header, digital_to_mv, leads12_order, parse_header, screen_records

log = logging.getLogger(__name__)

#: record-name prefix -> source data set (longest prefix wins)
SOURCES = {
    "HR": "PTB-XL",
    "JS": "Chapman-Shaoxing/Ningbo",
    "A": "CPSC2018",
    "Q": "CPSC-Extra",
    "I": "StPetersburg",
    "S": "PTB",
    "E": "Georgia",
}
#: (record-name prefix, gain per mV stated in the header) -> true gain per mV
GAIN_FIXES = {("HR", 200.0): 1000.0, ("E", 4880.0): 1000.0}
#: plausible median-over-leads peak-to-peak amplitude of a 12-lead ECG (mV)
PLAUSIBLE_PTP_MV = (0.2, 10.0)
CROPS = ("start", "center")


@dataclass
class ChallengeRecord:
    """One record as read: signals (12, T) in mV at the original ``fs``, codes as in the header."""

    record: str
    signals: np.ndarray
    fs: float
    codes: list[str]
    age: float
    sex: str
    gain_fixed: bool
    problem: RecordError | None = None  # what makes the header unusable (see the module docstring)


def load_challenge(
    root: str | Path,
    fs: float = 500,
    seconds: float = 10.0,
    *,
    classes: Sequence[str] | None = None,
    crop: str = "start",
    unknown: str = "other",
    fix_gain: bool = True,
    cache: bool = True,
    on_bad: str = "raise",
    check_lead_relations: bool = True,
) -> ECGData:
    """Read every ``*.hea`` + ``*.mat`` below ``root`` (recursively) into one ``ECGData``.

    ``classes``: abbreviations or SNOMED codes to keep (None: every class present, sorted by
    abbreviation); ``unknown``: ``"other"`` counts codes missing from the table, ``"raise"`` raises
    UnknownLabelError; ``on_bad``: ``"raise"`` | ``"drop"`` for bad records (no ``#Dx:`` line, a
    gain of 0, NaN/inf or flat leads, and with ``check_lead_relations`` violated limb-lead relations;
    see the module docstring).
    """
    check_positive("fs", fs)
    check_positive("seconds", seconds)
    if crop not in CROPS:
        raise ConfigError(f"crop={crop!r} is unknown; choose one of {list(CROPS)}")
    if unknown not in ("other", "raise"):
        raise ConfigError(f"unknown={unknown!r}: choose 'other' or 'raise'")
    if on_bad not in ("raise", "drop"):
        raise ConfigError(f"on_bad must be 'raise' or 'drop'; got {on_bad!r}")
    table = snomed_table()
    wanted = None if classes is None else list(dict.fromkeys(table.resolve(c) for c in classes))
    root = Path(root)
    if not root.is_dir():
        raise MissingFileError(str(root), "Challenge root folder does not exist")
    headers = sorted(root.rglob("*.hea"))
    if not headers:
        raise MissingFileError(str(root), "no *.hea headers below this folder")
    files = headers + sorted(root.rglob("*.mat"))
    params = dict(
        fs=float(fs),
        seconds=float(seconds),
        classes=wanted,
        crop=crop,
        unknown=unknown,
        fix_gain=fix_gain,
        on_bad=on_bad,
        check_lead_relations=bool(check_lead_relations),
    )
    return cached(
        "challenge",
        root,
        params,
        files,
        lambda: _parse(
            headers, float(fs), float(seconds), wanted, crop, unknown, fix_gain, on_bad, bool(check_lead_relations)
        ),
        enabled=cache,
    )


def source_prefix(record: str) -> str:
    """The :data:`SOURCES` prefix of a record name ("" if none matches)."""
    return next((p for p in sorted(SOURCES, key=len, reverse=True) if record.startswith(p)), "")


def read_record(header_path: Path, fix_gain: bool = True) -> ChallengeRecord:
    """Parse one header and its ``.mat`` (see the module docstring for the gain rule). Header
    problems that the ``on_bad`` policy handles (no ``#Dx:`` line, a gain of 0) are returned in
    ``problem``, not raised."""
    header = parse_header(header_path)
    record = header.record
    if header.fs <= 0:
        raise SamplingRateError(record, f"header states a sampling rate of {header.fs:g} Hz")
    order = leads12_order(record, header.lead_names)
    val = read_mat(header_path.with_suffix(".mat"), header)
    gains = header.gains_per_mv()
    true = np.array([GAIN_FIXES.get((source_prefix(record), float(g)), g) for g in gains]) if fix_gain else gains
    mv = digital_to_mv(val, header, true)[order]
    codes = [c.strip() for c in header.comments.get("Dx", "").split(",") if c.strip()]
    issues = [] if codes else ["has no '#Dx:' codes (no labels: it would become an all-negative label row)"]
    if header.leads_without_gain():
        issues.append(
            f"gives leads {header.leads_without_gain()} a gain of 0 (uncalibrated; a default gain would be assumed)"
        )
    problem = HeaderParseError(record, f"{header_path.name} " + " and ".join(issues)) if issues else None
    return ChallengeRecord(
        record=record,
        signals=mv,
        fs=header.fs,
        codes=codes,
        age=_number(header.comments.get("Age")),
        sex=header.comments.get("Sex", "Unknown"),
        gain_fixed=bool((true != gains).any()),
        problem=problem,
    )


def read_mat(path: Path, header: Header) -> np.ndarray:
    """``val`` (leads x samples) of a Challenge ``.mat``, checked against the header."""
    record = header.record
    if not path.exists():
        raise MissingFileError(record, f"signal file {path} does not exist")
    try:
        val = sio.loadmat(path)["val"]
    except Exception as exc:  # scipy raises several types for a damaged file
        raise RecordError(record, f"cannot read 'val' from {path.name}: {type(exc).__name__}: {exc}") from None
    if val.ndim != 2 or val.shape[0] != header.n_leads:
        raise LeadMismatchError(
            record,
            f"{path.name} holds {val.shape[0] if val.ndim == 2 else val.shape} "
            f"leads; the header lists {header.n_leads}",
        )
    if val.shape[1] != header.n_samples:
        error = TruncatedSignalError if val.shape[1] < header.n_samples else SignalSizeError
        raise error(record, f"{path.name} holds {val.shape[1]} samples per lead; the header says {header.n_samples}")
    return val


def median_peak_to_peak(signals: np.ndarray) -> float:
    """Median over leads of ``max - min`` (mV) of one ``(L, T)`` record."""
    return float(np.median(np.ptp(signals, axis=1)))


def implausible_amplitudes(
    records: Iterable[tuple[str, np.ndarray]], range_mv: tuple[float, float] = PLAUSIBLE_PTP_MV
) -> dict[str, float]:
    """``{record: median peak-to-peak (mV), ...}`` of the ``(record, (L, T) signals in mV)`` pairs
    whose median peak-to-peak lies outside ``range_mv``."""
    ptp = ((record, median_peak_to_peak(signals)) for record, signals in records)
    return {record: round(v, 3) for record, v in ptp if not range_mv[0] <= v <= range_mv[1]}


def amplitude_check(data: ECGData, range_mv: tuple[float, float] = PLAUSIBLE_PTP_MV) -> dict[str, float]:
    """:func:`implausible_amplitudes` of a container's records; DataError unless its signals are in mV
    (a z-scored set has a peak-to-peak of a few units whatever the voltage was)."""
    data.check_unit("mV", "the amplitude plausibility check (median peak-to-peak in mV)")
    return implausible_amplitudes(zip(data.record_ids.tolist(), data.signals), range_mv)


def resample_record(signals: np.ndarray, fs_from: float, fs_to: float) -> np.ndarray:
    """Polyphase resampling of ``(L, T)`` from ``fs_from`` to ``fs_to`` Hz."""
    if fs_from == fs_to:
        return signals
    ratio = Fraction(fs_to / fs_from).limit_denominator(1000)
    return sps.resample_poly(signals, ratio.numerator, ratio.denominator, axis=1).astype(np.float32)


def fit_length(signals: np.ndarray, n: int, crop: str) -> tuple[np.ndarray, str]:
    """Crop (``"start"`` | ``"center"``) or zero-pad at the end to ``n`` samples; also says which."""
    t = signals.shape[1]
    if t > n:
        start = (t - n) // 2 if crop == "center" else 0
        return signals[:, start : start + n], "cropped"
    if t < n:
        return np.pad(signals, ((0, 0), (0, n - t))), "padded"
    return signals, "kept"


def hash_fold(record: str) -> int:
    """Deterministic fold 1..10 of a record id (see the module docstring)."""
    return 1 + int.from_bytes(hashlib.sha256(record.encode()).digest()[:8], "big") % 10


def _number(text: str | None) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


def _parse(
    headers: list[Path],
    fs: float,
    seconds: float,
    wanted: list[str] | None,
    crop: str,
    unknown: str,
    fix_gain: bool,
    on_bad: str,
    check_lead_relations: bool = True,
) -> ECGData:
    table = snomed_table()
    n = int(round(seconds * fs))
    records, signals, lengths = [], [], Counter()
    for path in progress(headers, desc="Challenge records", unit="rec"):
        rec = read_record(path, fix_gain)
        records.append(rec)
        fitted, what = fit_length(resample_record(rec.signals, rec.fs, fs), n, crop)
        signals.append(fitted)
        lengths[what] += 1
    ids = [r.record for r in records]
    steps = [{"step": "read_challenge", "fs": fs, "seconds": seconds, "records": len(records)}]
    fixed = [r.record for r in records if r.gain_fixed]
    rule = {f"{p}* stated {g:g}/mV": f"{t:g}/mV" for (p, g), t in GAIN_FIXES.items()}
    steps.append({"step": "gain_fix", "records": fixed, "rule": rule if fix_gain else "off"})
    log.info("challenge: corrected the header gain of %d records (%s)", len(fixed), rule if fix_gain else "fix off")
    # on the records as read (before resampling and cropping), which are in mV by construction
    flagged = implausible_amplitudes((r.record, r.signals) for r in records)
    steps.append({"step": "amplitude_check", "range_mv": list(PLAUSIBLE_PTP_MV), "flagged": flagged})
    if flagged:
        log.warning(
            "challenge: %d records have an implausible median peak-to-peak amplitude (outside %s mV): %s",
            len(flagged),
            PLAUSIBLE_PTP_MV,
            flagged,
        )
    resampled = sorted({r.fs for r in records if r.fs != fs})
    if resampled:
        steps.append({"step": "resample", "from_fs": resampled, "to_fs": fs, "method": "resample_poly"})
    steps.append(
        {
            "step": "crop_pad",
            "seconds": seconds,
            "crop": crop,
            "cropped": lengths["cropped"],
            "padded": lengths["padded"],
        }
    )
    log.info(
        "challenge: %d records cropped (%s), %d zero-padded to %g s",
        lengths["cropped"],
        crop,
        lengths["padded"],
        seconds,
    )
    codes, unknown_counts = _map_codes(records, table, unknown)
    if unknown_counts:
        log.warning(
            "challenge: %d codes not in the SNOMED table (counted, not labelled): %s",
            sum(unknown_counts.values()),
            dict(unknown_counts),
        )
    steps.append({"step": "unknown_codes", "counts": dict(unknown_counts)})
    class_codes = wanted if wanted is not None else sorted(set().union(*codes), key=table.abbreviation)
    column = {c: k for k, c in enumerate(class_codes)}
    y = np.zeros((len(records), len(class_codes)), dtype=np.float32)
    for i, rec_codes in enumerate(codes):
        y[i, [column[c] for c in rec_codes if c in column]] = 1
    meta = pd.DataFrame(
        {
            "age": [r.age for r in records],
            "sex": [r.sex for r in records],
            "source": [SOURCES.get(source_prefix(r.record), "unknown") for r in records],
            "fs_original": [r.fs for r in records],
            "n_samples_original": [r.signals.shape[1] for r in records],
        }
    )
    data = ECGData(
        signals=np.stack(signals),
        labels=y,
        classes=tuple(table.abbreviation(c) for c in class_codes),
        fs=fs,
        folds=[hash_fold(r) for r in ids],
        record_ids=ids,
        leads=LEADS12,
        snomed=tuple(class_codes),
        meta=meta,
        preprocessing=steps,
        source="challenge",
    )
    problems = {i: r.problem for i, r in enumerate(records) if r.problem is not None}
    return screen_records(
        data, on_bad, reader="load_challenge", check_lead_relations=check_lead_relations, problems=problems
    )


def _map_codes(records: list[ChallengeRecord], table, unknown: str) -> tuple[list[set[str]], Counter]:
    """Canonical codes per record, and the counts of codes the table lacks."""
    out, missing = [], Counter()
    for rec in records:
        known = set()
        for code in rec.codes:
            if code in table:
                known.add(table.canonical(code))
            elif unknown == "raise":
                raise UnknownLabelError(rec.record, f"SNOMED-CT code {code!r} is not in the label table")
            else:
                missing[code] += 1
        out.append(known)
    return out, missing
