"""Read a CSV recording: a header row, a time column or a given rate, one column per lead (see read_csv).

Besides the plain layout it reads, as they are, the CSVs other programs write: PhysioNet's rdsamp (quoted
names, a units row, clock times), wfdb's Record.to_dataframe().to_csv(), a European spreadsheet's (semicolons,
decimal commas), ISO timestamps, and a device's one-lead export with its rate in key,value lines before the
samples (the Apple Health app's ECG). What cannot be a recording is refused with one sentence before pandas
spends memory on it.
"""
from __future__ import annotations

import csv
import io
import re
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.recording import (MIN_DURATION_S, Recording, RecordingError, RecordingWarning, check_given_rate,
                                checked_recording, plain_reason)

# A time column may wander off an even grid by this fraction of a sample period (rounded
# timestamps, clock jitter); beyond it the samples are not evenly spaced and a rate would lie.
TIME_JITTER = 0.5
CSV_CHUNK_ROWS = 1 << 20
HEADER_MAX_BYTES = 64 * 1024  # a header names a few columns; Python's csv module refuses fields over 128 KB
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
    rate. Rows missing in the middle make the span too long for the rows: a rate off the first rows' grid,
    or, when the rate rounds to a whole one, a span that whole rate does not fill with these rows.
    """
    fs = (n_rows - 1) / (last - head[0]) if last > head[0] else 0.0
    if fs > 0 and abs(fs - round(fs)) < 1e-4 * fs:
        fs = float(round(fs))
        # the last time and the first are printed rounded, to a millisecond or finer
        if abs((last - head[0]) * fs - (n_rows - 1)) > TIME_JITTER + 1e-3 * fs:
            raise RecordingError(f"The time column of {source} spans {last - head[0]:g} s, which at its {fs:g} Hz "
                                 f"is {(last - head[0]) * fs + 1:,.0f} samples, but it has {n_rows:,} rows: rows are "
                                 "missing or repeated; fill the gaps, or give the sampling rate and drop the time "
                                 "column.")
    off_grid = np.abs(np.asarray(head) - head[0] - np.arange(len(head)) / fs) * fs if fs > 0 else np.array([np.inf])
    if not fs > 0 or off_grid.max() > TIME_JITTER:
        raise RecordingError(f"The time column of {source} does not keep one rate: its {n_rows:,} rows span "
                             f"{last - head[0]:g} s, and its first rows (from line {header_lines + 1}) are not "
                             "evenly spaced at that rate; fill the gaps, or give the sampling rate and drop the time "
                             "column.")
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
            raise RecordingError(f"{source} holds text ({plain_reason(text[1])}) where numbers should be; keep only "
                                 f"the time column and the lead columns, with '{layout.decimal}' as the decimal "
                                 "point.") from error
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
        raise RecordingError(f"Line {odd + 1} of {source} holds '{plain_reason(lines[odd])}' where a sample should "
                             "be; after its key,value lines (Sample Rate, ...) the file should hold one number per "
                             "line.")
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


def read_csv(path: Path, fs: float | None, lead) -> Recording:
    """One CSV recording; `fs` is needed only when it has no time column and states no rate."""
    source = path.name
    layout = _csv_layout(path, source)
    _check_line_lengths(path, source)
    time_index, lead_indices = layout.time_index, layout.lead_indices
    if layout.rate is not None:
        check_given_rate(fs, layout.rate, f"{source} says", "leave the rate out, the file carries its own.")
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
    if time_index is not None:
        check_given_rate(fs, file_fs, f"the time column of {source} says", "drop one of them.")
    signals = np.concatenate(lead_blocks)
    del lead_blocks
    if np.isinf(signals).any():  # "inf", or digits past float range, which parse as infinite
        row, column = np.argwhere(np.isinf(signals))[0]
        raise RecordingError(f"{source} holds a value too large to be a sample at line "
                             f"{row + layout.header_lines + 1} (column {layout.columns[lead_indices[column]]}); "
                             "correct or delete that cell.")
    named = [_lead_and_unit(layout.columns[i]) for i in lead_indices]
    units = [(layout.units[i] if layout.units else "") or unit for i, (_, unit) in zip(lead_indices, named)]
    return checked_recording(signals, file_fs, [name for name, _ in named], units, lead, path.stem, source)


def _clock_column(rows: list[list[str]], index: int, source: str) -> list[float]:
    """The clock times of the first rows (the head read), in seconds."""
    times = [_clock_seconds(row[index]) if len(row) > index else None for row in rows]
    if len(times) < 2 or None in times:
        bad = times.index(None) if None in times else len(times)
        shown = rows[bad][index] if bad < len(rows) and len(rows[bad]) > index else "nothing"
        raise RecordingError(f"The time column of {source} holds {plain_reason(shown)} where a time such as 0:00.003 "
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
