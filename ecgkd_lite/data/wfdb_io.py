"""WFDB record I/O both readers share: a tolerant header (``.hea``) parser, a format-16 ``.dat``
reader, lead reordering and the digital -> mV conversion.

Header layout (PhysioNet WFDB "header(5)" format)::

    <record> <n_signals> <fs> <n_samples> [time date]
    <file> <format>[+offset] <gain>[(<baseline>)][/<units>] <adc_res> <adc_zero> <init> <checksum> <block> <name>
    ...
    #Key: value            (comments; the Challenge keeps #Age, #Sex, #Dx here)

Unlike ``wfdb.rdheader`` it accepts a record name that carries a file extension on line 1 (the
Georgia ``E*.hea`` files of the Challenge 2020 write ``E00009.mat``). Physical units follow WFDB:
``mV = (digital - baseline) / gain``, the baseline defaulting to ``adc_zero`` and a missing or zero
gain to 200 per unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import ConfigError, HeaderParseError, LeadMismatchError, MissingFileError, TruncatedSignalError
from .leads import LEADS12, canonical_lead

#: WFDB's default gain (ADC units per physical unit) when a header gives none or 0
DEFAULT_GAIN = 200.0
#: physical units accepted and their factor to mV
UNIT_TO_MV = {"mv": 1.0, "uv": 1e-3, "μv": 1e-3}


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
        raise HeaderParseError(record, f"{path.name} line {lineno} announces {n_sig} signals but "
                                       f"{len(body) - 1} signal lines follow")
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
        gain = float(gain_txt) or DEFAULT_GAIN
        zero = float(adc_zero)
        baseline = float(base_txt.rstrip(")")) if base_txt else zero
    except ValueError:
        raise HeaderParseError(record, f"{where}: gain, baseline and adc zero must be numbers") from None
    units = units or "mV"
    if units.lower() not in UNIT_TO_MV:
        raise HeaderParseError(record, f"{where}: units {units!r} are not a voltage ({sorted(UNIT_TO_MV)})")
    return SignalSpec(file=file, fmt=fmt.split("x")[0].split(":")[0], byte_offset=byte_offset, gain=gain,
                      baseline=baseline, units=units, name=parts[8].strip())


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
        raise LeadMismatchError(record, f"expected the 12 standard leads {list(LEADS12)}; "
                                        f"the header has {len(names)}: {list(names)}")
    return [found.index(lead) for lead in LEADS12]


def digital_to_mv(digital: np.ndarray, header: Header, gains_per_mv: np.ndarray | None = None) -> np.ndarray:
    """``(L, T)`` digital samples -> float32 mV: ``(digital - baseline) / gain`` per lead."""
    gains = header.gains_per_mv() if gains_per_mv is None else np.asarray(gains_per_mv, dtype=np.float64)
    mv = (np.asarray(digital, dtype=np.float64) - header.baselines()[:, None]) / gains[:, None]
    return mv.astype(np.float32)


def read_format16(path: str | Path, header: Header) -> np.ndarray:
    """``(L, n_samples)`` int16 samples of a WFDB format-16 ``.dat`` (little-endian, interleaved).

    MissingFileError if absent, HeaderParseError for another format, TruncatedSignalError (with both
    sample counts) if the file holds fewer samples than the header says.
    """
    path = Path(path)
    record = header.record
    formats = sorted({s.fmt for s in header.signals})
    if formats != ["16"]:
        raise HeaderParseError(record, f"signal format(s) {formats} are not supported; only WFDB format 16 is")
    if not path.exists():
        raise MissingFileError(record, f"signal file {path} does not exist")
    raw = np.fromfile(path, dtype="<i2", offset=header.signals[0].byte_offset)
    have = raw.size // header.n_leads
    if have < header.n_samples:
        raise TruncatedSignalError(record, f"{path.name} holds {have} samples per lead; "
                                           f"the header says {header.n_samples}")
    return raw[: header.n_samples * header.n_leads].reshape(header.n_samples, header.n_leads).T
