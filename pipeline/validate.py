"""Read and check a user's beat CSV (Kaggle format); the one validator the CLI and dashboard share.

Accepted: one beat per row, 187 values in [0, 1] (min-max normalised per beat,
zero-padded, as in Kaggle's mitbih_*.csv), optionally a 188th column with the
label 0..4 (N S V F Q); an optional header row; an optional UTF-8 BOM; values
may be quoted.

A line longer than MAX_LINE_BYTES is refused while the file is read, before
anything decodes or splits it: splitting one long line into Python strings
costs about 40 times its size in memory.

Values outside [0, 1] are rejected rather than rescaled: the models only know
beats normalised this way, and silently rescaling a raw signal would still give
confident, meaningless labels. Rows that stay inside [0, 1] but never reach 1
are accepted with a warning.
"""
from __future__ import annotations

import codecs
import io
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.vocabulary import CLASSES, N_SAMPLES, Beats

DEFAULT_MAX_ROWS = 100_000
# A beat row is under 5 KB even written with %.18e (188 x 25 characters); 64 KB leaves a wide margin.
MAX_LINE_BYTES = 64 * 1024
READ_CHUNK = 1 << 20
RANGE_TOLERANCE = 1e-6
FORMAT_HINT = f"each row needs {N_SAMPLES} beat values, or {N_SAMPLES + 1} with the label (0-4) last"


class InputError(ValueError):
    """The user's file cannot be used; str() is one sentence saying what to fix."""


def _too_long(line: int) -> InputError:
    return InputError(
        f"Line {line:,} is longer than {MAX_LINE_BYTES // 1024} KB, and a beat row is under 5 KB: "
        "save the file with one beat per line."
    )


def _read_checked(stream) -> bytes:
    """Read a binary stream in chunks, refusing it as soon as one line passes MAX_LINE_BYTES."""
    chunks = []
    line, line_bytes = 1, 0  # the line being read and its length so far
    while chunk := stream.read(READ_CHUNK):
        start = 0
        while (newline := chunk.find(b"\n", start)) != -1:
            if line_bytes + newline - start > MAX_LINE_BYTES:
                raise _too_long(line)
            line, line_bytes, start = line + 1, 0, newline + 1
        line_bytes += len(chunk) - start
        if line_bytes > MAX_LINE_BYTES:
            raise _too_long(line)
        chunks.append(chunk)
    return b"".join(chunks)


def _read_bytes(source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _read_checked(io.BytesIO(source))
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            with open(path, "rb") as stream:
                return _read_checked(stream)
        except FileNotFoundError:
            raise InputError(f"File '{path}' not found: check the path.") from None
        except OSError as exc:
            raise InputError(f"File '{path}' cannot be read ({exc.strerror}): check the path.") from None
    return _read_checked(source)


def _rows_bytes(source) -> bytes:
    """The file's bytes, BOM and leading blank lines removed, checked to be UTF-8 text.

    Kept as bytes (not decoded into one big str) so a 100 MB upload costs ~100 MB here.
    """
    data = _read_bytes(source)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        raise InputError(f"The file is empty: upload a CSV with one beat per row ({FORMAT_HINT}).")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:65536]:
        raise InputError("The file is not a text CSV (it contains binary data): save it as a UTF-8 CSV file.")
    decoder = codecs.getincrementaldecoder("utf-8")()
    for first in range(0, len(data), 1 << 20):
        try:
            decoder.decode(data[first:first + (1 << 20)], final=first + (1 << 20) >= len(data))
        except UnicodeDecodeError as exc:
            raise InputError(
                f"The file is not UTF-8 text (undecodable byte at position {first + exc.start}): "
                "save it as a UTF-8 CSV file."
            ) from None
    return data.lstrip(b"\r\n")  # blank lines before the first row are harmless


def _lines(data: bytes):
    """The file's lines as text, one at a time."""
    for line in io.BytesIO(data):
        yield line.decode("utf-8").rstrip("\r\n")


def _unquote(cell: str) -> str:
    """A cell's text without surrounding spaces and one pair of double quotes (a CSV writer's quoting)."""
    text = cell.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    return text


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _is_header(cells: list[str]) -> bool:
    """Column names, not a beat: mostly non-numeric, or pandas' default 0, 1, 2, ... names."""
    cells = [_unquote(c) for c in cells]
    non_numeric = sum(not _is_number(c) for c in cells)
    return non_numeric * 2 >= len(cells) or cells == [str(i) for i in range(len(cells))]


PANDAS_INDEX_HINT = ("the first row reads ,0,1,2,... as pandas writes it for a table saved with its index; "
                     "save the file again with to_csv(..., index=False)")


def _pandas_index_header(cells: list[str]) -> bool:
    """",0,1,2,...": the header pandas writes for a frame saved with its index column."""
    return cells[0].strip() == "" and [c.strip() for c in cells[1:]] == [str(i) for i in range(len(cells) - 1)]


def _cut_off(data: bytes, line: str) -> bool:
    """Is this line the file's last, with no line break after it (a file cut short mid-row)?"""
    return not data.endswith((b"\n", b"\r")) and data.rsplit(b"\n", 1)[-1].decode("utf-8").rstrip("\r") == line


def _describe_bad_cell(data: bytes, has_header: bool, n_columns: int) -> str:
    """Find the first row that pandas could not turn into finite numbers and say why."""
    row = 0
    first = "the header" if has_header else "row 1"
    lines = _lines(data)
    if has_header:
        next(lines)
    for line in lines:
        if not line.strip():
            continue
        row += 1
        cells = line.split(",")
        if len(cells) != n_columns:
            if len(cells) < n_columns and _cut_off(data, line):
                return (f"Row {row}, the last, has {len(cells)} of {n_columns} columns and the file ends without a "
                        "line break: it looks cut off by an interrupted download or copy; use the whole file.")
            return f"Row {row} has {len(cells)} columns but {first} has {n_columns}: {FORMAT_HINT}."
        for col, cell in enumerate(cells, 1):
            text = _unquote(cell)
            if not text:
                if row == 1 and col == 1 and _pandas_index_header(cells):
                    return f"Row 1, column 1 is empty: {PANDAS_INDEX_HINT}."
                return f"Row {row}, column {col} is empty: fill in every value."
            if not _is_number(text):
                return f"Row {row}, column {col} is not a number ('{text[:20]}'): every value must be numeric."
            if not np.isfinite(float(text)):
                return f"Row {row}, column {col} is '{text}': every value must be a finite number."
    return f"The file could not be read as numbers: {FORMAT_HINT}."


def read_beats_csv(source, *, max_rows: int | None = DEFAULT_MAX_ROWS) -> Beats:
    """Parse and check a beat CSV; raise InputError with one sentence naming the problem."""
    data = _rows_bytes(source)
    first_line = next(_lines(data))
    if ";" in first_line or "\t" in first_line:
        raise InputError("The file is not comma-separated (found ';' or tabs): save it as a comma-separated CSV.")
    first_cells = first_line.split(",")
    has_header = _is_header(first_cells)
    n_columns = len(first_cells)
    if n_columns not in (N_SAMPLES, N_SAMPLES + 1):
        where = "The header has" if has_header else "Row 1 has"
        hint = PANDAS_INDEX_HINT if _pandas_index_header(first_cells) else FORMAT_HINT
        raise InputError(f"{where} {n_columns} columns: {hint}.")

    n_rows = sum(1 for line in io.BytesIO(data) if line.strip()) - int(has_header)
    if n_rows == 0:
        raise InputError(f"The file has a header but no beats: add one beat per row ({FORMAT_HINT}).")
    if max_rows is not None and n_rows > max_rows:
        raise InputError(f"The file has {n_rows:,} beats, more than the limit of {max_rows:,}: split it into smaller files.")

    try:
        frame = pd.read_csv(
            io.BytesIO(data), encoding="utf-8", header=None, skiprows=int(has_header), skip_blank_lines=True,
            na_filter=True, low_memory=False,
        )
    except pd.errors.ParserError:
        raise InputError(_describe_bad_cell(data, has_header, n_columns)) from None

    values = frame.to_numpy()
    if frame.shape[1] != n_columns or values.dtype.kind not in "iuf" or not np.isfinite(values).all():
        raise InputError(_describe_bad_cell(data, has_header, n_columns))
    values = values.astype(np.float64)

    X = values[:, :N_SAMPLES]
    y = None
    if n_columns == N_SAMPLES + 1:
        labels = values[:, N_SAMPLES]
        bad = np.flatnonzero((labels != np.round(labels)) | (labels < 0) | (labels > len(CLASSES) - 1))
        if len(bad):
            raise InputError(
                f"Row {bad[0] + 1} has label {labels[bad[0]]:g} in column {N_SAMPLES + 1}: "
                "labels must be 0-4 (N S V F Q), or leave the column out."
            )
        y = labels.astype(np.int64)

    outside = (X < -RANGE_TOLERANCE) | (X > 1 + RANGE_TOLERANCE)
    if outside.any():
        row, col = np.argwhere(outside)[0]
        raise InputError(
            f"Row {row + 1}, column {col + 1} is {X[row, col]:g}, outside [0, 1]: beats must be min-max "
            "normalised to [0, 1] per beat, as in the Kaggle CSVs."
        )
    X = np.clip(X, 0.0, 1.0).astype(np.float32)

    warnings = []
    low = np.flatnonzero(X.max(axis=1) < 1 - 1e-3)
    if len(low):
        shown = ", ".join(str(r + 1) for r in low[:5]) + (" ..." if len(low) > 5 else "")
        warnings.append(
            f"{len(low)} row(s) never reach 1.0 (rows {shown}): Kaggle beats are min-max normalised so each "
            "reaches 1, so predictions for these rows may be unreliable."
        )
    return Beats(X=X, y=y, warnings=warnings, header_skipped=has_header)
