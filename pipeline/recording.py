"""Read a whole ECG recording (WFDB, EDF/EDF+, CSV, or the same uploaded as bytes) into one typed object.

The checks every format shares live here, with the WFDB and EDF readers; the CSV reader is pipeline.recording_csv.
"""
from __future__ import annotations

import io
import re
import tempfile
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path, PurePosixPath, PureWindowsPath

import edfio
import numpy as np
import wfdb
from scipy.signal import resample_poly

MODEL_FS = 360  # the MIT-BIH rate the beat rows are cut from
MIN_FS, MAX_FS = 100.0, 1000.0
MIN_DURATION_S = 10.0
MAX_DURATION_S = 48 * 3600.0  # two days; a day of two leads at 360 Hz takes ~1 GB end to end (bench/RESULTS.md)
# Samples over all leads read at a time: two leads for two days at MIT-BIH's 360 Hz. Each becomes 8 bytes several
# times over (a 2-hour 12-lead 1000 Hz record, 86 million, peaks at 1.4 GB), so a file of many leads, or a small zip
# that unpacks to a long one, is refused from its header rather than read.
MAX_VALUES = int(MAX_DURATION_S * 360 * 2)
# NaN gaps up to this long in the chosen lead are filled by linear interpolation (with a
# RecordingWarning): a device drops a few samples now and then, and a gap this short hides at
# most one beat. Longer gaps are refused, because a straight line there would read as a pause.
MAX_GAP_S = 1.0
RECORDING_SUFFIXES = (".hea", ".dat", ".edf", ".csv")
UPLOAD_MAX_FILES = 16
WFDB_HEADER_MAX_BYTES = 1024**2  # a few lines, a few thousand for a multi-segment record; wfdb reads it whole
UPLOAD_MAX_BYTES = 2 * 1024**3  # all files of one upload, a zip's members counted as unpacked

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
    low = np.nanmin(values)  # not values[~missing].min(): that copies the lead (0.7 GB for a day at 1000 Hz)
    if low == np.nanmax(values):
        raise RecordingError(f"Lead {lead_name} of {source} is flat (every value is {low:g}); "
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


def checked_recording(signals: np.ndarray, fs: float, lead_names, units, lead, name: str, source: str,
                      reference: ReferenceBeats | None = None) -> Recording:
    """Checks every format shares: rate, length, the chosen lead's values."""
    if not MIN_FS <= fs <= MAX_FS:
        raise RecordingError(f"{source} is sampled at {fs:g} Hz; only {MIN_FS:g} to {MAX_FS:g} Hz is supported, "
                             "so resample it first (or correct the sampling rate given).")
    keep = _leads_to_read(signals.shape[0], fs, lead_names, lead, source)
    if keep is not None:  # a CSV, parsed whole: only its chosen lead goes on
        signals, lead_names, units, lead = signals[:, keep], [lead_names[keep[0]]], [units[keep[0]]], 0
    if signals.shape[0] / fs < MIN_DURATION_S:
        raise RecordingError(f"{source} holds {signals.shape[0] / fs:.1f} s of signal; at least "
                             f"{MIN_DURATION_S:g} s is needed to find and classify beats.")
    lead_names = tuple(str(n) for n in lead_names)
    index = _choose_lead(lead_names, lead, source)
    _fill_gaps(signals[:, index], fs, lead_names[index], source)
    return Recording(signals=signals, fs=float(fs), lead_names=lead_names, units=tuple(units), lead=index,
                     name=name, reference=reference)


def _leads_to_read(n_samples: int, fs: float, lead_names, lead, source: str) -> list[int] | None:
    """Which leads to read: None (all of them) when they fit in MAX_VALUES; only the chosen lead when just it fits, with
    a RecordingWarning (a day of two leads at 1000 Hz: the detector then has no second lead to consult); refused
    (_check_size) when even one lead is too long."""
    if n_samples * len(lead_names) > MAX_VALUES and n_samples <= MAX_VALUES and n_samples / fs <= MAX_DURATION_S:
        index = _choose_lead(tuple(str(n) for n in lead_names), lead, source)
        warnings.warn(f"{source} holds {len(lead_names)} leads of {n_samples:,} samples, more than are read at a "
                      f"time ({MAX_VALUES / 1e6:,.0f} million values), so only lead {lead_names[index]} was read and "
                      "beats are found on it alone (on MIT-BIH's 44 records one lead finds 99.49% of beats, two "
                      "99.84%).", RecordingWarning, stacklevel=3)
        return [index]
    _check_size(n_samples, fs, len(lead_names), source)
    return None


def _check_size(n_samples: int, fs: float, n_leads: int, source: str) -> None:
    """Refuse a recording longer than MAX_DURATION_S or holding more than MAX_VALUES samples over its leads: from
    its header before reading it, where the format says."""
    if n_samples / fs > MAX_DURATION_S:
        raise RecordingError(f"{source} is {n_samples / fs / 3600:,.1f} hours long; up to {MAX_DURATION_S / 3600:g} "
                             "hours at a time is supported, so split it.")
    if n_samples * n_leads > MAX_VALUES:
        raise RecordingError(f"{source} holds {n_leads} leads of {n_samples:,} samples, {n_samples * n_leads / 1e6:,.0f} "
                             f"million values; up to {MAX_VALUES / 1e6:,.0f} million are read at a time (two leads for "
                             f"{MAX_DURATION_S / 3600:g} hours at 360 Hz), so split it.")


def check_given_rate(fs: float | None, file_fs: float, says: str, fix: str) -> None:
    """Refuse a sampling rate given beside the one the file states (`says` it), unless they agree within 0.1%."""
    if fs is not None and not np.isclose(fs, file_fs, rtol=1e-3):
        raise RecordingError(f"A sampling rate of {fs:g} Hz was given but {says} {file_fs:g} Hz; {fix}")


_CARRY_THEIR_OWN = "leave the rate out for WFDB and EDF files, which carry their own."


def plain_reason(error: Exception) -> str:
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
    size = header_path.stat().st_size
    if size > WFDB_HEADER_MAX_BYTES:
        raise RecordingError(f"{source} is {size / 1024**2:.0f} MB; a WFDB header is a few lines of text, so this "
                             "is not one: export the record again.")
    try:
        return wfdb.rdheader(str(header_path.with_suffix("")))
    except Exception as error:  # wfdb raises many types for a malformed header
        raise RecordingError(f"{source} is not a readable WFDB header ({plain_reason(error)}); export the record "
                             "again.") from error


def _read_wfdb(header_path: Path, fs: float | None, lead) -> Recording:
    source = header_path.name
    record_path = str(header_path.with_suffix(""))
    header = _read_header(header_path, source)
    if not header.n_sig:
        raise RecordingError(f"{source} names no signals; a WFDB header lists one line per lead.")
    length = max(header.sig_len or 0, sum(getattr(header, "seg_len", None) or []))  # a segment list may disagree
    channels = None
    if length and header.fs and header.sig_name:
        channels = _leads_to_read(length, header.fs, header.sig_name, lead, source)
    elif length and header.fs:  # a multi-segment record's master header names no leads: all of them or none
        _check_size(length, header.fs, header.n_sig, source)
    _check_signal_files(header_path, header)
    check_given_rate(fs, float(header.fs), f"{source} says", _CARRY_THEIR_OWN)
    if channels is not None:
        lead = 0  # the one lead read
    try:
        # A multi-segment record as one record (no-op for one); only the chosen lead when all would be too many.
        record = wfdb.rdrecord(record_path, m2s=True, channels=channels)
    except Exception as error:  # a truncated or mismatched signal file
        raise RecordingError(f"The signals of {source} cannot be read ({plain_reason(error)}); check that the .dat "
                             "file belongs to this header and is complete.") from error
    reference = None
    atr_path = header_path.with_suffix(".atr")
    if atr_path.is_file():
        try:
            ann = wfdb.rdann(record_path, "atr")
        except Exception as error:
            raise RecordingError(f"{atr_path.name} is not a readable WFDB annotation file ({plain_reason(error)}); "
                                 "remove it or export it again.") from error
        reference = ReferenceBeats(samples=np.asarray(ann.sample, dtype=np.int64),
                                   symbols=np.asarray(ann.symbol))
    return checked_recording(record.p_signal, float(record.fs), record.sig_name, record.units, lead,
                             header_path.stem, source, reference)


# ---------------------------------------------------------------- EDF

def _physical_values(channel: edfio.EdfSignal, out: np.ndarray, source: str) -> bool:
    """The channel's values in its physical unit written into `out`: edfio's own calibration, (digital + offset) *
    gain, done in place (channel.data makes two float64 copies on the way, 0.7 GB each for a day at 1000 Hz).

    A header with an empty or unreadable range has no calibration: the raw digital values are written, as edfio
    itself would return them, with a warning, and False is returned (the unit is then unknown).
    """
    try:
        gain = (channel.physical_max - channel.physical_min) / (channel.digital_max - channel.digital_min)
        offset = channel.physical_max / gain - channel.digital_max
    except (ZeroDivisionError, ValueError):
        out[:] = channel.digital
        warnings.warn(f"{source}: the header gives lead {channel.label} no calibration (its physical or digital "
                      "minimum equals its maximum), so its values are the file's raw numbers, in no known unit (the "
                      "classes do not depend on the unit).", RecordingWarning, stacklevel=4)
        return False
    np.add(channel.digital, offset, out=out)
    out *= gain
    return True


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
        raise RecordingError(f"{source} is not a readable EDF file ({plain_reason(error)}); "
                             "export it again.") from error
    for warning in caught:  # edfio reads what a file cut short holds, and says so only as a UserWarning
        text = str(warning.message)
        counts = re.search(r"indicates (\d+) data records, but file contains (\d+)", text)
        if counts:
            text = (f"{source}: its header promises {counts[1]} data records but the file holds {counts[2]} "
                    "(cut short?); only those were read.")
        elif "Incomplete data record" in text:
            text = f"{source} ends inside a data record (cut short?); that last piece was left out."
        else:
            text = f"{source}: {plain_reason(warning.message)}"
        warnings.warn(text, RecordingWarning, stacklevel=3)
    if not edf.is_continuous:
        raise RecordingError(f"{source} is a discontinuous EDF+D file; export a continuous EDF (EDF+C).")
    channels = edf.signals  # edfio leaves out the "EDF Annotations" channel
    if not channels:
        raise RecordingError(f"{source} holds no signal channels.")
    names = tuple(s.label for s in channels)
    chosen = channels[_choose_lead(names, lead, source)]
    file_fs = float(chosen.sampling_frequency)
    check_given_rate(fs, file_fs, f"{source} says", _CARRY_THEIR_OWN)
    kept = [s for s in channels if s.sampling_frequency == chosen.sampling_frequency]
    if _leads_to_read(len(chosen.digital), file_fs, [s.label for s in kept], kept.index(chosen), source):
        kept = [chosen]  # before the float64 copy: all of them would be too many values
    signals = np.empty((len(chosen.digital), len(kept)), dtype=np.float64)
    units = []
    for column, channel in enumerate(kept):
        calibrated = _physical_values(channel, signals[:, column], source)
        units.append((channel.physical_dimension or "unknown") if calibrated else "unknown")
    return checked_recording(signals, file_fs, tuple(s.label for s in kept), units, kept.index(chosen), path.stem,
                             source)


# ---------------------------------------------------------------- entry points

def read_recording(path, *, fs: float | None = None, lead: str | int | None = None,
                   invert: bool = False) -> Recording:
    """Read a recording from disk: a WFDB record (.hea, .dat or no extension), an .edf, a .csv, or a .zip of one
    (read as an upload of its files is).

    invert: turn the chosen lead upside down (a lead recorded with its R waves pointing down, electrodes
    swapped); the detector finds fewer beats in some such leads (bench/bench_inverted.py).
    """
    path = Path(path)
    if path.suffix.lower() == ".zip" and path.is_file():
        return read_recording_files({path.name: path.read_bytes()}, fs=fs, lead=lead, invert=invert)
    recording = _read_file(path, fs, lead)
    if invert:
        np.negative(recording.signal, out=recording.signals[:, recording.lead])
    return recording


def _read_file(path: Path, fs: float | None, lead: str | int | None) -> Recording:
    """read_recording for one file on disk (not a zip)."""
    if path.is_dir():
        raise RecordingError(f"{path} is a folder; give the recordings in it, e.g. {path / '*.hea'}.")
    suffix = path.suffix.lower()
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
    from pipeline.recording_csv import read_csv  # it builds on this module's checks

    return read_csv(path, fs, lead)


def _safe_name(name: str) -> str:
    """A plain file name from an uploaded name: no folders, only [A-Za-z0-9._-], no leading dot."""
    base = PureWindowsPath(PurePosixPath(name).name).name
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".")
    if not base:
        raise RecordingError(f"The uploaded file name '{name}' is not usable; rename the file.")
    return base


def _claim(name: str, taken: set[str]) -> str:
    """The name of one more file of an upload (a zip's members count), refused when another file has it."""
    if name in taken:
        raise RecordingError(f"Two uploaded files are named {name}; upload one recording at a time.")
    taken.add(name)
    return name


def _unzip(data: bytes, budget: int, folder: Path, taken: set[str]) -> None:
    """Unpack an uploaded zip into folder, member by member in pieces (a small zip may unpack to gigabytes, so
    nothing is held whole in memory), refusing paths that leave the folder, names already taken, and contents
    past the budget (the declared sizes may lie)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise RecordingError("The uploaded .zip is not a readable zip archive; zip the files again.") from error
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > UPLOAD_MAX_FILES:
        raise RecordingError(f"The zip holds {len(members)} files; zip only the recording's own files.")
    too_large = RecordingError("The zip unpacks to more than the upload limit; upload the files themselves.")
    for member in members:
        parts = PurePosixPath(member.filename.replace("\\", "/")).parts
        if member.filename.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
            raise RecordingError(f"The zip holds a path outside its folder ({member.filename}); "
                                 "zip the recording's files themselves.")
        if member.file_size > budget:
            raise too_large
        name = _claim(_safe_name(parts[-1]), taken)
        with archive.open(member) as source, open(folder / name, "wb") as target:
            while piece := source.read(1 << 20):
                budget -= len(piece)
                if budget < 0:
                    raise too_large
                target.write(piece)


def _is_multi_segment(header_path: Path) -> bool:
    """Whether a WFDB header's record line says "name/segments": a multi-segment record's own header."""
    with open(header_path, "rb") as f:
        head = f.read(64 * 1024)
    for line in head.decode("utf-8", errors="replace").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return "/" in line.split()[0]
    return False


def read_recording_files(files: Mapping[str, bytes], *, fs: float | None = None,
                         lead: str | int | None = None, invert: bool = False) -> Recording:
    """Read an uploaded recording: WFDB .hea + .dat (+ .atr), a .zip of them, one .edf, or one .csv.

    The names are only used for their extension and stem; the files are written under sanitised
    names to a private temporary folder that is removed before returning.
    """
    total = sum(len(b) for b in files.values())
    if total > UPLOAD_MAX_BYTES:
        raise RecordingError("The upload is larger than the limit; upload one recording at a time.")
    if len(files) > UPLOAD_MAX_FILES:
        raise RecordingError(f"{len(files)} files were uploaded; upload one recording's files only.")
    with tempfile.TemporaryDirectory(prefix="recording-") as temporary:
        folder = Path(temporary)
        names: set[str] = set()
        for name, data in files.items():
            safe = _safe_name(name)
            if safe.lower().endswith(".zip"):
                _unzip(data, UPLOAD_MAX_BYTES - total, folder, names)
            else:
                (folder / _claim(safe, names)).write_bytes(data)
        return read_recording(folder / _main_file(folder, sorted(names)), fs=fs, lead=lead, invert=invert)


def _main_file(folder: Path, names: list[str]) -> str:
    """The one file of an upload that names the recording: its WFDB header (a multi-segment record's own), EDF or CSV."""
    by_suffix: dict[str, list[str]] = {}
    for name in names:
        by_suffix.setdefault(Path(name).suffix.lower(), []).append(name)
    headers = by_suffix.get(".hea", [])
    masters = [name for name in headers if _is_multi_segment(folder / name)]
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
        raise RecordingError(f"{', '.join(names) or 'The upload'} is not a recording this reader knows; "
                             "upload a WFDB record (.hea with its .dat), an .edf or a .csv file.")
    return main_files[0]
