"""The beat CSV validator (issue 3 §4) and the predict CLI's handling of bad files."""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.cli import main
from pipeline.validate import InputError, read_beats_csv

REPO = Path(__file__).resolve().parents[1]
KAGGLE_ROWS = REPO / "tests" / "fixtures" / "kaggle_rows.csv"
HEADER = ",".join([f"x{i}" for i in range(187)] + ["label"])


def beat(value: str = "0.5", first: str | None = None, last: str | None = None, n: int = 187) -> list[str]:
    cells = [value] * n
    cells[1] = "1.0"  # a normalised beat reaches 1
    if first is not None:
        cells[0] = first
    if last is not None:
        cells[-1] = last
    return cells


def csv_bytes(*rows, newline="\n") -> bytes:
    return (newline.join(",".join(r) if isinstance(r, list) else r for r in rows) + newline).encode()


def good_rows(n=3, label="1.0"):
    return [beat() + [label] for _ in range(n)]


def rejected(data, **kwargs) -> str:
    with pytest.raises(InputError) as error:
        read_beats_csv(data, **kwargs)
    message = str(error.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------- accepted files


def test_val_fixture_rows():
    beats = read_beats_csv(KAGGLE_ROWS)
    expected = np.loadtxt(KAGGLE_ROWS, delimiter=",")
    assert beats.X.shape == (2, 187) and beats.X.dtype == np.float32
    np.testing.assert_allclose(beats.X, expected[:, :187], atol=1e-7, rtol=0)
    assert list(beats.y) == [1, 3]
    assert beats.warnings == []


def test_val_sources_agree(tmp_path):
    """A path, bytes and an open binary file give the same beats (the CLI and the dashboard use different ones)."""
    data = KAGGLE_ROWS.read_bytes()
    from_bytes = read_beats_csv(data)
    with open(KAGGLE_ROWS, "rb") as f:
        from_file = read_beats_csv(f)
    from_str = read_beats_csv(str(KAGGLE_ROWS))
    for other in (from_file, from_str):
        np.testing.assert_array_equal(other.X, from_bytes.X)
        np.testing.assert_array_equal(other.y, from_bytes.y)


def test_val_header():
    plain = read_beats_csv(csv_bytes(*good_rows()))
    with_header = read_beats_csv(csv_bytes(HEADER, *good_rows()))
    np.testing.assert_array_equal(with_header.X, plain.X)
    np.testing.assert_array_equal(with_header.y, plain.y)
    assert len(with_header.X) == 3  # the header is not a beat


def test_val_pandas_header():
    """The header pandas writes for an unnamed frame: 0, 1, ..., 187."""
    header = ",".join(str(i) for i in range(188))
    assert len(read_beats_csv(csv_bytes(header, *good_rows())).X) == 3


@pytest.mark.parametrize("with_header", [False, True], ids=["plain", "header"])
def test_val_bom(with_header):
    rows = ([HEADER] if with_header else []) + good_rows()
    beats = read_beats_csv(b"\xef\xbb\xbf" + csv_bytes(*rows))
    assert beats.X.shape == (3, 187) and list(beats.y) == [1, 1, 1]
    assert beats.X[0, 0] == np.float32(0.5)


def test_val_unlabelled():
    beats = read_beats_csv(csv_bytes(*[beat("0.25") for _ in range(4)]))
    assert beats.X.shape == (4, 187) and beats.y is None
    assert beats.X[0, 0] == np.float32(0.25)


def test_val_crlf_and_int_labels():
    beats = read_beats_csv(csv_bytes(*good_rows(2, label="4"), newline="\r\n"))
    assert list(beats.y) == [4, 4] and beats.X.shape == (2, 187)


def test_val_trailing_blank_lines():
    assert len(read_beats_csv(csv_bytes(*good_rows(2)) + b"\n\n").X) == 2


def test_val_tolerance_clipped():
    """Rounding noise just outside [0, 1] is accepted and clipped, not rejected."""
    beats = read_beats_csv(csv_bytes(beat(first="1.0000001", last="-0.0000001") + ["0"]))
    assert beats.X[0, 0] == 1.0 and beats.X[0, -1] == 0.0


def test_val_low_rows_warn():
    rows = [beat("0.2") + ["0"], [*(["0.3"] * 187), "0"], [*(["0.4"] * 187), "0"]]
    beats = read_beats_csv(csv_bytes(*rows))
    assert len(beats.warnings) == 1 and "rows 2, 3" in beats.warnings[0]


# ---------------------------------------------------------------- rejected files


@pytest.mark.parametrize("data", [b"", b"\n\n  \r\n", b"\xef\xbb\xbf"], ids=["empty", "blank", "bom-only"])
def test_val_empty(data):
    assert "empty" in rejected(data)


def test_val_header_only():
    assert "header but no beats" in rejected(csv_bytes(HEADER))


def test_val_binary_nulls():
    assert "binary" in rejected(bytes(range(256)) * 8)


def test_val_binary_not_utf8():
    assert "UTF-8" in rejected(bytes(range(128, 256)) * 8)


def test_val_utf16():
    assert "UTF-8" in rejected(csv_bytes(*good_rows()).decode().encode("utf-16"))


@pytest.mark.parametrize("n", [1, 50, 186, 189, 300])
def test_val_columns(n):
    message = rejected(csv_bytes(",".join(["0.5"] * n)))
    assert f"Row 1 has {n} columns" in message and "187" in message


@pytest.mark.parametrize("n", [100, 187, 190])
def test_val_ragged(n):
    rows = good_rows(2) + [beat(n=n)] + good_rows(2)
    message = rejected(csv_bytes(*rows))
    assert f"Row 3 has {n} columns" in message and "188" in message


def test_val_cut_off():
    """A file cut short mid-row (no line break after its short last row) is named as cut off; the same short row
    with a line break after it, or in the middle, is a ragged row."""
    whole = csv_bytes(*good_rows(3))
    cut = whole[: len(whole) - 300]
    message = rejected(cut)
    assert "Row 3, the last" in message and "cut off" in message
    assert "cut off" not in rejected(cut + b"\n")
    assert "cut off" not in rejected(csv_bytes(*good_rows(1), beat(n=100), *good_rows(1)))


def test_val_ragged_header():
    message = rejected(csv_bytes(HEADER, *good_rows(3), beat(n=190)))
    assert "Row 4 has 190 columns" in message


def test_val_ragged_blank_lines():
    rows = [*good_rows(1), "", *good_rows(1), "", beat(n=190)]
    assert "Row 3 has 190 columns" in rejected(csv_bytes(*rows))


def test_val_header_row_mismatch():
    message = rejected(csv_bytes(HEADER, beat(), beat()))
    assert "header" in message.lower()


def test_val_blank_before_header():
    beats = read_beats_csv(b"\n" + csv_bytes(HEADER, *good_rows(2)))
    assert len(beats.X) == 2


@pytest.mark.parametrize("cell", ["abc", "0.5.1", "1x"], ids=["word", "two-dots", "suffix"])
def test_val_non_numeric(cell):
    rows = good_rows(1) + [beat()[:4] + [cell] + beat()[5:] + ["0"]]
    message = rejected(csv_bytes(*rows))
    assert "Row 2, column 5" in message and "not a number" in message


@pytest.mark.parametrize("cell", ["nan", "NaN", "NA"])
def test_val_nan(cell):
    rows = good_rows(2) + [beat(first=cell) + ["0"]]
    message = rejected(csv_bytes(*rows))
    assert "Row 3, column 1" in message


def test_val_empty_cell():
    rows = good_rows(1) + [beat()[:10] + [""] + beat()[11:] + ["0"]]
    assert "Row 2, column 11 is empty" in rejected(csv_bytes(*rows))


@pytest.mark.parametrize("cell", ["inf", "-inf", "Infinity", "1e400"])
def test_val_inf(cell):
    rows = good_rows(1) + [beat(last=cell) + ["0"]]
    message = rejected(csv_bytes(*rows))
    assert "Row 2, column 187" in message and "finite" in message


@pytest.mark.parametrize("label", ["5", "5.0", "-1", "7", "100"])
def test_val_label_range(label):
    message = rejected(csv_bytes(*good_rows(3), beat() + [label]))
    assert "Row 4" in message and "column 188" in message and "0-4" in message


@pytest.mark.parametrize("label", ["1.5", "0.2", "3.999"])
def test_val_label_fraction(label):
    message = rejected(csv_bytes(*good_rows(1), beat() + [label]))
    assert "Row 2" in message and f"label {float(label):g}" in message


def test_val_label_nan():
    assert "Row 2, column 188" in rejected(csv_bytes(*good_rows(1), beat() + ["nan"]))


@pytest.mark.parametrize("value,column", [("1.2", 1), ("-0.3", 187), ("255", 42)])
def test_val_range(value, column):
    cells = beat()
    cells[column - 1] = value
    message = rejected(csv_bytes(*good_rows(2), cells + ["0"]))
    assert f"Row 3, column {column}" in message and "[0, 1]" in message


def test_val_range_raw_signal():
    """A raw ADC signal, the commonest mistake, is refused rather than silently rescaled."""
    raw = [str(v) for v in np.random.default_rng(0).integers(800, 1200, 187)]
    assert "outside [0, 1]" in rejected(csv_bytes(raw))


def test_val_integer_cells():
    cells = ["0"] * 187
    cells[10] = "1"
    beats = read_beats_csv(csv_bytes(cells + ["2"]))
    assert beats.X[0, 10] == 1.0 and list(beats.y) == [2]


def test_val_max_rows():
    data = csv_bytes(*good_rows(5))
    message = rejected(data, max_rows=4)
    assert "5 beats" in message and "limit of 4" in message
    assert len(read_beats_csv(data, max_rows=5).X) == 5
    assert len(read_beats_csv(data, max_rows=None).X) == 5


def test_val_max_rows_header():
    """The header is not counted as a beat against the limit."""
    assert len(read_beats_csv(csv_bytes(HEADER, *good_rows(4)), max_rows=4).X) == 4


@pytest.mark.parametrize("sep", [";", "\t"], ids=["semicolon", "tab"])
def test_val_separator(sep):
    message = rejected(csv_bytes(*[sep.join(r) for r in good_rows(2)]))
    assert "comma-separated" in message


def test_val_decimal_comma():
    """European exports: semicolons with decimal commas."""
    row = ";".join(["0,5"] * 187 + ["1"])
    assert "comma-separated" in rejected(csv_bytes(row))


def test_val_unbalanced_quote():
    rows = good_rows(1) + ['"' + ",".join(beat() + ["1"])]
    message = rejected(csv_bytes(*rows))
    assert "Row 2, column 1" in message and '"' in message


def test_val_missing_file(tmp_path):
    assert "not found" in rejected(tmp_path / "absent.csv")


# ---------------------------------------------------------------- the CLI on bad files

BAD_FILES = {
    "empty": b"",
    "binary": bytes(range(256)) * 8,
    "columns": csv_bytes(",".join(["0.5"] * 50)),
    "ragged": csv_bytes(*good_rows(2), beat(n=100)),
    "text": csv_bytes(*good_rows(1), beat(first="abc") + ["0"]),
    "nan": csv_bytes(*good_rows(1), beat(first="nan") + ["0"]),
    "inf": csv_bytes(*good_rows(1), beat(first="inf") + ["0"]),
    "label": csv_bytes(*good_rows(1), beat() + ["9"]),
    "range": csv_bytes(*good_rows(1), beat(first="3.5") + ["0"]),
    "semicolon": csv_bytes(*[";".join(r) for r in good_rows(2)]),
}


def check_usage_error(returncode: int, stderr: str) -> None:
    assert returncode == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr


@pytest.mark.parametrize("name", BAD_FILES)
def test_val_cli_inprocess(name, tmp_path, capsys, fixture_bundle_dir):
    path = tmp_path / f"{name}.csv"
    path.write_bytes(BAD_FILES[name])
    code = main(["predict", str(path), "--models", str(fixture_bundle_dir), "--out", str(tmp_path / "p.csv")])
    captured = capsys.readouterr()
    check_usage_error(code, captured.err)
    assert captured.out == ""
    assert not (tmp_path / "p.csv").exists()


def test_val_cli_missing_file(tmp_path, capsys):
    code = main(["predict", str(tmp_path / "absent.csv")])
    check_usage_error(code, capsys.readouterr().err)


def test_val_cli_long_name(capsys):
    code = main(["predict", "x" * 300 + ".csv"])
    check_usage_error(code, capsys.readouterr().err)


def test_val_cli_max_rows(tmp_path, capsys, fixture_bundle_dir):
    path = tmp_path / "five.csv"
    path.write_bytes(csv_bytes(*good_rows(5)))
    code = main(["predict", str(path), "--max-rows", "4", "--models", str(fixture_bundle_dir)])
    err = capsys.readouterr().err
    check_usage_error(code, err)
    assert "limit of 4" in err


def test_val_cli_subprocess(tmp_path, fixture_bundle_dir):
    """`python -m pipeline predict` on bad files, as a user runs it: exit 2, one 'error:' line, no traceback."""
    names = ["binary", "nan"]  # each interpreter costs seconds of imports; the rest run in process above
    processes = {}
    for name in names:  # started together: each pays the interpreter's import time
        path = tmp_path / f"{name}.csv"
        path.write_bytes(BAD_FILES[name])
        processes[name] = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "predict", str(path), "--models", str(fixture_bundle_dir)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
    for name, process in processes.items():
        out, err = process.communicate(timeout=120)
        check_usage_error(process.returncode, err)
        assert out == "", name


@pytest.mark.parametrize("labelled", [False, True], ids=["beats", "labelled"])
def test_val_pandas_index_column(labelled):
    """A frame saved with pandas' default index=True: the sentence says to save it with index=False."""
    import pandas as pd

    beats = pd.DataFrame(np.random.default_rng(0).random((3, 187)))
    if labelled:
        beats[187] = 1.0
    with pytest.raises(InputError) as error:
        read_beats_csv(beats.to_csv().encode())
    assert "index=False" in str(error.value)
    assert str(error.value).startswith("Row 1, column 1 is empty" if not labelled else "Row 1 has 189 columns")
    # a merely empty first cell elsewhere keeps the plain sentence
    with pytest.raises(InputError, match=r"^Row 2, column 1 is empty: fill in every value\.$"):
        read_beats_csv(("0.5," * 186 + "0.5\n" + "," + "0.5," * 185 + "0.5\n").encode())


# ---------------------------------------------------------------- quoting and over-long lines

def test_val_quoted_values_keep_the_first_beat():
    rows = [",".join(f'"{cell}"' for cell in row) for row in good_rows(5)]
    beats = read_beats_csv(csv_bytes(*rows))
    assert beats.X.shape == (5, 187) and not beats.header_skipped
    plain = read_beats_csv(csv_bytes(*[",".join(row) for row in good_rows(5)]))
    np.testing.assert_array_equal(beats.X, plain.X)


def test_val_header_skipped_is_reported():
    header = ",".join(f'"c{i}"' for i in range(188))
    assert read_beats_csv(csv_bytes(header, *good_rows(2))).header_skipped
    assert not read_beats_csv(csv_bytes(*good_rows(2))).header_skipped


@pytest.mark.parametrize("line", [1, 3])
def test_val_long_line(line):
    rows = [",".join(row) for row in good_rows(4)]
    rows[line - 1] = "0.5," * 20_000
    message = rejected(csv_bytes(*rows))
    assert f"Line {line} is longer than 64 KB" in message


class EndlessLine(io.RawIOBase):
    """A file of one endless line that fails the test if anyone reads it whole (or past 8 MB)."""

    def __init__(self):
        self.given = 0

    def read(self, size=-1):
        assert size is not None and size >= 0, "the validator read a whole file at once"
        assert self.given < 8 * 1024 * 1024, "the validator kept reading an over-long line"
        self.given += size
        return b"0.5," * (size // 4)


def test_val_long_line_refused_while_reading():
    stream = EndlessLine()
    assert "Line 1 is longer than 64 KB" in rejected(stream)
    assert stream.given <= 2 * 1024 * 1024
