"""Read a whole ECG recording (WFDB, EDF/EDF+, CSV, or the same uploaded as bytes) into one typed object."""
from __future__ import annotations

import csv
import io
import re
import tempfile
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path, PurePosixPath, PureWindowsPath

import edfio
import numpy as np
import pandas as pd
import wfdb
from scipy.signal import resample_poly

MODEL_FS = 360  # the MIT-BIH rate the beat rows are cut from
MIN_FS, MAX_FS = 100.0, 1000.0
MIN_DURATION_S = 10.0
MAX_DURATION_S = 48 * 3600.0  # two days; a day of two leads at 360 Hz takes ~1 GB end to end (bench/RESULTS.md)
# NaN gaps up to this long in the chosen lead are filled by linear interpolation (with a
# RecordingWarning): a device drops a few samples now and then, and a gap this short hides at
# most one beat. Longer gaps are refused, because a straight line there would read as a pause.
MAX_GAP_S = 1.0
# A time column may wander off an even grid by this fraction of a sample period (rounded
# timestamps, clock jitter); beyond it the samples are not evenly spaced and a rate would lie.
TIME_JITTER = 0.5
RECORDING_SUFFIXES = (".hea", ".dat", ".edf", ".csv")
UPLOAD_MAX_FILES = 16
CSV_CHUNK_ROWS = 1 << 20
HEADER_MAX_BYTES = 64 * 1024  # a header names a few columns; Python's csv module refuses fields over 128 KB
WFDB_HEADER_MAX_BYTES = 1024**2  # a few lines, a few thousand for a multi-segment record; wfdb reads it whole
UPLOAD_MAX_BYTES = 2 * 1024**3  # all files of one upload, a zip's members counted as unpacked

_TIME_UNITS = {"s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0, "ms": 1e-3, "msec": 1e-3,
               "min": 60.0, "minutes": 60.0, "h": 3600.0, "hours": 3600.0}
# Elapsed time as a clock: PhysioNet's rdsamp -pe ("0:00.003", "1:02:03.500", its units row says hh:mm:ss.mmm)
# and pandas' timedeltas, as wfdb's Record.to_dataframe().to_csv() writes them ("0 days 00:00:00.002777777").
CLOCK_UNIT = "hh:mm:ss.mmm"
_CLOCK = re.compile(r"^(?:(?P<days>\d+) days? )?(?:(?P<hours>\d+):)?(?P<minutes>\d+):(?P<seconds>\d+(?:\.\d*)?)$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})?$")  # ISO 8601
_INDEX_COLUMN = re.compile(r"^(?:|Unnamed: \d+)$")  # the row index pandas' DataFrame.to_csv writes first
# A device's export names its rate in a key,value line before the samples: "Sample Rate,512 hertz" (Apple Health).
_SAMPLE_RATE_LINE = re.compile(r'^\s*"?sample ?rate"?\s*[,;\t:]\s*"?\s*(?P<rate>\d+(?:[.,]\d+)?)\s*(?:hertz|hz)\b',
                               re.IGNORECASE)
_UNIT = re.compile(r"^(?!(?:nan|na|n/a|null|inf)$)[^\W\d]", re.IGNORECASE)  # a word, not a number or a gap: mV, µV
_NUMBER = re.compile(r"^\s*[-+]?(?:\d+[.,]?\d*|[.,]\d+)(?:[eE][-+]?\d+)?\s*$")
_TIME_COLUMN = re.compile(
    r"^(?:time|t|seconds|secs?|elapsed|elapsed[ _]time|timestamp)"
    r"(?:\s*[(\[]\s*(?P<bracket>\w+)\s*[)\]]|_(?P<suffix>\w+))?$", re.IGNORECASE)
_UNIT_IN_BRACKETS = re.compile(r"^(?P<name>.+?)\s*[(\[]\s*(?P<unit>[^)\]]+?)\s*[)\]]$")
_UNIT_SUFFIX = re.compile(r"^(?P<name>.+?)_(?P<unit>mV|uV|µV|V|adu|adc)$", re.IGNORECASE)
# Channels that are obviously not ECG, skipped when choosing the default lead.
_NOT_ECG = re.compile(
    r"annotation|^time|^t$|resp|spo2|sao2|pleth|ppg|pulse|^hr$|heart ?rate|acc|gyro|temp|eeg|emg|eog|"
    r"marker|event|status|trigger|battery|position|light|pressure|abp|^bp$|^sample|index|^idx$|counter",
    re.IGNORECASE)


class RecordingError(ValueError):
    """A recording the readers cannot use; the message is one sentence saying what to fix."""


class RecordingWarning(UserWarning):
    """Something the reader changed in a usable recording (short NaN gaps filled)."""


@dataclass(frozen=True, eq=False)
class ReferenceBeats:
    """The reference annotations of a WFDB record, as read from its .atr (beats and rhythm marks alike)."""

    samples: np.ndarray  # int64, in the input's own samples
    symbols: np.ndarray  # MIT-BIH symbols as read ('N', 'V', '+', ...); pipeline.dataset.AAMI picks the beats


@dataclass(frozen=True, eq=False)
class Recording:
    """One ECG recording in physical units at its own rate, whatever the file format was."""

    signals: np.ndarray  # float64, (n_samples, n_leads)
    fs: float
    lead_names: tuple[str, ...]
    units: tuple[str, ...]
    lead: int  # index of the chosen lead
    name: str  # file stem
    reference: ReferenceBeats | None = None

    @property
    def signal(self) -> np.ndarray:
        """The chosen lead, 1-D."""
        return self.signals[:, self.lead]

    @property
    def ecg_leads(self) -> list[int]:
        """The leads whose names look like an ECG's (not respiration, SpO2, a sample index, ...), and the chosen one."""
        return [i for i, name in enumerate(self.lead_names) if i == self.lead or _looks_like_ecg(name)]

    @property
    def duration_s(self) -> float:
        return self.signals.shape[0] / self.fs


# ---------------------------------------------------------------- rates

def _model_ratio(fs: float) -> Fraction:
    """up/down for resample_poly; one rational approximation that both position mappings share."""
    return Fraction(MODEL_FS / fs).limit_denominator(1000)


def to_model_rate(signal_1d: np.ndarray, fs: float) -> np.ndarray:
    """The lead resampled to 360 Hz (polyphase, zero-phase FIR), so positions map linearly back."""
    signal_1d = np.asarray(signal_1d, dtype=np.float64)
    ratio = _model_ratio(fs)
    if ratio == 1:
        return signal_1d
    # padtype="line": a baseline far from zero (raw ADC) would otherwise dip at both ends.
    return resample_poly(signal_1d, ratio.numerator, ratio.denominator, padtype="line")


def to_input_samples(positions_360, fs: float) -> np.ndarray:
    """Positions in the 360 Hz copy back to the input's own samples (rounded)."""
    ratio = _model_ratio(fs)
    positions = np.asarray(positions_360, dtype=np.float64)
    return np.rint(positions * ratio.denominator / ratio.numerator).astype(np.int64)


def to_model_samples(samples, fs: float) -> np.ndarray:
    """The input's own samples (e.g. reference beats) to positions in the 360 Hz copy (rounded)."""
    ratio = _model_ratio(fs)
    samples = np.asarray(samples, dtype=np.float64)
    return np.rint(samples * ratio.numerator / ratio.denominator).astype(np.int64)


# ---------------------------------------------------------------- lead choice and checks

def _looks_like_ecg(lead_name: str) -> bool:
    return not _NOT_ECG.search(lead_name)


def _choose_lead(lead_names: tuple[str, ...], lead: str | int | None, source: str) -> int:
    listed = ", ".join(f"{i} {name}" for i, name in enumerate(lead_names))
    if lead is None:
        for i, name in enumerate(lead_names):
            if re.search(r"\bmlii\b", name, re.IGNORECASE):
                return i
        for i, name in enumerate(lead_names):
            if _looks_like_ecg(name):
                return i
        raise RecordingError(f"{source} has no channel that looks like an ECG lead ({listed}); "
                             "choose one with lead=NAME or INDEX.")
    if isinstance(lead, str):
        folded = [name.casefold() for name in lead_names]
        if lead.strip().casefold() in folded:
            return folded.index(lead.strip().casefold())
        if not lead.strip().isdigit():
            raise RecordingError(f"{source} has no lead named '{lead}'; its leads are {listed}.")
        lead = int(lead)
    if isinstance(lead, (int, np.integer)) and not isinstance(lead, bool) and 0 <= lead < len(lead_names):
        return int(lead)
    raise RecordingError(f"{source} has no lead {lead}; its leads are {listed}.")


def _fill_gaps(values: np.ndarray, fs: float, lead_name: str, source: str) -> None:
    """Fill short NaN gaps of the chosen lead in place; refuse an empty, flat or long-gapped lead."""
    missing = np.isnan(values)
    if missing.all():
        raise RecordingError(f"Lead {lead_name} of {source} has no values (all missing); choose another lead.")
    present = values[~missing]
    if present.min() == present.max():
        raise RecordingError(f"Lead {lead_name} of {source} is flat (every value is {present[0]:g}); "
                             "check the electrode or choose another lead.")
    if not missing.any():
        return
    edges = np.diff(np.concatenate(([0], missing.view(np.int8), [0])))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    longest = int(np.argmax(stops - starts))
    if (stops[longest] - starts[longest]) / fs > MAX_GAP_S:
        raise RecordingError(
            f"Lead {lead_name} of {source} has {(stops[longest] - starts[longest]) / fs:.1f} s of missing values "
            f"from {starts[longest] / fs:.1f} s; gaps up to {MAX_GAP_S:g} s are filled, so cut the recording "
            "around longer ones.")
    where = np.flatnonzero(missing)
    kept = np.flatnonzero(~missing)
    values[where] = np.interp(where, kept, values[kept])
    warnings.warn(f"Lead {lead_name} of {source}: {len(starts)} gap(s) of missing values "
                  f"({where.size} samples, at most {(stops - starts).max() / fs:.2f} s) filled by linear "
                  "interpolation.", RecordingWarning, stacklevel=3)


def _finish(signals: np.ndarray, fs: float, lead_names, units, lead, name: str, source: str,
            reference: ReferenceBeats | None = None) -> Recording:
    """Checks every format shares: rate, length, the chosen lead's values."""
    if not MIN_FS <= fs <= MAX_FS:
        raise RecordingError(f"{source} is sampled at {fs:g} Hz; only {MIN_FS:g} to {MAX_FS:g} Hz is supported, "
                             "so resample it first (or correct the sampling rate given).")
    _check_duration(signals.shape[0] / fs, source)
    if signals.shape[0] / fs < MIN_DURATION_S:
        raise RecordingError(f"{source} holds {signals.shape[0] / fs:.1f} s of signal; at least "
                             f"{MIN_DURATION_S:g} s is needed to find and classify beats.")
    lead_names = tuple(str(n) for n in lead_names)
    index = _choose_lead(lead_names, lead, source)
    _fill_gaps(signals[:, index], fs, lead_names[index], source)
    return Recording(signals=signals, fs=float(fs), lead_names=lead_names, units=tuple(units), lead=index,
                     name=name, reference=reference)


def _check_duration(seconds: float, source: str) -> None:
    """Refuse a recording longer than MAX_DURATION_S: from its header before reading it, where the format says."""
    if seconds > MAX_DURATION_S:
        raise RecordingError(f"{source} is {seconds / 3600:,.1f} hours long; up to {MAX_DURATION_S / 3600:g} hours "
                             "at a time is supported, so split it.")


def _check_fs_argument(fs: float | None, file_fs: float, source: str) -> None:
    if fs is not None and not np.isclose(fs, file_fs, rtol=1e-3):
        raise RecordingError(f"A sampling rate of {fs:g} Hz was given but {source} says {file_fs:g} Hz; leave the rate out "
                             "for WFDB and EDF files, which carry their own.")


def _reason(error: Exception) -> str:
    """A reader's own error as a short clause of plain ASCII: a damaged file's bytes can end up in its message."""
    text = " ".join("".join(c if " " <= c <= "~" else "?" for c in str(error)).split())
    return text if len(text) <= 120 else text[:117] + "..."


# ---------------------------------------------------------------- WFDB

def _check_signal_files(header_path: Path, header) -> None:
    """Every file the header names is beside it: a missing one gets its own sentence before wfdb's error.

    A multi-segment record's master header names one header per segment ("~" for a gap), each naming its
    signal files. wfdb's header syntax allows no folder in a file name, so an uploaded header cannot point
    outside its folder.
    """
    source = header_path.name
    seen = set()
    for segment in getattr(header, "seg_name", None) or []:
        if segment == "~":  # a gap
            continue
        if segment in seen:  # wfdb would read its file again for each mention
            raise RecordingError(f"{source} names the segment {segment} more than once; export the record again.")
        seen.add(segment)
        if not (header_path.parent / f"{segment}.hea").is_file():
            raise RecordingError(f"The segment header {segment}.hea named in {source} is missing; put every "
                                 "segment's .hea and .dat beside the record's header.")
        segment_header = _read_header(header_path.parent / f"{segment}.hea", f"{segment}.hea, a segment of {source},")
        if getattr(segment_header, "seg_name", None):  # WFDB has no segments of segments (and no loops)
            raise RecordingError(f"{segment}.hea, a segment of {source}, is itself a multi-segment header; "
                                 "export the record again.")
        _check_files(header_path.parent, segment_header.file_name, f"{segment}.hea")
    _check_files(header_path.parent, getattr(header, "file_name", None) or [], source)


def _check_files(folder: Path, file_names, source: str) -> None:
    for file_name in dict.fromkeys(file_names):
        if file_name != "~" and not (folder / file_name).is_file():
            raise RecordingError(f"The signal file {file_name} named in {source} is missing; "
                                 "put it beside the header.")


def _read_header(header_path: Path, source: str):
    """wfdb's reading of a header, refused with a sentence when it is too large or malformed."""
    if header_path.stat().st_size > WFDB_HEADER_MAX_BYTES:
        raise RecordingError(f"{source} is {header_path.stat().st_size / 1024**2:.0f} MB; a WFDB header is a few lines "
                             "of text, so this is not one: export the record again.")
    try:
        return wfdb.rdheader(str(header_path.with_suffix("")))
    except Exception as error:  # wfdb raises many types for a malformed header
        raise RecordingError(f"{source} is not a readable WFDB header ({_reason(error)}); export the record "
                             "again.") from error


def _read_wfdb(header_path: Path, fs: float | None, lead) -> Recording:
    source = header_path.name
    record_path = str(header_path.with_suffix(""))
    header = _read_header(header_path, source)
    if not header.n_sig:
        raise RecordingError(f"{source} names no signals; a WFDB header lists one line per lead.")
    length = max(header.sig_len or 0, sum(getattr(header, "seg_len", None) or []))  # a segment list may disagree
    if length and header.fs:
        _check_duration(length / header.fs, source)
    _check_signal_files(header_path, header)
    _check_fs_argument(fs, float(header.fs), source)
    try:
        record = wfdb.rdrecord(record_path, m2s=True)  # a multi-segment record as one record (no-op for one)
    except Exception as error:  # a truncated or mismatched signal file
        raise RecordingError(f"The signals of {source} cannot be read ({_reason(error)}); check that the .dat file "
                             "belongs to this header and is complete.") from error
    reference = None
    atr_path = header_path.with_suffix(".atr")
    if atr_path.is_file():
        try:
            ann = wfdb.rdann(record_path, "atr")
        except Exception as error:
            raise RecordingError(f"{atr_path.name} is not a readable WFDB annotation file ({_reason(error)}); "
                                 "remove it or export it again.") from error
        reference = ReferenceBeats(samples=np.asarray(ann.sample, dtype=np.int64),
                                   symbols=np.asarray(ann.symbol))
    return _finish(record.p_signal, float(record.fs), record.sig_name, record.units, lead,
                   header_path.stem, source, reference)


# ---------------------------------------------------------------- EDF

def _read_edf(path: Path, fs: float | None, lead) -> Recording:
    """EDF/EDF+ with edfio (fastest and exact of the readers measured, bench/RESULTS.md).

    Channels may have different rates: the leads kept are those at the chosen lead's rate.
    """
    source = path.name
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            edf = edfio.read_edf(path)
    except Exception as error:  # edfio raises ValueError and others for a damaged header
        raise RecordingError(f"{source} is not a readable EDF file ({_reason(error)}); export it again.") from error
    for warning in caught:  # edfio reads what a file cut short holds, and says so only as a UserWarning
        text = str(warning.message)
        counts = re.search(r"indicates (\d+) data records, but file contains (\d+)", text)
        if counts:
            text = (f"{source}: its header promises {counts[1]} data records but the file holds {counts[2]} (cut short?); "
                    "only those were read.")
        elif "Incomplete data record" in text:
            text = f"{source} ends inside a data record (cut short?); that last piece was left out."
        else:
            text = f"{source}: {_reason(warning.message)}"
        warnings.warn(text, RecordingWarning, stacklevel=3)
    if not edf.is_continuous:
        raise RecordingError(f"{source} is a discontinuous EDF+D file; export a continuous EDF (EDF+C).")
    _check_duration(edf.duration, source)
    channels = edf.signals  # edfio leaves out the "EDF Annotations" channel
    if not channels:
        raise RecordingError(f"{source} holds no signal channels.")
    names = tuple(s.label for s in channels)
    chosen = channels[_choose_lead(names, lead, source)]
    file_fs = float(chosen.sampling_frequency)
    _check_fs_argument(fs, file_fs, source)
    kept = [s for s in channels if s.sampling_frequency == chosen.sampling_frequency]
    signals = np.empty((len(chosen.digital), len(kept)), dtype=np.float64)
    for column, channel in enumerate(kept):
        signals[:, column] = channel.data
    kept_names = tuple(s.label for s in kept)
    return _finish(signals, file_fs, kept_names, [s.physical_dimension or "unknown" for s in kept],
                   kept.index(chosen), path.stem, source)


# ---------------------------------------------------------------- CSV

def _time_scale(column: str, unit: str | None = None) -> float | None:
    """Seconds per unit of a time column's values (0.0 for clock times), or None when the column is not a time
    column. `unit` is the column's cell in a units row, when the file has one."""
    match = _TIME_COLUMN.match(column.strip())
    if not match:
        return None
    unit = (unit or match["bracket"] or match["suffix"] or "s").lower()
    if unit == CLOCK_UNIT:
        return 0.0
    if unit not in _TIME_UNITS:
        raise RecordingError(f"The time column '{column}' has unit '{unit}'; give it in seconds (time_s) "
                             "or milliseconds (time_ms).")
    return _TIME_UNITS[unit]


def _lead_and_unit(column: str) -> tuple[str, str]:
    column = column.strip()
    match = _UNIT_IN_BRACKETS.match(column) or _UNIT_SUFFIX.match(column)
    if match:
        return match["name"].strip(), match["unit"]
    return column, "unknown"


def _unquote(cell: str) -> str:
    """A header or units cell without the single quotes PhysioNet's rdsamp puts round them ('MLII')."""
    cell = cell.strip()
    return cell[1:-1].strip() if len(cell) >= 2 and cell[0] == cell[-1] == "'" else cell


def _clock_seconds(cell: str) -> float | None:
    """Seconds in a time cell written as a clock (see _CLOCK) or an ISO date and time, or None when it is neither."""
    text = _unquote(cell.strip().strip('"'))
    match = _CLOCK.match(text)
    if not match:
        if not _DATETIME.match(text):
            return None
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        # a time without a zone is read as UTC, so a clock change for summer time cannot open a gap of an hour
        return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()
    days, hours = int(match["days"] or 0), int(match["hours"] or 0)
    return ((days * 24 + hours) * 60 + int(match["minutes"])) * 60 + float(match["seconds"])


def _fs_from_clock(head: list[float], last: float, n_rows: int, header_lines: int, source: str) -> float:
    """The rate of a clock-time column, from its first rows and its last.

    Parsing every clock cell costs ~3 µs a row (100 s for a day at 360 Hz) where a number costs nothing, so
    only the first rows (the head read) and the last are parsed: the rate is the whole span's, and the first
    rows must sit on its grid. The programs that write clock times (rdsamp, pandas) write them from a fixed
    rate; rows missing in the middle would show as a span too long for the rows, so a grid the first rows miss.
    """
    fs = (n_rows - 1) / (last - head[0]) if last > head[0] else 0.0
    if fs > 0 and abs(fs - round(fs)) < 1e-4 * fs:
        fs = float(round(fs))
    off_grid = np.abs(np.asarray(head) - head[0] - np.arange(len(head)) / fs) * fs if fs > 0 else np.array([np.inf])
    if not fs > 0 or off_grid.max() > TIME_JITTER:
        raise RecordingError(f"The time column of {source} does not keep one rate: its {n_rows:,} rows span "
                             f"{last - head[0]:g} s, and its first rows (from line {header_lines + 1}) are not "
                             f"evenly spaced at that rate; fill the gaps, or give the sampling rate and drop the time column.")
    return fs


def _fs_from_time(time_s: np.ndarray, source: str, header_lines: int = 1) -> float:
    """The rate an evenly spaced time column describes; lines in messages count the header as line 1."""
    if len(time_s) < 2:
        raise RecordingError(f"{source} holds {len(time_s)} sample; at least {MIN_DURATION_S:g} s of signal is "
                             "needed to find and classify beats.")
    steps = np.diff(time_s)
    backwards = np.flatnonzero(~(steps > 0))
    if backwards.size:
        i = backwards[0] + 1  # the sample that is not after the one before it
        raise RecordingError(f"The time column of {source} does not increase at line {i + header_lines + 1} "
                             f"({time_s[i - 1]:g} then {time_s[i]:g} s); sort the rows or drop duplicates.")
    fs = (len(time_s) - 1) / (time_s[-1] - time_s[0])
    if abs(fs - round(fs)) < 1e-4 * fs:
        fs = float(round(fs))  # timestamps are printed rounded; the rate they describe is whole
    del steps, backwards
    # distance of each timestamp from an even grid, in samples; built in place (24 h is 21 M values)
    off_grid = np.arange(len(time_s), dtype=np.float64)
    off_grid /= fs
    off_grid += time_s[0]
    np.subtract(time_s, off_grid, out=off_grid)
    if np.abs(off_grid, out=off_grid).max() * fs > TIME_JITTER:
        del off_grid
        steps = np.diff(time_s)
        typical = float(np.median(steps))
        odd = int(np.argmax(np.abs(steps - typical)))
        raise RecordingError(f"The time column of {source} is not evenly spaced (a step of {steps[odd]:g} s at "
                             f"line {odd + header_lines + 2}, where most steps are {typical:g} s); fill the gaps, "
                             "or give the sampling rate and drop the time column.")
    return fs


def _csv_blocks(path: Path, layout: _CsvLayout, source: str, usecols: list[int] | None):
    """The CSV's `usecols` columns (None: all) as float64 arrays, CSV_CHUNK_ROWS rows at a time, so text is never
    held all at once. A units row under the header is skipped; "-" (rdsamp's invalid sample) reads as a gap.

    pandas' C parser, chunked: measured against pyarrow's streaming reader on a 4-hour CSV it
    peaked at half the memory and gave it back (bench/RESULTS.md). Every column is read as
    float64, so raw ADC integers need no type guess that a later "1.5" would break.
    """
    try:
        # index_col=False for rows that end in a delimiter the header lacks: pandas' own remedy for them
        with pd.read_csv(path, sep=layout.delimiter, decimal=layout.decimal, dtype=np.float64,
                         chunksize=CSV_CHUNK_ROWS, usecols=usecols, na_values=["-"],
                         header=None if layout.preamble else "infer", names=layout.columns if layout.preamble else None,
                         skiprows=range(layout.preamble) if layout.preamble else None if layout.units is None else [1],
                         index_col=False if layout.trailing else None) as reader:
            for chunk in reader:
                yield chunk.to_numpy()
    except ValueError as error:  # pandas' ParserError and UnicodeDecodeError are ValueErrors too
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
        if fields:
            raise RecordingError(f"Line {fields[2]} of {source} has {fields[3]} values where the header names "
                                 f"{fields[1]} columns; give every row one value per column.") from error
        text = re.match(r"could not convert string to float: (.*)", message)
        if text:
            raise RecordingError(f"{source} holds text ({_reason(text[1])}) where numbers should be; keep only the time "
                                 f"column and the lead columns, with '{layout.decimal}' as the decimal point.") from error
        raise RecordingError(f"{source} cannot be read as a CSV ({message}); save it as delimited text with "
                             "one header row.") from error


def _cut_off(path: Path, last_leads: np.ndarray, last_times: np.ndarray | None) -> bool:
    """Whether the CSV's last line is a piece of one: no line end after it, and a value missing or its time off
    the step of the lines before (an upload or a copy cut short). A whole last line without a line end is kept."""
    with open(path, "rb") as f:
        f.seek(-1, io.SEEK_END)
        if f.read(1) in (b"\n", b"\r") or len(last_leads) < 3:
            return False
    if np.isnan(last_leads[-1]).any():
        return True
    if last_times is None:
        return False
    step = last_times[-2] - last_times[-3]
    return bool(abs(last_times[-1] - last_times[-2] - step) > 0.5 * abs(step))


@dataclass(frozen=True)
class _CsvLayout:
    """What a CSV's header and first rows say: how values are written, where the time and the leads are."""

    delimiter: str
    decimal: str
    columns: list[str]
    units: list[str] | None  # the cells of a units row under the header (PhysioNet's rdsamp -v), else None
    rows: list[list[str]]  # the first whole rows of samples, as text
    time_index: int | None
    scale: float | None  # seconds per unit of the time column; 0.0 for clock times ("0:00.003")
    lead_indices: list[int]
    trailing: bool  # rows end in a delimiter the header lacks
    preamble: int = 0  # key,value lines before the samples and no header row (a device's export), else 0
    rate: float | None = None  # the rate such a preamble states

    @property
    def header_lines(self) -> int:
        return self.preamble or (1 if self.units is None else 2)

    @property
    def clock(self) -> bool:
        return self.scale == 0.0


def _csv_layout(path: Path, source: str) -> _CsvLayout:
    """Read the header and the first rows (once, at most ~130 KB) and check them; refuse what cannot be a recording."""
    with open(path, "rb") as f:
        head = f.read(HEADER_MAX_BYTES + 64 * 1024 + 1)
    end = head.find(b"\n")
    first_line = head if end < 0 else head[:end + 1]
    first_rows = head[len(first_line):len(first_line) + 64 * 1024].decode("utf-8", errors="replace")
    if b"\x00" in head:  # compressed, binary, or UTF-16 text ("Unicode text" from a spreadsheet)
        raise RecordingError(f"{source} is not plain text (it holds NUL bytes: compressed, binary or UTF-16?); "
                             "save the recording as CSV in UTF-8.")
    if len(first_line) > HEADER_MAX_BYTES:
        raise RecordingError(f"The first line of {source} is over {HEADER_MAX_BYTES // 1024} KB; it should be a "
                             "header row naming the columns, e.g. time_s,MLII.")
    first_line = first_line.decode("utf-8-sig", errors="replace").rstrip("\r\n")
    if not first_line.strip():
        raise RecordingError(f"{source} is empty; a CSV recording needs a header row and one row per sample.")
    export = _device_export([first_line] + first_rows.splitlines(), source)
    if export:
        return export
    delimiter = max(",;\t", key=first_line.count)
    # A spreadsheet set to a European locale writes "0,125;-0,31": semicolons between values, decimal commas.
    decimal = "," if delimiter != "," and re.search(r"\d,\d", first_rows) else "."
    columns = [_unquote(name) for name in next(csv.reader([first_line], delimiter=delimiter))]
    if all(re.fullmatch(r"[-+]?[\d.eE+-]+", c) for c in columns):
        raise RecordingError(f"{source} has no header row; add one naming the columns, e.g. time_s,MLII.")
    whole_lines = [line.rstrip("\r") for line in first_rows.split("\n")[:-1] or [first_rows]]
    rows = [row for row in csv.reader(whole_lines, delimiter=delimiter) if row]
    units = None
    if rows and all(_UNIT.match(_unquote(cell)) for cell in rows[0]):  # 'seconds','mV','mV'
        units = [_unquote(cell) for cell in rows.pop(0)] + [""] * len(columns)
    first_row = rows[0] if rows else []
    index_columns = [i for i, c in enumerate(columns) if _INDEX_COLUMN.match(c)]
    time_index = next((i for i, c in enumerate(columns) if _time_scale(c, units and units[i]) is not None), None)
    if time_index is None and index_columns and first_row and _clock_seconds(first_row[index_columns[0]]) is not None:
        time_index = index_columns[0]  # wfdb's to_dataframe().to_csv(): the index is the elapsed time
    scale = None
    if time_index is not None:
        scale = _time_scale(columns[time_index], units and units[time_index]) or 0.0
        if len(first_row) > time_index and _clock_seconds(first_row[time_index]) is not None:
            scale = 0.0
    lead_indices = [i for i in range(len(columns)) if i != time_index and i not in index_columns]
    if not lead_indices:
        raise RecordingError(f"{source} has no lead columns; add one column of samples per lead.")
    # Rows may end in a delimiter the header lacks ("0.004,1.25,"): an empty last value, read as nothing.
    trailing = len(first_row) > len(columns) and not any(v.strip() for v in first_row[len(columns):])
    layout = _CsvLayout(delimiter, decimal, columns, units, rows, time_index, scale, lead_indices, trailing)
    if len(first_row) > len(columns) and not trailing:  # pandas would take the first column for a row index
        raise RecordingError(f"Line {layout.header_lines + 1} of {source} has {len(first_row)} values where the "
                             f"header names {len(columns)} columns; give every row one value per column.")
    return layout


def _device_export(lines: list[str], source: str) -> _CsvLayout | None:
    """A device's one-lead export, or None: key,value lines, one of them the rate ("Sample Rate,512 hertz"), then
    one sample per line. The Apple Health app writes an Apple Watch ECG so (with "Lead,Lead I" and "Unit,µV")."""
    rate_line = next((i for i, line in enumerate(lines[:40]) if _SAMPLE_RATE_LINE.match(line)), None)
    if rate_line is None:
        return None
    start = next((i for i in range(rate_line + 1, len(lines)) if _NUMBER.match(lines[i])), None)
    if start is None:
        return None  # a rate line, but no lone samples after it: read as an ordinary CSV (refused there if need be)
    odd = next((i for i in range(start, len(lines) - 1) if lines[i].strip() and not _NUMBER.match(lines[i])), None)
    if odd is not None:
        raise RecordingError(f"Line {odd + 1} of {source} holds '{_reason(lines[odd])}' where a sample should be; after "
                             "its key,value lines (Sample Rate, ...) the file should hold one number per line.")
    meta = {}
    for row in csv.reader(line for line in lines[:start] if line.strip()):
        meta[row[0].strip().casefold()] = ",".join(row[1:]).strip()
    column = f"{meta.get('lead') or 'ECG'} ({meta.get('unit') or 'unknown'})"
    samples = "\n".join(lines[start:])
    return _CsvLayout(delimiter="\t", decimal="," if re.search(r"\d,\d", samples) else ".", columns=[column],
                      units=None, rows=[], time_index=None, scale=None, lead_indices=[0], trailing=False,
                      preamble=start, rate=float(_SAMPLE_RATE_LINE.match(lines[rate_line])["rate"].replace(",", ".")))


def _check_line_lengths(path: Path, source: str) -> None:
    """Refuse a line over HEADER_MAX_BYTES before pandas reads it: its tokenizer holds a whole line's fields,
    about 5 bytes of memory a byte of line (a 100 MB line took 485 MB). One pass over the bytes, ~1.6 ms a MB."""
    line, carried = 1, 0  # lines read so far (the header, checked before), and the bytes of the unfinished one
    with open(path, "rb") as f:
        f.readline()
        while block := f.read(16 << 20):
            ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
            lengths = np.diff(ends, prepend=-1)  # each line ending here, the first with its part from before
            if lengths.size:
                lengths[0] += carried
            over = np.flatnonzero(lengths > HEADER_MAX_BYTES)
            if over.size:
                line += int(over[0])
                break
            line += ends.size
            carried = (carried if ends.size == 0 else -1 - int(ends[-1])) + len(block)
            if carried > HEADER_MAX_BYTES:
                break
        else:
            return
    raise RecordingError(f"Line {line + 1} of {source} is over {HEADER_MAX_BYTES // 1024} KB; a recording's CSV "
                         "holds one sample per line: a time and one value per lead.")


def _read_csv(path: Path, fs: float | None, lead) -> Recording:
    source = path.name
    layout = _csv_layout(path, source)
    _check_line_lengths(path, source)
    time_index, lead_indices = layout.time_index, layout.lead_indices
    if layout.rate is not None:
        if fs is not None and not np.isclose(fs, layout.rate, rtol=1e-3):
            raise RecordingError(f"A sampling rate of {fs:g} Hz was given but {source} says {layout.rate:g} Hz; "
                                 "leave the rate out, the file carries its own.")
        fs = layout.rate
    if time_index is None and fs is None:
        raise RecordingError(f"{source} has no time column (time_s, time, t, ...) and no sampling rate was given; "
                             "add a time column in seconds or give the sampling rate in Hz.")
    read_time = time_index is not None and not layout.clock  # clock times are parsed from the text, not here
    usecols = sorted(lead_indices + ([time_index] if read_time else []))
    at = {column: k for k, column in enumerate(usecols)}
    if len(usecols) == len(layout.columns):
        usecols = None  # all of them: pandas then also refuses a row with a value too many, which usecols lets by
    time_blocks, lead_blocks = [], []
    for block in _csv_blocks(path, layout, source, usecols):
        if read_time:
            time_blocks.append(block[:, at[time_index]].copy())
        lead_blocks.append(block[:, [at[i] for i in lead_indices]])
        del block
    if not lead_blocks or sum(len(b) for b in lead_blocks) == 0:
        raise RecordingError(f"{source} has a header but no rows of samples.")
    cut = _cut_off(path, lead_blocks[-1], time_blocks[-1] if time_blocks else None)
    if cut:
        lead_blocks[-1] = lead_blocks[-1][:-1]
        if time_blocks:
            time_blocks[-1] = time_blocks[-1][:-1]
        warnings.warn(f"{source} ends in the middle of a line, as a file cut off does: its last line was left out.",
                      RecordingWarning, stacklevel=3)
    if time_index is None:
        file_fs = float(fs)
    elif layout.clock:
        file_fs = _fs_from_clock(_clock_column(layout.rows, time_index, source),
                                 _last_clock(path, layout.delimiter, time_index, cut, source),
                                 sum(len(b) for b in lead_blocks), layout.header_lines, source)
    else:
        time_s = np.concatenate(time_blocks) * layout.scale
        del time_blocks
        if np.isnan(time_s).any():
            raise RecordingError(f"The time column of {source} has empty cells; fill them, or drop the column "
                                 "and give the sampling rate.")
        file_fs = _fs_from_time(time_s, source, layout.header_lines)
        del time_s
    if time_index is not None and fs is not None and not np.isclose(fs, file_fs, rtol=1e-3):
        raise RecordingError(f"A sampling rate of {fs:g} Hz was given but the time column of {source} says "
                             f"{file_fs:g} Hz; drop one of them.")
    signals = np.concatenate(lead_blocks)
    del lead_blocks
    if np.isinf(signals).any():  # "inf", or digits past float range, which parse as infinite
        row, column = np.argwhere(np.isinf(signals))[0]
        raise RecordingError(f"{source} holds a value too large to be a sample at line "
                             f"{row + layout.header_lines + 1} (column {layout.columns[lead_indices[column]]}); "
                             "correct or delete that cell.")
    named = [_lead_and_unit(layout.columns[i]) for i in lead_indices]
    units = [(layout.units[i] if layout.units else "") or unit for i, (_, unit) in zip(lead_indices, named)]
    return _finish(signals, file_fs, [name for name, _ in named], units, lead, path.stem, source)


def _clock_column(rows: list[list[str]], index: int, source: str) -> list[float]:
    """The clock times of the first rows (the head read), in seconds."""
    times = [_clock_seconds(row[index]) if len(row) > index else None for row in rows]
    if len(times) < 2 or None in times:
        bad = times.index(None) if None in times else len(times)
        shown = rows[bad][index] if bad < len(rows) and len(rows[bad]) > index else "nothing"
        raise RecordingError(f"The time column of {source} holds {_reason(shown)} where a time such as 0:00.003 "
                             "should be; give every row its time, or give the sampling rate and drop the time column.")
    return times


def _last_clock(path: Path, delimiter: str, index: int, cut: bool, source: str) -> float:
    """The clock time of the last row read (the line before the last when that one was cut off)."""
    with open(path, "rb") as f:
        f.seek(max(f.seek(0, io.SEEK_END) - 64 * 1024, 0))
        lines = [line for line in f.read().decode("utf-8", errors="replace").splitlines() if line.strip()]
    row = next(csv.reader([lines[-2 if cut else -1]], delimiter=delimiter)) if len(lines) > int(cut) else []
    seconds = _clock_seconds(row[index]) if len(row) > index else None
    if seconds is None:
        raise RecordingError(f"The last row of {source} has no time such as 0:00.003 in its time column; "
                             "give every row its time, or give the sampling rate and drop the time column.")
    return seconds


# ---------------------------------------------------------------- entry points

def read_recording(path, *, fs: float | None = None, lead: str | int | None = None) -> Recording:
    """Read a recording from disk: a WFDB record (.hea, .dat or no extension), an .edf, a .csv, or a .zip of one
    (read as an upload of its files is)."""
    path = Path(path)
    if path.is_dir():
        raise RecordingError(f"{path} is a folder; give the recordings in it, e.g. {path / '*.hea'}.")
    suffix = path.suffix.lower()
    if suffix == ".zip" and path.is_file():
        return read_recording_files({path.name: path.read_bytes()}, fs=fs, lead=lead)
    bare_record = path.with_name(path.name + ".hea")  # a record given without extension
    if suffix in (".hea", ".dat", "") or (suffix not in RECORDING_SUFFIXES and bare_record.is_file()):
        header = path.with_suffix(".hea") if suffix in (".hea", ".dat") else bare_record
        if not header.is_file() and not header.with_suffix(".dat").is_file():
            raise RecordingError(f"{path} does not exist; check the path.")
        if not header.is_file():
            raise RecordingError(f"The WFDB header {header.name} is missing; a WFDB record needs its .hea "
                                 "beside its .dat.")
        return _read_wfdb(header, fs, lead)
    if suffix not in RECORDING_SUFFIXES + (".zip",):
        raise RecordingError(f"{path.name} is not a recording this reader knows; give a WFDB record "
                             "(.hea with its .dat), an .edf, a .csv, or a .zip of one.")
    if not path.is_file():
        raise RecordingError(f"{path} does not exist; check the path.")
    if suffix == ".edf":
        return _read_edf(path, fs, lead)
    return _read_csv(path, fs, lead)


def _safe_name(name: str) -> str:
    """A plain file name from an uploaded name: no folders, only [A-Za-z0-9._-], no leading dot."""
    base = PureWindowsPath(PurePosixPath(name).name).name
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".")
    if not base:
        raise RecordingError(f"The uploaded file name '{name}' is not usable; rename the file.")
    return base


def _unzip(data: bytes, budget: int) -> dict[str, bytes]:
    """The members of an uploaded zip, refusing paths that leave the folder and oversized contents."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise RecordingError("The uploaded .zip is not a readable zip archive; zip the files again.") from error
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > UPLOAD_MAX_FILES:
        raise RecordingError(f"The zip holds {len(members)} files; zip only the recording's own files.")
    files: dict[str, bytes] = {}
    for member in members:
        parts = PurePosixPath(member.filename.replace("\\", "/")).parts
        if member.filename.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
            raise RecordingError(f"The zip holds a path outside its folder ({member.filename}); "
                                 "zip the recording's files themselves.")
        if member.file_size > budget:
            raise RecordingError("The zip unpacks to more than the upload limit; upload the files themselves.")
        with archive.open(member) as f:
            content = f.read(budget + 1)  # the declared size may lie: never read past the budget
        if len(content) > budget:
            raise RecordingError("The zip unpacks to more than the upload limit; upload the files themselves.")
        budget -= len(content)
        name = _safe_name(parts[-1])
        if name in files:
            raise RecordingError(f"The zip holds two files named {name}; zip one recording at a time.")
        files[name] = content
    return files


def _is_multi_segment(header: bytes) -> bool:
    """Whether a WFDB header's record line says "name/segments": a multi-segment record's own header."""
    for line in header[:64 * 1024].decode("utf-8", errors="replace").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return "/" in line.split()[0]
    return False


def read_recording_files(files: Mapping[str, bytes], *, fs: float | None = None,
                         lead: str | int | None = None) -> Recording:
    """Read an uploaded recording: WFDB .hea + .dat (+ .atr), a .zip of them, one .edf, or one .csv.

    The names are only used for their extension and stem; the files are written under sanitised
    names to a private temporary folder that is removed before returning.
    """
    total = sum(len(b) for b in files.values())
    if total > UPLOAD_MAX_BYTES:
        raise RecordingError("The upload is larger than the limit; upload one recording at a time.")
    if len(files) > UPLOAD_MAX_FILES:
        raise RecordingError(f"{len(files)} files were uploaded; upload one recording's files only.")
    plain: dict[str, bytes] = {}
    for name, data in files.items():
        safe = _safe_name(name)
        unpacked = _unzip(data, UPLOAD_MAX_BYTES - total) if safe.lower().endswith(".zip") else {safe: data}
        for member, content in unpacked.items():
            if member in plain:
                raise RecordingError(f"Two uploaded files are named {member}; upload one recording at a time.")
            plain[member] = content
    by_suffix: dict[str, list[str]] = {}
    for name in plain:
        by_suffix.setdefault(Path(name).suffix.lower(), []).append(name)
    headers = by_suffix.get(".hea", [])
    masters = [name for name in headers if _is_multi_segment(plain[name])]
    if len(headers) > 1 and len(masters) == 1:
        headers = masters  # a multi-segment record: its own header, and one per segment
    main_files = headers + by_suffix.get(".edf", []) + by_suffix.get(".csv", [])
    if len(main_files) > 1:
        raise RecordingError(f"The upload holds several recordings ({', '.join(sorted(main_files))}); "
                             "upload one at a time.")
    if not main_files:
        if ".dat" in by_suffix:
            raise RecordingError(f"The WFDB header for {by_suffix['.dat'][0]} is missing; upload its .hea "
                                 "together with the .dat.")
        raise RecordingError(f"{', '.join(sorted(plain)) or 'The upload'} is not a recording this reader knows; "
                             "upload a WFDB record (.hea with its .dat), an .edf or a .csv file.")
    with tempfile.TemporaryDirectory(prefix="recording-") as folder:
        for name, content in plain.items():
            (Path(folder) / name).write_bytes(content)
        return read_recording(Path(folder) / main_files[0], fs=fs, lead=lead)
