"""Reader of LUDB 1.0.1 (Lobachevsky University Electrocardiography Database, PhysioNet): 200
records, 12 leads, 500 Hz, 10 s, diagnoses in the headers and a per-lead P/QRS/T delineation by
cardiologists. An **external test set**: every record is in fold 10 (``data.split("test")`` is
the whole set; ``split("train")`` / ``split("val")`` raise SplitError, so it cannot be trained on
by accident).

Files below ``root``: ``RECORDS`` (``data/1`` ... ``data/200``), ``data/<n>.hea`` / ``.dat`` (WFDB
format 16), ``data/<n>.<lead>`` (WFDB annotations, lead ``i``, ``ii``, ..., ``v6``),
``SHA256SUMS.txt``.

Signals (``unit="mV"``). The release's header gain of every lead equals that lead's digital
peak-to-peak, so the header-scaled signals (``wfdb.rdrecord(...).p_signal``) are min-max
normalised per lead (peak-to-peak exactly 1 "mV" in every lead of every record) and break
Einthoven's law (III = II - I fails by about half the amplitude). The digital samples themselves
satisfy Einthoven's and Goldberger's identities exactly and, read at 1000 units per mV (1 uV per
unit, baseline 0), have per-lead amplitudes like PTB-XL's. **Gain rule**: a lead whose header gain
equals its digital peak-to-peak (within 0.5) is read as ``digital / 1000`` mV; any other lead
with the header's gain and baseline (:mod:`ecgkd_lite.data.wfdb_io`). The number of leads fixed
and the amplitude check of :func:`ecgkd_lite.data.challenge.amplitude_check` are recorded in
``data.preprocessing``.

Labels: the header's comment lines after ``#<diagnoses>:`` (trailing ``.`` and spaces removed)
map through :data:`DIAGNOSIS_CLASSES` onto the class vocabulary of ptbxl-2k (PhysioNet/CinC 2021
scored classes, abbreviations as in its ``classes.csv``); the classes are :data:`LUDB_CLASSES`
(those the table can produce) or the ``classes`` asked for. Diagnoses the table does not map are
counted (``unmapped="count"``, see :func:`unmapped_diagnoses`) or raise UnknownLabelError
(``unmapped="raise"``). LUDB names exactly one rhythm per record and it is mapped alone: in
ptbxl-2k SB, STach and SA records also carry NSR in about half the cases, so NSR is not comparable
between the two sets for those records.

Delineation (:func:`read_delineation`, :func:`ludb_wave_masks`), per lead, from ``wfdb.rdann``:
each wave is a peak symbol (``p`` P, ``N`` QRS, ``t`` T) between an onset ``(`` and an offset
``)``. Rules for the release's irregular spots (counted in ``quirks``):

* a run of the same peak symbol with its brackets (``(((ttt)))``, record 116) is one wave;
* a wave without ``(`` starts at its peak, one without ``)`` ends at its peak (103 QRS complexes
  of records 7, 34, 95, 104 and 111, all but 7 ventricular-paced, are annotated ``N )``);
* a bracket pair without a peak (``( )``) belongs to the wave just before it if that wave has no
  offset (``N ( )``), else to the wave just after it if that one has no onset (``( ) N``), else it
  is dropped; a wave spans from the earliest to the latest sample of its symbols.

Wave masks (``end`` exclusive, samples at 500 Hz unless ``fs`` is given), per lead:

* **P**, **QRS**, **T**: onset to offset, both included;
* **PR**: P onset up to (not including) the QRS onset, for a P wave whose next wave in that lead
  is a QRS complex (the PR *interval*: it contains the P wave). A P wave followed by another P
  wave (blocked P, e.g. third-degree AV block) or by nothing, and a QRS without a P wave before it
  (atrial fibrillation, the first annotated beat), have no PR;
* **ST**: from the sample after the QRS offset up to (not including) the T onset, for a QRS whose
  next wave in that lead is a T wave (the ST *segment*: disjoint from QRS and T); empty when the
  T onset is not after the QRS offset;
* ``annotated``: from the first to the last annotated sample of the lead. The cardiologists
  delineated complete waves inside a central window (the first annotation is at 0.4-2.7 s, the
  last at 6-9.7 s); outside it a mask is False because nothing was annotated, not because no wave
  is there. Score predictions inside ``annotated`` only.

Lead-agnostic masks: ``union`` (any lead) and ``consensus`` (a majority of the leads annotated at
that sample, or at least ``min_leads``). ``data.regions`` holds the diagnostic region of every
positive class (:data:`REGION_RULES`, from the union masks), in the container's
``(record_id, class, start, end)`` format, so ``data.region_mask`` and
:func:`ecgkd_lite.explain.region_masks` work as on the synthetic data; a PR or QRS region exists
only inside the annotated window (rhythm classes cover the whole record).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from ..checks import check_int
from ..errors import ConfigError, HeaderParseError, MissingFileError, RecordError, SamplingRateError, UnknownLabelError
from .cache import cached
from .challenge import PLAUSIBLE_PTP_MV, amplitude_check
from .container import ECGData
from .download import parse_sha256sums, verify_tree
from .leads import LEADS12
from .wfdb_io import digital_to_mv, leads12_order, parse_header, read_format16, screen_records

log = logging.getLogger(__name__)

FS = 500
SECONDS = 10
RECORDS, SUMS = "RECORDS", "SHA256SUMS.txt"
#: annotation file extension of each lead (LEADS12 order)
LEAD_EXTENSIONS: dict[str, str] = {lead: lead.lower() for lead in LEADS12}
#: LUDB's digital samples are in uV: 1000 units per mV (see the module docstring)
TRUE_GAIN_PER_MV = 1000.0
DIAGNOSES_MARK = "#<diagnoses>:"

#: LUDB diagnosis (header line, without '#', trailing '.' and spaces; compared case-insensitively)
#: -> class of the ptbxl-2k vocabulary (CinC 2021 abbreviation). Diagnoses not listed stay unmapped.
DIAGNOSIS_CLASSES: dict[str, str] = {
    "Rhythm: Sinus rhythm": "NSR",  # sinus rhythm (426783006)
    "Rhythm: Sinus bradycardia": "SB",  # sinus bradycardia (426177001); LUDB gives one rhythm, so not also NSR
    "Rhythm: Sinus tachycardia": "STach",  # sinus tachycardia (427084000)
    "Rhythm: Sinus arrhythmia": "SA",  # sinus arrhythmia (427393009)
    "Rhythm: Irregular sinus rhythm": "SA",  # an irregular rhythm of sinus origin is sinus arrhythmia by definition
    "Rhythm: Atrial fibrillation": "AF",  # atrial fibrillation (164889003)
    "Rhythm: Atrial flutter, typical": "AFL",  # typical (cavotricuspid) atrial flutter: atrial flutter (164890007)
    "Electric axis of the heart: left axis deviation": "LAD",  # left axis deviation (39732003)
    "Electric axis of the heart: right axis deviation": "RAD",  # right axis deviation (47665007)
    "I degree AV block": "IAVB",  # first-degree AV block (270492004)
    "Incomplete right bundle branch block": "IRBBB",  # incomplete RBBB (713426002)
    "Complete right bundle branch block": "CRBBB",  # complete RBBB (713427006|59118001)
    "Complete left bundle branch block": "CLBBB",  # complete LBBB (733534002|164909002)
    "Left anterior hemiblock": "LAnFB",  # left anterior hemiblock = left anterior fascicular block (445118002)
    "Non-specific intravintricular conduction delay": "NSIVCB",  # (LUDB's spelling) nonspecific IV conduction disorder
    "Atrial extrasystole: undefined": "PAC",  # atrial premature beat, origin not given (PAC|SVPB)
    "Atrial extrasystole: low atrial": "PAC",  # low-atrial premature beat (PAC|SVPB)
    "Atrial extrasystole: left atrial": "PAC",  # left-atrial premature beat (PAC|SVPB)
    "Atrial extrasystole: SA-nodal extrasystole": "PAC",  # sinoatrial-nodal premature beat: supraventricular (SVPB)
    "Atrial extrasystole, type: single PAC": "PAC",  # single premature atrial contraction
    "Atrial extrasystole, type: bigemini": "PAC",  # atrial bigeminy: every other beat a PAC
    "Atrial extrasystole, type: quadrigemini": "PAC",  # atrial quadrigeminy: every fourth beat a PAC
    "Atrial extrasystole, type: allorhythmic pattern": "PAC",  # PACs in an irregular (allorhythmic) pattern
}
#: not mapped on purpose (no class in the ptbxl-2k vocabulary): normal, vertical and horizontal axes
#: (within the normal range); left/right atrial hypertrophy or overload, LVH, RVH, LV overload (not
#: CinC 2021 scored classes); III degree AV block, incomplete LBBB, sinoatrial block, wandering atrial
#: pacemaker, aberrant conduction, early repolarisation (unscored); ventricular extrasystoles and
#: pacing (scored in CinC 2021 as PVC|VPB and PR, but without a positive in ptbxl-2k); ischemia,
#: STEMI, scar and non-specific repolarisation abnormalities (PTB-XL's NST_ is not TAb in ptbxl-2k).

#: the classes the table can produce, in ptbxl-2k's order
LUDB_CLASSES: tuple[str, ...] = (
    "AF",
    "AFL",
    "CLBBB",
    "CRBBB",
    "IAVB",
    "IRBBB",
    "LAD",
    "LAnFB",
    "NSIVCB",
    "NSR",
    "PAC",
    "RAD",
    "SA",
    "SB",
    "STach",
)
#: SNOMED CT codes of the classes (equivalents joined by '|', as ptbxl-2k's classes.csv)
CLASS_SNOMED: dict[str, str] = {
    "AF": "164889003",
    "AFL": "164890007",
    "CLBBB": "733534002|164909002",
    "CRBBB": "713427006|59118001",
    "IAVB": "270492004",
    "IRBBB": "713426002",
    "LAD": "39732003",
    "LAnFB": "445118002",
    "NSIVCB": "698252002",
    "NSR": "426783006",
    "PAC": "284470004|63593006",
    "RAD": "47665007",
    "SA": "427393009",
    "SB": "426177001",
    "STach": "427084000",
}
#: class -> wave whose lead-agnostic (union) extent is the class's diagnostic region; None: the whole
#: record (rate, rhythm). PAC has no region: LUDB does not say which beat is premature.
REGION_RULES: dict[str, str | None] = {
    "NSR": None,
    "SB": None,
    "STach": None,
    "SA": None,
    "AF": None,
    "AFL": None,
    "IAVB": "PR",
    "LAD": "QRS",
    "RAD": "QRS",
    "CRBBB": "QRS",
    "CLBBB": "QRS",
    "IRBBB": "QRS",
    "LAnFB": "QRS",
    "NSIVCB": "QRS",
}
#: wave masks, in this order
WAVES: tuple[str, ...] = ("P", "PR", "QRS", "ST", "T")
PEAKS = {"p": "P", "N": "QRS", "t": "T"}
_WAVE_RE = re.compile(r"(?P<on>\(*)(?P<peak>[pNt])(?P=peak)*(?P<off>\)*)|(?P<orphan>\(*\)+|\(+)")


@dataclass
class LudbRecord:
    """One record as read: signals (12, 5000) in mV, age, sex, diagnosis lines, leads gain-fixed."""

    record: str
    signals: np.ndarray
    age: float
    sex: str
    diagnoses: list[str]
    gain_fixed: int


def load_ludb(
    root: str | Path,
    *,
    classes: Sequence[str] | None = None,
    unmapped: str = "count",
    verify: bool = False,
    cache: bool = True,
    on_bad: str = "raise",
    check_lead_relations: bool = True,
) -> ECGData:
    """Read LUDB below ``root`` (see the module docstring for every rule).

    ``classes``: abbreviations among :data:`LUDB_CLASSES` to keep, in that order (default all;
    e.g. ``[c for c in train.classes if c in LUDB_CLASSES]`` to line up with a ptbxl-2k model);
    ``unmapped``: ``"count"`` or ``"raise"`` (UnknownLabelError) for a diagnosis
    :data:`DIAGNOSIS_CLASSES` does not map; ``verify``: check every file read against
    ``root/SHA256SUMS.txt`` first; ``on_bad``: ``"raise"`` | ``"drop"`` for records with NaN
    samples, a flat lead or, with ``check_lead_relations``, limb leads that break Einthoven's and
    Goldberger's relations (the policy of the other WFDB readers,
    :func:`ecgkd_lite.data.wfdb_io.screen_records`; with the header gains every record would).
    """
    wanted = list(LUDB_CLASSES) if classes is None else list(dict.fromkeys(classes))
    bad = [c for c in wanted if c not in LUDB_CLASSES]
    if bad:
        raise ConfigError(f"classes {bad} cannot be read from LUDB's diagnoses; choose from {list(LUDB_CLASSES)}")
    if not wanted:
        raise ConfigError("classes is empty")
    if unmapped not in ("count", "raise"):
        raise ConfigError(f"unmapped={unmapped!r}: choose 'count' or 'raise'")
    if on_bad not in ("raise", "drop"):
        raise ConfigError(f"on_bad must be 'raise' or 'drop'; got {on_bad!r}")
    root = Path(root)
    records = read_records(root)
    files = [RECORDS, *record_files(records)]
    if verify:
        n = verify_tree(root, read_checksums(root), files)
        log.info("ludb: %d files match %s", n, SUMS)
    params = dict(classes=wanted, unmapped=unmapped, on_bad=on_bad, check_lead_relations=bool(check_lead_relations))
    return cached(
        "ludb",
        root,
        params,
        [root / f for f in files],
        lambda: _parse(root, records, wanted, unmapped, on_bad, bool(check_lead_relations)),
        enabled=cache,
    )


def read_records(root: Path) -> list[str]:
    """Record names (``"1"`` ... ``"200"``) from ``RECORDS``; MissingFileError if absent."""
    if not root.is_dir():
        raise MissingFileError(str(root), "LUDB root folder does not exist")
    path = root / RECORDS
    if not path.exists():
        raise MissingFileError(RECORDS, f"does not exist below {root}")
    names = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    bad = [n for n in names if not n.startswith("data/")]
    if bad or not names:
        raise RecordError(RECORDS, f"lists {bad[:3] or 'no records'}; LUDB lists 'data/<n>' per line")
    return [n.removeprefix("data/") for n in names]


def read_checksums(root: Path) -> dict[str, str]:
    """``SHA256SUMS.txt`` of the release. LUDB's separates digest and path by one space where
    ``sha256sum`` writes two (or a space and ``*``), which :func:`~ecgkd_lite.data.download.parse_sha256sums`
    refuses: the lone space is doubled first."""
    path = root / SUMS
    if not path.exists():
        raise MissingFileError(str(path), "checksum list does not exist")
    return parse_sha256sums(re.sub(r"(?m)^([0-9a-fA-F]{64}) (?=[^ *])", r"\1  ", path.read_text()), str(path))


def record_files(records: Iterable[str]) -> list[str]:
    """Every file the reader reads, relative to the root (header, signal, 12 annotation files)."""
    return [f"data/{r}{ext}" for r in records for ext in (".hea", ".dat", *(f".{e}" for e in LEAD_EXTENSIONS.values()))]


# ------------------------------------------------------------------------------------ records
def read_record(root: Path, record: str) -> LudbRecord:
    """Signals (12, 5000) mV (gain rule of the module docstring), age, sex and diagnoses of one record."""
    base = root / "data" / record
    hea = base.with_suffix(".hea")
    header = parse_header(hea, record)
    if header.fs != FS:
        raise SamplingRateError(record, f"header says {header.fs:g} Hz; LUDB records are {FS} Hz")
    if header.n_samples != SECONDS * FS:
        raise RecordError(record, f"header says {header.n_samples} samples; LUDB records have {SECONDS * FS}")
    order = leads12_order(record, header.lead_names)
    digital = read_format16(base.with_suffix(".dat"), header)
    quirk = np.abs(header.gains_per_mv() - np.ptp(digital.astype(np.int64), axis=1)) <= 0.5
    fixed = replace(
        header,
        signals=tuple(
            replace(s, gain=TRUE_GAIN_PER_MV, baseline=0.0, units="mV") if q else s
            for s, q in zip(header.signals, quirk)
        ),
    )
    return LudbRecord(
        record=record,
        signals=digital_to_mv(digital, fixed)[order],
        age=_number(header.comments.get("<age>")),
        sex=header.comments.get("<sex>", "Unknown"),
        diagnoses=read_diagnoses(hea, record),
        gain_fixed=int(quirk.sum()),
    )


def read_diagnoses(path: Path, record: str) -> list[str]:
    """The diagnosis lines of a header (after ``#<diagnoses>:``), without '#', trailing '.' and spaces."""
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    if DIAGNOSES_MARK not in lines:
        raise HeaderParseError(record, f"{path.name} has no '{DIAGNOSES_MARK}' comment line")
    after = lines[lines.index(DIAGNOSES_MARK) + 1 :]
    return [d for d in (ln.lstrip("#").strip().rstrip(".").strip() for ln in after if ln.startswith("#")) if d]


def map_diagnoses(diagnoses: Sequence[str]) -> tuple[set[str], list[str]]:
    """``(classes, unmapped diagnoses)`` of one record's diagnosis lines."""
    table = {k.lower(): v for k, v in DIAGNOSIS_CLASSES.items()}
    found = {table[d.lower()] for d in diagnoses if d.lower() in table}
    return found, [d for d in diagnoses if d.lower() not in table]


def unmapped_diagnoses(data: ECGData) -> dict[str, int]:
    """``{diagnosis: records}`` of the diagnoses :data:`DIAGNOSIS_CLASSES` did not map, most frequent first."""
    step = next((s for s in data.preprocessing if s.get("step") == "map_diagnoses"), None)
    if step is None:
        raise ConfigError(f"{data!r} was not read by load_ludb (no 'map_diagnoses' step)")
    return dict(step["unmapped"])


def _number(text: str | None) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


# ------------------------------------------------------------------------------------ delineation
def read_delineation(root: Path, record: str) -> tuple[pd.DataFrame, Counter]:
    """The waves of one record, every lead: ``(table, quirks)``; the table has one row per wave:
    ``lead``, ``wave`` (P, QRS, T), ``onset``, ``peak``, ``offset`` (samples at 500 Hz, offset
    included), ``first`` / ``last`` (the lead's annotated span). MissingFileError for a missing
    annotation file, RecordError for an unreadable one or an unknown symbol.

    Parsed tables are kept in memory (the last 512 records) keyed by the files' paths, sizes and
    modification times, so :func:`load_ludb` and :func:`ludb_wave_masks` parse each record once."""
    base = Path(root).resolve() / "data" / record
    paths = [base.with_name(f"{record}.{ext}") for ext in LEAD_EXTENSIONS.values()]
    for path in paths:
        if not path.exists():
            raise MissingFileError(record, f"annotation file {path} does not exist")
    stamp = tuple((p.stat().st_size, p.stat().st_mtime_ns) for p in paths)
    table, quirks = _read_delineation(str(base), record, stamp)
    return table.copy(), Counter(quirks)


@lru_cache(maxsize=512)
def _read_delineation(base_name: str, record: str, stamp: tuple) -> tuple[pd.DataFrame, Counter]:  # noqa: ARG001
    # stamp (the files' sizes and mtimes) is only part of the lru_cache key: a changed file is re-read
    import wfdb

    rows, quirks = [], Counter()
    base = Path(base_name)
    for lead, ext in LEAD_EXTENSIONS.items():
        path = base.with_name(f"{record}.{ext}")
        try:
            ann = wfdb.rdann(str(base), ext)
        except Exception as exc:  # wfdb raises ValueError, IndexError, ... for a damaged file
            raise RecordError(record, f"cannot read {path.name}: {type(exc).__name__}: {exc}") from None
        symbols, samples = list(ann.symbol), np.asarray(ann.sample, dtype=np.int64)
        if not symbols:
            quirks["empty_lead"] += 1
            continue
        other = sorted(set(symbols) - set("()") - set(PEAKS))
        if other:
            raise RecordError(record, f"{path.name} holds annotation symbol(s) {other}; LUDB uses ( ) p N t")
        for wave, onset, peak, offset in parse_waves(symbols, samples, quirks):
            rows.append((lead, wave, onset, peak, offset, int(samples.min()), int(samples.max())))
    table = pd.DataFrame(rows, columns=["lead", "wave", "onset", "peak", "offset", "first", "last"])
    return table, quirks


def parse_waves(symbols: Sequence[str], samples: np.ndarray, quirks: Counter) -> list[tuple[str, int, int, int]]:
    """``[(wave, onset, peak, offset), ...]`` of one lead's annotation symbols (rules in the module docstring)."""
    groups = []  # [wave or None, token start, token end, has onset, has offset]
    for m in _WAVE_RE.finditer("".join(symbols)):
        if m.group("orphan") is None:
            groups.append([PEAKS[m.group("peak")], m.start(), m.end(), bool(m.group("on")), bool(m.group("off"))])
            if m.end() - m.start() - len(m.group("on")) - len(m.group("off")) > 1:
                quirks["repeated_peak"] += 1
        else:
            groups.append([None, m.start(), m.end(), False, False])
    waves = []
    for k, g in enumerate(groups):
        if g[0] is not None:
            waves.append(g)
            continue
        before = waves[-1] if waves and waves[-1][2] == g[1] and not waves[-1][4] else None
        after = (
            groups[k + 1]
            if k + 1 < len(groups) and groups[k + 1][0] and groups[k + 1][1] == g[2] and not groups[k + 1][3]
            else None
        )
        target = before or after
        if target is None:
            quirks["dropped_brackets"] += 1
            continue
        quirks["attached_brackets"] += 1
        target[1], target[2] = min(target[1], g[1]), max(target[2], g[2])
        target[3] = target[3] or "(" in symbols[g[1] : g[2]]
        target[4] = target[4] or ")" in symbols[g[1] : g[2]]
    out = []
    for wave, start, end, has_on, has_off in waves:
        span = samples[start:end]
        peak = int(samples[start + next(i for i, s in enumerate(symbols[start:end]) if s in PEAKS)])
        quirks["no_onset"] += not has_on
        quirks["no_offset"] += not has_off
        out.append((wave, int(span.min()), peak, int(span.max())))
    return out


def wave_intervals(waves: pd.DataFrame) -> pd.DataFrame:
    """Mask intervals ``lead``, ``wave`` (P, PR, QRS, ST, T), ``start``, ``end`` (exclusive) of one
    record's wave table (:func:`read_delineation`), PR and ST by the rules of the module docstring."""
    rows = []
    for lead, lw in waves.sort_values(["lead", "onset"], kind="stable").groupby("lead", sort=False):
        items = list(lw[["wave", "onset", "offset"]].itertuples(index=False, name=None))
        for wave, on, off in items:
            rows.append((lead, wave, on, off + 1))
        for (w1, on1, off1), (w2, on2, _) in zip(items, items[1:]):
            if w1 == "P" and w2 == "QRS" and on2 > on1:
                rows.append((lead, "PR", on1, on2))
            elif w1 == "QRS" and w2 == "T" and on2 > off1 + 1:
                rows.append((lead, "ST", off1 + 1, on2))
    return pd.DataFrame(rows, columns=["lead", "wave", "start", "end"])


@dataclass
class WaveMasks:
    """Per-lead wave masks of LUDB records (see the module docstring for the definitions).

    ``masks``: bool ``(n, 12, 5, T)`` (records, ``leads``, ``waves``, samples at ``fs``);
    ``annotated``: bool ``(n, 12, T)``, where each lead was delineated; ``intervals``: the same as
    a long table ``record_id, lead, wave, start, end`` (``end`` exclusive); ``quirks``: counts of
    the irregular annotations met.
    """

    record_ids: np.ndarray
    fs: float
    masks: np.ndarray
    annotated: np.ndarray
    intervals: pd.DataFrame
    quirks: dict = field(default_factory=dict)
    leads: tuple[str, ...] = LEADS12
    waves: tuple[str, ...] = WAVES

    def wave(self, name: str) -> np.ndarray:
        """Bool ``(n, 12, T)`` mask of one wave (``"P"``, ``"PR"``, ``"QRS"``, ``"ST"`` or ``"T"``)."""
        if name not in self.waves:
            raise ConfigError(f"wave {name!r} is unknown; choose one of {list(self.waves)}")
        return self.masks[:, :, self.waves.index(name)]

    def union(self) -> np.ndarray:
        """Bool ``(n, 5, T)``: the wave is marked in at least one lead."""
        return self.masks.any(axis=1)

    def consensus(self, min_leads: int | None = None) -> np.ndarray:
        """Bool ``(n, 5, T)``: marked in more than half of the leads annotated at that sample
        (``min_leads=None``), or in at least ``min_leads`` leads."""
        votes = self.masks.sum(axis=1, dtype=np.int64)
        if min_leads is None:
            return 2 * votes > self.annotated.sum(axis=1, dtype=np.int64)[:, None, :]
        min_leads = check_int("min_leads", min_leads, low=1, high=len(self.leads))
        return votes >= min_leads

    def regions(self, how: str = "union", min_leads: int | None = None) -> pd.DataFrame:
        """The lead-agnostic masks as a long table in the container's ``regions`` format
        ``record_id, class, start, end`` (``class`` is the wave name), one row per run."""
        if how not in ("union", "consensus"):
            raise ConfigError(f"how={how!r}: choose 'union' or 'consensus'")
        masks = self.union() if how == "union" else self.consensus(min_leads)
        rows = [
            (rid, wave, s, e)
            for i, rid in enumerate(self.record_ids)
            for w, wave in enumerate(self.waves)
            for s, e in mask_runs(masks[i, w])
        ]
        return pd.DataFrame(rows, columns=["record_id", "class", "start", "end"])


def mask_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[(start, end), ...]`` (end exclusive) of the runs of True in a 1-D boolean mask."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return [(int(s), int(e)) for s, e in zip(edges[::2], edges[1::2])]


def ludb_wave_masks(
    root: str | Path, record_ids: Sequence[str | int] | None = None, fs: float | None = None
) -> WaveMasks:
    """Per-lead P, PR, QRS, ST, T masks of LUDB records ``record_ids`` (default all, in
    ``RECORDS`` order) at ``fs`` Hz (default 500; positions scaled and rounded as
    :func:`ecgkd_lite.data.preprocess.resample` does, every interval at least one sample long)."""
    root = Path(root)
    records = read_records(root)
    if record_ids is not None:
        wanted = [str(r) for r in record_ids]
        missing = [r for r in wanted if r not in records]
        if missing:
            raise ConfigError(f"record ids {missing[:5]} are not in {root / RECORDS}")
        records = wanted
    fs = float(FS if fs is None else fs)
    if fs <= 0:
        raise ConfigError(f"fs must be positive; got {fs}")
    scale, n_samples = fs / FS, int(round(SECONDS * FS * fs / FS))
    masks = np.zeros((len(records), len(LEADS12), len(WAVES), n_samples), dtype=bool)
    annotated = np.zeros((len(records), len(LEADS12), n_samples), dtype=bool)
    tables, quirks = [], Counter()
    lead_pos, wave_pos = {lead: k for k, lead in enumerate(LEADS12)}, {w: k for k, w in enumerate(WAVES)}
    for i, record in enumerate(records):
        waves, q = read_delineation(root, record)
        quirks.update(q)
        iv = _scaled(wave_intervals(waves), scale, n_samples)
        for lead, wave, start, end in iv.itertuples(index=False, name=None):
            masks[i, lead_pos[lead], wave_pos[wave], start:end] = True
        first = waves.groupby("lead", sort=False)[["first", "last"]].first()
        spans = _scaled(
            pd.DataFrame(
                {"lead": first.index, "start": first["first"].to_numpy(), "end": first["last"].to_numpy() + 1}
            ),
            scale,
            n_samples,
        )
        for lead, start, end in spans.itertuples(index=False, name=None):
            annotated[i, lead_pos[lead], start:end] = True
        tables.append(iv.assign(record_id=record))
    intervals = (
        pd.concat(tables, ignore_index=True)[["record_id", "lead", "wave", "start", "end"]]
        if tables
        else pd.DataFrame(columns=["record_id", "lead", "wave", "start", "end"])
    )
    return WaveMasks(
        record_ids=np.asarray(records, dtype=str),
        fs=fs,
        masks=masks,
        annotated=annotated,
        intervals=intervals,
        quirks=dict(quirks),
    )


def _scaled(table: pd.DataFrame, scale: float, n_samples: int) -> pd.DataFrame:
    """``start`` / ``end`` scaled to another rate (rounded), clipped, at least one sample long."""
    if scale == 1:
        return table
    start = np.clip(np.round(table["start"].to_numpy() * scale), 0, n_samples - 1).astype(np.int64)
    end = np.clip(np.maximum(np.round(table["end"].to_numpy() * scale), start + 1), 0, n_samples).astype(np.int64)
    return table.assign(start=start, end=end)


def diagnostic_regions(record: str, classes: Iterable[str], waves: pd.DataFrame, n_samples: int) -> list[tuple]:
    """``[(record, class, start, end), ...]`` of one record's positive ``classes`` by :data:`REGION_RULES`."""
    union: dict[str, np.ndarray] = {}
    for wave, start, end in wave_intervals(waves)[["wave", "start", "end"]].itertuples(index=False, name=None):
        union.setdefault(wave, np.zeros(n_samples, dtype=bool))[start:end] = True
    rows = []
    for c in classes:
        if c not in REGION_RULES:
            continue
        wave = REGION_RULES[c]
        runs = [(0, n_samples)] if wave is None else mask_runs(union.get(wave, np.zeros(n_samples, dtype=bool)))
        rows += [(record, c, s, e) for s, e in runs]
    return rows


# ------------------------------------------------------------------------------------ parse
def _parse(
    root: Path, records: list[str], classes: list[str], unmapped: str, on_bad: str, check_lead_relations: bool
) -> ECGData:
    from ..progress import progress

    read, labels, regions, unknown, quirks = [], [], [], Counter(), Counter()
    for record in progress(records, desc="LUDB records", unit="rec"):
        rec = read_record(root, record)
        found, missing = map_diagnoses(rec.diagnoses)
        if missing and unmapped == "raise":
            raise UnknownLabelError(record, f"diagnosis {missing[0]!r} is not in ludb.DIAGNOSIS_CLASSES")
        unknown.update(missing)
        waves, q = read_delineation(root, record)
        quirks.update(q)
        regions += diagnostic_regions(record, [c for c in classes if c in found], waves, SECONDS * FS)
        read.append(rec)
        labels.append(found)
    y = np.array([[c in found for c in classes] for found in labels], dtype=np.float32).reshape(len(read), len(classes))
    fixed = sum(r.gain_fixed for r in read)
    steps = [
        {
            "step": "read_ludb",
            "fs": FS,
            "seconds": SECONDS,
            "records": len(read),
            "fold": 10,
            "role": "external test set",
        },
        {
            "step": "gain_fix",
            "rule": f"header gain == digital peak-to-peak -> {TRUE_GAIN_PER_MV:g} units/mV, baseline 0",
            "leads_fixed": fixed,
            "leads": 12 * len(read),
        },
        {
            "step": "map_diagnoses",
            "table": "ludb.DIAGNOSIS_CLASSES",
            "unmapped": dict(sorted(unknown.items(), key=lambda kv: (-kv[1], kv[0]))),
        },
        {"step": "delineation", "quirks": dict(sorted(quirks.items())), "region_rules": REGION_RULES},
    ]
    log.info(
        "ludb: header gain replaced by %g units/mV in %d of %d leads; %d distinct diagnoses unmapped",
        TRUE_GAIN_PER_MV,
        fixed,
        12 * len(read),
        len(unknown),
    )
    meta = pd.DataFrame(
        {
            "age": [r.age for r in read],
            "sex": [r.sex for r in read],
            "diagnoses": ["; ".join(r.diagnoses) for r in read],
        }
    )
    data = ECGData(
        signals=np.stack([r.signals for r in read]),
        labels=y,
        classes=tuple(classes),
        fs=float(FS),
        folds=np.full(len(read), 10),
        record_ids=[r.record for r in read],
        leads=LEADS12,
        snomed=tuple(CLASS_SNOMED[c] for c in classes),
        meta=meta,
        regions=pd.DataFrame(regions, columns=["record_id", "class", "start", "end"]),
        preprocessing=steps,
        source="ludb",
        unit="mV",
    )
    flagged = amplitude_check(data)
    data.preprocessing.append({"step": "amplitude_check", "range_mv": list(PLAUSIBLE_PTP_MV), "flagged": flagged})
    if flagged:
        log.warning("ludb: %d records have an implausible median peak-to-peak amplitude: %s", len(flagged), flagged)
    return screen_records(data, on_bad, reader="load_ludb", check_lead_relations=check_lead_relations)
