"""WFDB record I/O both readers share: a tolerant header (``.hea``) parser, a format-16 ``.dat``
reader, lead reordering, the digital -> mV conversion, and the checks for silently wrong signals
with the bad-record policy (``on_bad``) both readers apply.

Header layout (PhysioNet WFDB "header(5)" format)::

    <record> <n_signals> <fs> <n_samples> [time date]
    <file> <format>[+offset] <gain>[(<baseline>)][/<units>] <adc_res> <adc_zero> <init> <checksum> <block> <name>
    ...
    #Key: value            (comments; the Challenge keeps #Age, #Sex, #Dx here)

Unlike ``wfdb.rdheader`` it accepts a record name that carries a file extension on line 1 (the
Georgia ``E*.hea`` files of the Challenge 2020 write ``E00009.mat``). Physical units follow WFDB:
``mV = (digital - baseline) / gain``, the baseline defaulting to ``adc_zero`` and a missing or zero
gain to 200 per unit (WFDB's rule for an uncalibrated signal; ``SignalSpec.gain_missing`` says so,
and a reader that needs calibrated signals reports it).

Checks against silently wrong signals:

* **size**: a ``.dat`` must hold exactly ``n_samples x n_signals x 2`` bytes (format 16) after its
  byte offset; fewer raises TruncatedSignalError, more SignalSizeError (e.g. a 500 Hz file in place
  of the 100 Hz one would otherwise be read as its first 2 s).
* **invalid samples**: WFDB's invalid-sample marker (-32768 in format 16) becomes NaN in mV, so the
  readers' bad-signal policy reports the record and lead (``on_bad="raise"``: BadSignalError;
  ``"drop"``: the record is dropped and listed), never -32.768 mV.
* **lead relations** (:func:`lead_relation_problem`): in a raw 12-lead record the limb leads obey
  Einthoven's and Goldberger's relations III = II - I, aVR = -(I + II)/2, aVL = I - II/2,
  aVF = II - I/2 up to the rounding of the digital samples. Measured on the 400 PTB-XL records of
  ptbxl-mini (100 and 500 Hz) and the 28 Challenge 2020 records of cinc2020-sample the residual is
  at most 2 ADC units (2 uV at 1000 units/mV), except one 500 Hz PTB-XL record (ecg_id 162) with a
  9-sample glitch (0.18 % of its samples, up to 2.6 mV). A relation counts as violated when more
  than :data:`RELATION_MAX_FRACTION` (5 %) of the samples miss it by more than
  :data:`RELATION_TOL_MV` (0.01 mV = 10 uV); swapping any two of the 12 lead names of a
  ptbxl-mini record violates at least one relation on at least 49 % of the samples. Swapped
  precordial leads (V1-V6) and electrode reversals at the patient (the device derives the limb
  leads after the reversal) are not detectable this way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..errors import (
    BadSignalError,
    ConfigError,
    HeaderParseError,
    LeadMismatchError,
    MissingFileError,
    RecordError,
    SignalSizeError,
    TruncatedSignalError,
)
from .container import ECGData, find_bad_records
from .leads import LEADS12, canonical_lead

log = logging.getLogger(__name__)

#: WFDB's default gain (ADC units per physical unit) when a header gives none or 0
DEFAULT_GAIN = 200.0
#: physical units accepted and their factor to mV
UNIT_TO_MV = {"mv": 1.0, "uv": 1e-3, "μv": 1e-3}
#: WFDB's invalid-sample marker per signal format (read as NaN)
INVALID_SAMPLE = {"16": -32768}
#: a sample misses a lead relation when its residual exceeds this (mV; 10 uV, 5x the largest
#: rounding residual measured on real records, see the module docstring)
RELATION_TOL_MV = 0.01
#: a relation is violated when more than this share of the samples miss it
RELATION_MAX_FRACTION = 0.05
#: lead -> (coefficient of I, coefficient of II): Einthoven's and Goldberger's relations
LEAD_RELATIONS = {"III": (-1.0, 1.0), "aVR": (-0.5, -0.5), "aVL": (1.0, -0.5), "aVF": (-0.5, 1.0)}
_RELATION_TEXT = {"III": "III = II - I", "aVR": "aVR = -(I + II)/2", "aVL": "aVL = I - II/2", "aVF": "aVF = II - I/2"}


@dataclass(frozen=True)
class SignalSpec:
    """One signal line of a header."""

    file: str
    fmt: str
    byte_offset: int
    gain: float  # ADC units per ``units``
    baseline: float
    units: str
    name: str
    gain_missing: bool = False  # the header gives a gain of 0: DEFAULT_GAIN is assumed (uncalibrated)


@dataclass(frozen=True)
class Header:
    """A parsed header: record name, sampling rate, length, one ``SignalSpec`` per lead, comments."""

    record: str
    fs: float
    n_samples: int
    signals: tuple[SignalSpec, ...]
    comments: dict

    @property
    def n_leads(self) -> int:
        return len(self.signals)

    @property
    def lead_names(self) -> list[str]:
        return [s.name for s in self.signals]

    def gains_per_mv(self) -> np.ndarray:
        """``(L,)`` ADC units per mV."""
        return np.array([s.gain / UNIT_TO_MV[s.units.lower()] for s in self.signals], dtype=np.float64)

    def baselines(self) -> np.ndarray:
        return np.array([s.baseline for s in self.signals], dtype=np.float64)

    def leads_without_gain(self) -> list[str]:
        """Names of the leads whose header gain is 0 (WFDB: uncalibrated; DEFAULT_GAIN assumed)."""
        return [s.name for s in self.signals if s.gain_missing]


def parse_header(path: str | Path, record: str | None = None) -> Header:
    """Parse ``path``; HeaderParseError (naming the record and line) on anything malformed,
    MissingFileError if the file does not exist."""
    path = Path(path)
    record = record or path.stem
    if not path.exists():
        raise MissingFileError(record, f"header file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise HeaderParseError(record, f"{path.name} is not a text header ({exc.reason})") from None
    lines = [ln.strip() for ln in text.splitlines()]
    body = [(i + 1, ln) for i, ln in enumerate(lines) if ln and not ln.startswith("#")]
    comments = _parse_comments(ln for ln in lines if ln.startswith("#"))
    if not body:
        raise HeaderParseError(record, f"{path.name} has no record line")
    lineno, first = body[0]
    n_sig, fs, n_samples = _parse_record_line(record, path.name, lineno, first)
    if len(body) - 1 != n_sig:
        raise HeaderParseError(
            record, f"{path.name} line {lineno} announces {n_sig} signals but {len(body) - 1} signal lines follow"
        )
    specs = tuple(_parse_signal_line(record, path.name, no, ln) for no, ln in body[1:])
    return Header(record=record, fs=fs, n_samples=n_samples, signals=specs, comments=comments)


def _parse_record_line(record: str, fname: str, lineno: int, line: str) -> tuple[int, float, int]:
    parts = line.split()
    where = f"{fname} line {lineno} ({line!r})"
    if len(parts) < 4:
        raise HeaderParseError(record, f"{where}: expected '<record> <n_signals> <fs> <n_samples>'")
    try:
        n_sig = int(parts[1])
        fs = float(parts[2].split("/")[0].split("(")[0])
        n_samples = int(parts[3])
    except ValueError:
        raise HeaderParseError(record, f"{where}: n_signals, fs and n_samples must be numbers") from None
    if n_sig < 1 or n_samples < 1:
        raise HeaderParseError(record, f"{where}: n_signals and n_samples must be positive")
    return n_sig, fs, n_samples


def _parse_signal_line(record: str, fname: str, lineno: int, line: str) -> SignalSpec:
    parts = line.split(maxsplit=8)
    where = f"{fname} line {lineno} ({line!r})"
    if len(parts) < 9:
        raise HeaderParseError(record, f"{where}: a signal line needs 9 fields ending with the lead name")
    file, fmt_field, gain_field, _res, adc_zero = parts[:5]
    fmt, _, offset = fmt_field.partition("+")
    gain_txt, _, units = gain_field.partition("/")
    gain_txt, _, base_txt = gain_txt.partition("(")
    try:
        byte_offset = int(offset) if offset else 0
        stated_gain = float(gain_txt)
        zero = float(adc_zero)
        baseline = float(base_txt.rstrip(")")) if base_txt else zero
    except ValueError:
        raise HeaderParseError(record, f"{where}: gain, baseline and adc zero must be numbers") from None
    units = units or "mV"
    if units.lower() not in UNIT_TO_MV:
        raise HeaderParseError(record, f"{where}: units {units!r} are not a voltage ({sorted(UNIT_TO_MV)})")
    return SignalSpec(
        file=file,
        fmt=fmt.split("x")[0].split(":")[0],
        byte_offset=byte_offset,
        gain=stated_gain or DEFAULT_GAIN,
        baseline=baseline,
        units=units,
        name=parts[8].strip(),
        gain_missing=stated_gain == 0,
    )


def _parse_comments(lines) -> dict:
    out = {}
    for ln in lines:
        key, sep, value = ln.lstrip("#").partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


def leads12_order(record: str, names: Sequence[str]) -> list[int]:
    """Positions of I, II, ..., V6 among the header's lead ``names`` (case-insensitive).

    LeadMismatchError naming the record and the leads found if any standard lead is missing,
    a name is not a standard lead, or the count is not 12.
    """
    try:
        found = [canonical_lead(n) for n in names]
    except ConfigError:
        found = None
    if found is None or len(found) != len(LEADS12) or sorted(found) != sorted(LEADS12):
        raise LeadMismatchError(
            record, f"expected the 12 standard leads {list(LEADS12)}; the header has {len(names)}: {list(names)}"
        )
    return [found.index(lead) for lead in LEADS12]


def digital_to_mv(digital: np.ndarray, header: Header, gains_per_mv: np.ndarray | None = None) -> np.ndarray:
    """``(L, T)`` digital samples -> float32 mV: ``(digital - baseline) / gain`` per lead; WFDB's
    invalid-sample marker (:data:`INVALID_SAMPLE`, -32768 in format 16) becomes NaN."""
    gains = header.gains_per_mv() if gains_per_mv is None else np.asarray(gains_per_mv, dtype=np.float64)
    digital = np.asarray(digital, dtype=np.float64)
    mv = (digital - header.baselines()[:, None]) / gains[:, None]
    markers = np.array([INVALID_SAMPLE.get(s.fmt, np.nan) for s in header.signals], dtype=np.float64)
    mv[digital == markers[:, None]] = np.nan
    return mv.astype(np.float32)


def read_format16(path: str | Path, header: Header) -> np.ndarray:
    """``(L, n_samples)`` int16 samples of a WFDB format-16 ``.dat`` (little-endian, interleaved).

    MissingFileError if absent, HeaderParseError for another format or signals spread over several
    files, TruncatedSignalError (with both sample counts) if the file holds fewer samples than the
    header says and SignalSizeError if it holds more (its size must be exactly
    ``n_samples x n_signals x 2`` bytes after the byte offset).
    """
    path = Path(path)
    record = header.record
    formats = sorted({s.fmt for s in header.signals})
    if formats != ["16"]:
        raise HeaderParseError(record, f"signal format(s) {formats} are not supported; only WFDB format 16 is")
    layouts = sorted({(s.file, s.byte_offset) for s in header.signals})
    if len(layouts) > 1:
        raise HeaderParseError(
            record,
            f"the signals lie in several files or at several byte offsets {layouts}; "
            "only one interleaved file is supported",
        )
    if not path.exists():
        raise MissingFileError(record, f"signal file {path} does not exist")
    offset = header.signals[0].byte_offset
    expected = header.n_samples * header.n_leads * 2
    size = path.stat().st_size - offset
    if size != expected:
        have = max(size, 0) / (2 * header.n_leads)
        error = TruncatedSignalError if size < expected else SignalSizeError
        raise error(
            record,
            f"{path.name} holds {have:g} samples per lead; the header says {header.n_samples} "
            f"({header.n_leads} signals x {header.n_samples} samples x 2 bytes = {expected} bytes "
            f"expected, {size} found)",
        )
    raw = np.fromfile(path, dtype="<i2", offset=offset)
    return raw.reshape(header.n_samples, header.n_leads).T


# ------------------------------------------------------------------------------------ signal checks
def lead_relation_problem(
    signals: np.ndarray,
    leads: Sequence[str] = LEADS12,
    *,
    tol_mv: float = RELATION_TOL_MV,
    max_fraction: float = RELATION_MAX_FRACTION,
) -> str | None:
    """The violated limb-lead relations of one ``(L, T)`` record in mV, as a sentence; None if all hold.

    A relation (:data:`LEAD_RELATIONS`) is violated when more than ``max_fraction`` of the samples
    miss it by more than ``tol_mv`` (NaN samples never count as a miss). ``leads`` must contain
    I, II, III, aVR, aVL and aVF.
    """
    pos = {lead: k for k, lead in enumerate(leads)}
    x = np.asarray(signals, dtype=np.float64)
    lead_i, lead_ii = x[pos["I"]], x[pos["II"]]
    missed = []
    for lead, (a, b) in LEAD_RELATIONS.items():
        residual = np.abs(x[pos[lead]] - (a * lead_i + b * lead_ii))
        share = float(np.mean(residual > tol_mv))
        if share > max_fraction:
            missed.append(
                f"{_RELATION_TEXT[lead]} (missed by more than {tol_mv:g} mV in {100 * share:.0f} % of "
                f"the samples, by up to {np.nanmax(residual):.3g} mV)"
            )
    if not missed:
        return None
    return "the lead names do not fit the limb-lead relations (leads swapped or mislabelled?): violates " + "; ".join(
        missed
    )


def screen_records(
    data: ECGData,
    on_bad: str,
    *,
    reader: str,
    check_lead_relations: bool = True,
    problems: Mapping[int, RecordError] | None = None,
) -> ECGData:
    """The bad-record policy of the real-data readers, on a freshly read container in mV.

    A record is refused for ``problems`` found while reading it (``{record index: RecordError}``,
    e.g. a header without labels), NaN/inf samples (WFDB's invalid-sample marker is read as NaN) or
    a flat lead (BadSignalError), or, with ``check_lead_relations``, a violated limb-lead relation
    (LeadMismatchError, :func:`lead_relation_problem`). Every record is checked first, then
    ``on_bad="raise"`` raises the first refusal (in record order), saying how many more records
    would be refused and how to skip them; ``on_bad="drop"`` drops every refused record, logs how
    many and why, and lists them in ``preprocessing`` (``drop_refused``: ``{record: problem}`` for
    header problems and lead relations; ``drop_bad``: the NaN/flat ones).
    """
    refused = dict(problems or {})
    for i, problem in find_bad_records(data.signals, data.leads):
        if i not in refused:
            if "NaN" in problem:
                problem += " (WFDB's invalid-sample marker -32768 is read as NaN)"
            refused[i] = BadSignalError(data.record_ids[i], problem)
    if check_lead_relations:
        for i in range(len(data)):
            problem = None if i in refused else lead_relation_problem(data.signals[i], data.leads)
            if problem:
                refused[i] = LeadMismatchError(data.record_ids[i], problem)
    if not refused:
        return data
    order = sorted(refused)
    if on_bad == "raise":
        first = refused[order[0]]
        how = f"{reader}(..., on_bad='drop') skips such records"
        if isinstance(first, LeadMismatchError):
            how += " (check_lead_relations=False turns this check off)"
        raise type(first)(
            first.record,
            f"{first.problem}; {len(order) - 1} more of the {len(data)} records would be refused as well; {how}",
        )
    keep = np.ones(len(data), dtype=bool)
    keep[order] = False
    other = {str(data.record_ids[i]): refused[i].problem for i in order if not isinstance(refused[i], BadSignalError)}
    bad = [str(data.record_ids[i]) for i in order if isinstance(refused[i], BadSignalError)]
    log.warning(
        "%s: dropped %d of %d records: %s",
        reader,
        len(order),
        len(data),
        "; ".join(f"{refused[i].record} ({refused[i].problem})" for i in order[:10])
        + (" ..." if len(order) > 10 else ""),
    )
    out = data.subset(keep)
    if other:
        out = out.derive({"step": "drop_refused", "records": other})
    return out.derive({"step": "drop_bad", "dropped": bad}) if bad else out
