"""Recording readers on real fixtures: 60 s of MIT-BIH record 200 as WFDB (360 Hz), CSV (250 Hz) and EDF."""
from __future__ import annotations

import gzip
import io
import shutil
import warnings
import zipfile
from pathlib import Path

import edfio
import numpy as np
import pandas as pd
import pytest
import wfdb

from pipeline.recording import (
    Recording, RecordingError, RecordingWarning, read_recording, read_recording_files, to_input_samples,
    to_model_rate, to_model_samples,
)

RECORDINGS = Path(__file__).resolve().parent / "fixtures" / "recordings"
SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "sample_recording"
WFDB_FILES = ("200.hea", "200.dat", "200.atr")
CSV = RECORDINGS / "200_250hz.csv"
EDF = RECORDINGS / "200.edf"
# The 250 Hz CSV keeps the band below 125 Hz of a 360 Hz record whose ADC step is 0.005 mV:
# resampled back to 360 Hz it differs from the original by 0.0026 mV RMS and 0.013 mV at most
# (measured; the 125-180 Hz noise of record 200 it cannot hold). The tolerance is about four
# times that; a copy one sample (2.8 ms) out of step misses it by far (test_rec_tolerance_bites).
CSV_RMS_MV, CSV_MAX_MV = 0.01, 0.05


@pytest.fixture(scope="module")
def wfdb_recording() -> Recording:
    return read_recording(RECORDINGS / "200.hea")


def _csv_text(path: Path = CSV) -> list[str]:
    return path.read_text().splitlines()


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def _copy_wfdb(tmp_path: Path, *names: str) -> Path:
    for name in names:
        shutil.copy(RECORDINGS / name, tmp_path / name)
    return tmp_path / "200.hea"


# ---------------------------------------------------------------- the three formats

def test_rec_wfdb(wfdb_recording):
    rec = wfdb_recording
    assert rec.fs == 360.0 and rec.name == "200"
    assert rec.lead_names == ("MLII", "V1") and rec.units == ("mV", "mV") and rec.lead == 0
    assert rec.signals.shape == (21_600, 2) and rec.signals.dtype == np.float64
    assert rec.duration_s == pytest.approx(60.0)
    # the same values wfdb gives, in mV
    expected = wfdb.rdrecord(str(RECORDINGS / "200")).p_signal
    np.testing.assert_array_equal(rec.signals, expected)
    np.testing.assert_array_equal(rec.signal, expected[:, 0])
    symbols = list(rec.reference.symbols)
    assert (symbols.count("A"), symbols.count("V"), symbols.count("N")) == (4, 31, 48)
    assert rec.reference.samples.dtype == np.int64
    assert np.all(np.diff(rec.reference.samples) > 0) and rec.reference.samples[-1] < 21_600


@pytest.mark.parametrize("given", ["200", "200.dat", "200.hea"])
def test_rec_wfdb_path_forms(given, wfdb_recording):
    rec = read_recording(RECORDINGS / given)
    np.testing.assert_array_equal(rec.signals, wfdb_recording.signals)
    np.testing.assert_array_equal(rec.reference.samples, wfdb_recording.reference.samples)


def test_rec_wfdb_without_atr(tmp_path):
    rec = read_recording(_copy_wfdb(tmp_path, "200.hea", "200.dat"))
    assert rec.reference is None and rec.signals.shape == (21_600, 2)


def _multi_segment(folder: Path, rec: Recording) -> Path:
    """The fixture split in two segments under a master header, as long PhysioNet records are stored."""
    half = len(rec.signals) // 2
    for k, part in enumerate((rec.signals[:half], rec.signals[half:])):
        wfdb.wrsamp(f"seg{k}", fs=rec.fs, units=list(rec.units), sig_name=list(rec.lead_names), p_signal=part,
                    fmt=["16", "16"], adc_gain=[200, 200], baseline=[0, 0], write_dir=str(folder))
    master = folder / "multi.hea"
    master.write_text(f"multi/2 2 {rec.fs:g} {len(rec.signals)}\nseg0 {half}\nseg1 {len(rec.signals) - half}\n")
    return master


def test_rec_wfdb_multi_segment(tmp_path, wfdb_recording):
    """A multi-segment record (a master header naming a header per segment) reads as one; it was a traceback."""
    rec = read_recording(_multi_segment(tmp_path, wfdb_recording))
    assert rec.fs == 360.0 and rec.lead_names == ("MLII", "V1") and rec.name == "multi"
    np.testing.assert_array_equal(rec.signals, wfdb_recording.signals)  # the fixture's values are on 1/200 mV steps
    uploaded = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    _assert_same(read_recording_files(uploaded), rec)  # uploaded together: the master header is the record
    (tmp_path / "seg1.dat").unlink()
    _bad(r"The signal file seg1\.dat named in seg1\.hea is missing", tmp_path / "multi.hea")
    (tmp_path / "seg1.hea").unlink()
    _bad(r"The segment header seg1\.hea named in multi\.hea is missing", tmp_path / "multi.hea")
    (tmp_path / "loop.hea").write_text("loop/2 2 360 21600\nloop 10800\nseg0 10800\n")
    _bad(r"loop\.hea, a segment of loop\.hea, is itself a multi-segment header", tmp_path / "loop.hea")
    # the same segment named again and again would make wfdb read its file each time
    (tmp_path / "again.hea").write_text("again/3 2 360 32400\nseg0 10800\nseg0 10800\nseg0 10800\n")
    _bad(r"again\.hea names the segment seg0 more than once", tmp_path / "again.hea")
    # a gap ("~") of a hundred days would be a hundred days of NaN
    (tmp_path / "gap.hea").write_text(f"gap/2 2 360 10800\nseg0 10800\n~ {360 * 86_400 * 100}\n")
    _bad(r"gap\.hea is 2,400\.\d hours long; up to 48 hours at a time is supported", tmp_path / "gap.hea")


def test_rec_bad_too_long(tmp_path):
    """A header promising more than two days is refused before anything is read."""
    _copy_wfdb(tmp_path, "200.dat")
    lines = (RECORDINGS / "200.hea").read_text().splitlines()
    fields = lines[0].split()
    fields[3] = str(360 * 3600 * 49)
    (tmp_path / "200.hea").write_text("\n".join([" ".join(fields)] + lines[1:]) + "\n")
    _bad(r"200\.hea is 49\.0 hours long; up to 48 hours at a time is supported, so split it", tmp_path / "200.hea")


def test_rec_bad_too_many_values(tmp_path):
    """One lead for 35 hours at 1000 Hz (126 million values, ~1 GB as float64, several times over while read) is
    refused from the header, before the signal file is read, also when a small zip unpacks to it."""
    samples = 1000 * 3600 * 35
    (tmp_path / "big.hea").write_text(f"big 1 1000 {samples}\nbig.dat 16 200/mV 16 0 0 0 0 MLII\n")
    (tmp_path / "big.dat").write_bytes(b"\0" * 1024)  # the header's claim alone is refused
    message = r"big\.hea holds 1 leads of 126,000,000 samples, 126 million values; up to 124 million are read at a time"
    _bad(message + r".*so split it", tmp_path / "big.hea")
    files = {"big.zip": _zip({"big.hea": (tmp_path / "big.hea").read_bytes(), "big.dat": b"\0" * 1024})}
    with pytest.raises(RecordingError, match=message):
        read_recording_files(files)


@pytest.mark.parametrize("path", ["wfdb", EDF, CSV], ids=["wfdb", "edf", "csv"])
def test_rec_too_many_leads_reads_the_chosen_one(tmp_path, monkeypatch, path):
    """When all leads are too many values to read at once but one fits (a day of two leads at 1000 Hz), only the
    chosen lead is read, with a warning saying so; with the limit at all of them, every lead is read."""
    import pipeline.recording as recording

    path = _copy_wfdb(tmp_path, *WFDB_FILES) if path == "wfdb" else path
    whole = read_recording(path)
    samples, leads = whole.signals.shape
    monkeypatch.setattr(recording, "MAX_VALUES", samples * leads - 1)
    with pytest.warns(RecordingWarning, match=rf"holds {leads} leads of {samples:,} samples, more than are read at a "
                                              r"time \(0 million values\), so only lead MLII was read"):
        one = read_recording(path)
    assert one.signals.shape == (samples, 1) and one.lead_names == ("MLII",) and one.lead == 0
    np.testing.assert_array_equal(one.signal, whole.signal)
    with pytest.warns(RecordingWarning, match="so only lead V1 was read"):
        assert read_recording(path, lead="V1").lead_names == ("V1",)
    monkeypatch.setattr(recording, "MAX_VALUES", samples - 1)
    _bad(rf"holds 2 leads of {samples:,} samples.*so split it", path)
    monkeypatch.setattr(recording, "MAX_VALUES", samples * leads)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RecordingWarning)
        assert read_recording(path).signals.shape == (samples, leads)


def test_rec_edf_matches_wfdb(wfdb_recording):
    rec = read_recording(EDF)
    assert (rec.fs, rec.lead_names, rec.units, rec.lead, rec.reference) == (360.0, ("MLII", "V1"), ("mV", "mV"), 0, None)
    # EDF stores 16 bits over each lead's range: about 0.0001 mV per step here
    np.testing.assert_allclose(rec.signals, wfdb_recording.signals, atol=1e-4, rtol=0)


def test_rec_edf_values_are_edfios_own():
    """The reader calibrates EDF's digital values in place (no float64 copies of a day's lead); the values are
    exactly edfio's physical ones, lead by lead."""
    signals = read_recording(EDF).signals
    for column, channel in enumerate(edfio.read_edf(EDF).signals):
        np.testing.assert_array_equal(signals[:, column], channel.data)


@pytest.mark.parametrize("before", [16 + 80 + 8, 16 + 80 + 8 + 8 + 8], ids=["physical", "digital"])
def test_rec_edf_without_calibration_is_said(tmp_path, before):
    """A header whose physical (or digital) minimum equals its maximum has no calibration: the lead comes back as
    the file's raw numbers (as edfio gives them), in an unknown unit, and the reader says so in a sentence."""
    data = bytearray(EDF.read_bytes())
    leads = int(data[252:256])
    # EDF's header: 256 bytes, then each field for every lead in turn (label 16 bytes, transducer 80, unit 8, physical
    # minimum 8, maximum 8, digital minimum 8, maximum 8, ...): the first lead's maximum set to its minimum
    minimum = 256 + leads * before
    data[minimum + 8 * leads: minimum + 8 * leads + 8] = data[minimum: minimum + 8]
    path = tmp_path / "no_range.edf"
    path.write_bytes(bytes(data))
    with pytest.warns(RecordingWarning, match="no_range.edf: the header gives lead MLII no calibration") as said:
        rec = read_recording(path)
    assert not [w for w in said if not issubclass(w.category, RecordingWarning)]  # edfio's own warning is not shown
    np.testing.assert_array_equal(rec.signals[:, 0], edfio.read_edf(EDF).signals[0].digital)
    assert rec.units == ("unknown", "mV")


def test_rec_csv_matches_wfdb(wfdb_recording):
    rec = read_recording(CSV)
    assert (rec.fs, rec.lead_names, rec.units, rec.lead) == (250.0, ("MLII", "V1"), ("unknown", "unknown"), 0)
    assert rec.signals.shape == (15_000, 2)
    for lead in (0, 1):
        at_360 = to_model_rate(rec.signals[:, lead], rec.fs)
        assert at_360.shape == (21_600,)
        error = at_360 - wfdb_recording.signals[:, lead]
        assert np.sqrt(np.mean(error**2)) < CSV_RMS_MV
        assert np.abs(error).max() < CSV_MAX_MV


def test_rec_tolerance_bites(wfdb_recording):
    """The CSV tolerance is tight enough to catch a copy one 360 Hz sample out of step."""
    at_360 = to_model_rate(read_recording(CSV).signal, 250.0)
    error = np.roll(at_360, 1)[1:] - wfdb_recording.signal[1:]
    assert np.sqrt(np.mean(error**2)) > CSV_RMS_MV and np.abs(error).max() > CSV_MAX_MV


def test_rec_sample_recording():
    rec = read_recording(SAMPLE / "200.hea")
    symbols = list(rec.reference.symbols)
    assert rec.duration_s == pytest.approx(300.0) and rec.lead_names[rec.lead] == "MLII"
    assert (symbols.count("A"), symbols.count("V")) == (14, 117)
    assert sum(f.stat().st_size for f in SAMPLE.iterdir()) < 1_000_000


# ---------------------------------------------------------------- rates and positions

@pytest.mark.parametrize("fs", [100.0, 128.0, 250.0, 256.0, 360.0, 500.0, 1000.0, 257.3])
def test_rec_positions_round_trip(fs):
    """A beat at input sample k lands within half an input sample of k after 360 Hz and back."""
    samples = np.array([0, 17, 1_000, 123_456, 31_000_000])
    back = to_input_samples(to_model_samples(samples, fs), fs)
    assert np.all(np.abs(back - samples) <= max(1, fs / 360))


def test_rec_resample_keeps_peak_positions():
    """A spike at 1.000 s in a 250 Hz signal is at 360 Hz sample 360, and maps back to input sample 250."""
    fs = 250.0
    signal = np.zeros(2_500)
    signal[250] = 1.0
    at_360 = to_model_rate(signal, fs)
    assert at_360.shape == (3_600,)
    peak = int(np.argmax(at_360))
    assert peak == 360
    assert to_input_samples([peak], fs)[0] == 250


def test_rec_model_rate_is_identity_at_360(wfdb_recording):
    np.testing.assert_array_equal(to_model_rate(wfdb_recording.signal, 360.0), wfdb_recording.signal)


# ---------------------------------------------------------------- lead choice

@pytest.mark.parametrize("lead, index", [(None, 0), ("MLII", 0), ("v1", 1), (1, 1), ("1", 1), (0, 0)])
def test_rec_lead_choice(lead, index):
    for path in (RECORDINGS / "200.hea", CSV, EDF):
        rec = read_recording(path, lead=lead)
        assert rec.lead == index and rec.lead_names[rec.lead] == ("MLII", "V1")[index]
        np.testing.assert_array_equal(rec.signal, rec.signals[:, index])


def test_rec_default_lead_mlii_not_first(tmp_path):
    lines = _csv_text()
    lines[0] = "time_s,V1,MLII"
    rec = read_recording(_write_lines(tmp_path / "swapped.csv", lines))
    assert rec.lead_names == ("V1", "MLII") and rec.lead == 1


def test_rec_default_lead_skips_non_ecg(tmp_path):
    lines = _csv_text()
    lines[0] = "time_s,Resp,ECG"
    rec = read_recording(_write_lines(tmp_path / "resp_first.csv", lines))
    assert rec.lead_names[rec.lead] == "ECG"


def test_rec_csv_units_and_time_names(tmp_path):
    lines = _csv_text()
    lines[0] = "Time (s),MLII (mV),V1_uV"
    rec = read_recording(_write_lines(tmp_path / "units.csv", lines))
    assert rec.lead_names == ("MLII", "V1") and rec.units == ("mV", "uV") and rec.fs == 250.0
    lines[0] = "t,MLII,V1"
    assert read_recording(_write_lines(tmp_path / "t.csv", lines)).fs == 250.0


def test_rec_csv_time_in_ms(tmp_path):
    lines = _csv_text()
    ms_lines = ["time_ms,MLII,V1"] + [f"{float(line.split(',')[0]) * 1000:.0f},{line.split(',', 1)[1]}" for line in lines[1:]]
    assert read_recording(_write_lines(tmp_path / "ms.csv", ms_lines)).fs == 250.0


def test_rec_csv_fs_without_time(tmp_path, wfdb_recording):
    lines = [",".join(line.split(",")[1:]) for line in _csv_text()]
    rec = read_recording(_write_lines(tmp_path / "leads.csv", lines), fs=250)
    np.testing.assert_array_equal(rec.signals, read_recording(CSV).signals)
    assert rec.fs == 250.0


def test_rec_csv_first_row_of_gaps_is_not_a_units_row(tmp_path):
    """A units row (rdsamp's 'seconds','mV') is words; a first row of gaps is samples, and dropping it would shift
    every beat by a sample."""
    lines = [",".join(line.split(",")[1:]) for line in _csv_text()]
    lines[1] = "NaN,NaN"
    rec = read_recording(_write_lines(tmp_path / "gaps_first.csv", lines), fs=250)
    assert len(rec.signals) == len(lines) - 1 and np.isnan(rec.signals[0, 1])


def test_rec_csv_semicolon_bom_crlf(tmp_path):
    lines = [line.replace(",", ";") for line in _csv_text()]
    path = tmp_path / "excel.csv"
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    rec = read_recording(path)
    assert rec.lead_names == ("MLII", "V1") and rec.fs == 250.0
    np.testing.assert_array_equal(rec.signals, read_recording(CSV).signals)


def test_rec_csv_decimal_comma(tmp_path):
    """A spreadsheet in a European locale: semicolons between values, commas as the decimal point."""
    lines = [line.replace(",", ";").replace(".", ",") for line in _csv_text()]
    rec = read_recording(_write_lines(tmp_path / "locale.csv", lines))
    assert rec.lead_names == ("MLII", "V1") and rec.fs == 250.0
    np.testing.assert_array_equal(rec.signals, read_recording(CSV).signals)
    # tab-separated the same way
    rec = read_recording(_write_lines(tmp_path / "locale_tab.csv", [line.replace(";", "\t") for line in lines]))
    np.testing.assert_array_equal(rec.signals, read_recording(CSV).signals)
    # the first rows may hold only whole numbers ("0;1"); a decimal comma further down still counts
    whole = _write_lines(tmp_path / "whole_first.csv", [lines[0], "0;1;1", "0,004;1;1"] + lines[3:])
    assert read_recording(whole).signals[0].tolist() == [1.0, 1.0]


def test_rec_short_gap_filled(tmp_path):
    lines = _csv_text()
    for row in range(1_001, 1_101):  # 0.4 s of missing MLII
        t, _, v1 = lines[row].split(",")
        lines[row] = f"{t},,{v1}"
    with pytest.warns(RecordingWarning, match="1 gap"):
        rec = read_recording(_write_lines(tmp_path / "gap.csv", lines))
    assert not np.isnan(rec.signal).any()
    before, after = rec.signal[999], rec.signal[1_100]
    np.testing.assert_allclose(rec.signal[1_000:1_100], np.linspace(before, after, 102)[1:-1])


# ---------------------------------------------------------------- CSVs other programs write

def _rdsamp_csv(path: Path, rec: Recording, time_format: str = "seconds", invalid: tuple[int, ...] = ()) -> Path:
    """The 360 Hz fixture as PhysioNet's `rdsamp -c -v -p` writes it (WFDB Applications Guide, rdsamp.c): quoted
    names, a units row, times and values to 3 decimals; -pe prints elapsed times as quoted m:ss.mmm clocks, and
    an invalid sample prints as "-"."""
    def clock(i: int) -> str:
        minutes, seconds = divmod(i / rec.fs, 60)
        return f"'{int(minutes)}:{seconds:06.3f}'"

    unit = "'hh:mm:ss.mmm'" if time_format == "clock" else f"'{time_format}'"
    per_unit = {"seconds": 1.0, "minutes": 60.0}.get(time_format)
    lines = ["'Elapsed time'," + ",".join(f"'{n}'" for n in rec.lead_names), unit + ",'mV','mV'"]
    for i, values in enumerate(rec.signals):
        t = clock(i) if time_format == "clock" else f"{i / rec.fs / per_unit:.{3 if per_unit == 1 else 5}f}"
        lines.append(t + "," + ",".join("-" if i in invalid else f"{v:.3f}" for v in values))
    return _write_lines(path, lines)


@pytest.mark.parametrize("time_format", ["seconds", "minutes", "clock"])
def test_rec_csv_physionet_rdsamp(tmp_path, wfdb_recording, time_format):
    rec = read_recording(_rdsamp_csv(tmp_path / "samples.csv", wfdb_recording, time_format))
    assert rec.fs == 360.0 and rec.lead_names == ("MLII", "V1") and rec.units == ("mV", "mV")
    np.testing.assert_allclose(rec.signals, wfdb_recording.signals, atol=5e-4)  # rdsamp's 3 decimals


def test_rec_csv_physionet_rdsamp_invalid_samples_are_a_gap(tmp_path, wfdb_recording):
    with pytest.warns(RecordingWarning, match="1 gap"):
        rec = read_recording(_rdsamp_csv(tmp_path / "samples.csv", wfdb_recording, invalid=tuple(range(500, 520))))
    assert not np.isnan(rec.signal).any() and rec.signals.shape == wfdb_recording.signals.shape


def test_rec_csv_clock_with_rows_missing(tmp_path, wfdb_recording):
    lines = _rdsamp_csv(tmp_path / "whole.csv", wfdb_recording, "clock").read_text().splitlines()
    del lines[10_000:10_360]  # a second of rows gone from the middle: the span no longer fits the rows
    _bad(r"does not keep one rate", _write_lines(tmp_path / "missing.csv", lines))
    lines = _rdsamp_csv(tmp_path / "whole.csv", wfdb_recording, "clock").read_text().splitlines()
    del lines[15_000]  # one row: the rate still rounds to 360 Hz and the first rows sit on its grid
    _bad(r"spans 59\.997 s, which at its 360 Hz is 21,600 samples, but it has 21,599 rows: rows are missing",
         _write_lines(tmp_path / "one_missing.csv", lines))


@pytest.mark.parametrize("zone", ["", "Z", "+02:00"])
def test_rec_csv_iso_timestamps(tmp_path, zone):
    """A time column of ISO dates and times to the millisecond, as loggers write it, across a summer-time change."""
    from datetime import datetime, timedelta

    start = datetime(2026, 3, 29, 0, 59, 50)  # 01:00 UTC: Europe's clocks go forward
    lines = ["timestamp,MLII,V1"]
    for line in _csv_text()[1:]:
        seconds, values = line.split(",", 1)
        stamp = (start + timedelta(seconds=float(seconds))).isoformat(sep="T", timespec="milliseconds")
        lines.append(f"{stamp}{zone},{values}")
    rec = read_recording(_write_lines(tmp_path / "logger.csv", lines))
    assert rec.fs == 250.0 and rec.lead_names == ("MLII", "V1")
    np.testing.assert_array_equal(rec.signals, read_recording(CSV).signals)


def test_rec_csv_wfdb_to_dataframe(tmp_path, wfdb_recording):
    """wfdb's own Record.to_dataframe().to_csv(): the elapsed time is pandas' unnamed index, as timedeltas."""
    path = tmp_path / "from_wfdb.csv"
    wfdb.rdrecord(str(RECORDINGS / "200")).to_dataframe().to_csv(path)
    assert path.read_text().splitlines()[1].startswith("0 days 00:00:00")
    rec = read_recording(path)
    assert rec.fs == 360.0 and rec.lead_names == ("MLII", "V1")
    np.testing.assert_array_equal(rec.signals, wfdb_recording.signals)


def test_rec_csv_pandas_row_index_is_not_a_lead(tmp_path, wfdb_recording):
    """DataFrame.to_csv() writes its row numbers first, unnamed: they were once read as the ECG."""
    path = tmp_path / "index.csv"
    pd.DataFrame({"ecg": wfdb_recording.signal}).to_csv(path)
    _bad(r"no time column .* give the sampling rate in Hz", path)
    rec = read_recording(path, fs=360)
    assert rec.lead_names == ("ecg",)
    np.testing.assert_array_equal(rec.signal, wfdb_recording.signal)


# ---------------------------------------------------------------- bad recordings, one sentence each

def _one_sentence(error: RecordingError) -> str:
    message = str(error)
    assert isinstance(error, ValueError) and message.isprintable() and message.endswith(".")
    return message


def _bad(match: str, path, **kwargs) -> None:
    with pytest.raises(RecordingError, match=match) as caught:
        read_recording(path, **kwargs)
    _one_sentence(caught.value)


def test_rec_bad_missing_dat(tmp_path):
    _bad(r"signal file 200\.dat named in 200\.hea is missing", _copy_wfdb(tmp_path, "200.hea", "200.atr"))


def test_rec_bad_missing_header(tmp_path):
    _copy_wfdb(tmp_path, "200.dat")
    _bad(r"header 200\.hea is missing", tmp_path / "200.dat")


def test_rec_bad_header(tmp_path):
    _copy_wfdb(tmp_path, "200.dat")
    (tmp_path / "200.hea").write_text("this is not a header\n")
    _bad(r"200\.hea is not a readable WFDB header", tmp_path / "200.hea")


def test_rec_bad_header_too_large(tmp_path):
    """wfdb reads a header whole, and took a comment line of 100 MB (4 s, 570 MB) or a lead name of 50 MB."""
    _copy_wfdb(tmp_path, "200.dat")
    header = (RECORDINGS / "200.hea").read_text()
    (tmp_path / "200.hea").write_text(header + "#" + "x" * 2 * 1024**2 + "\n")
    _bad(r"200\.hea is 2 MB; a WFDB header is a few lines of text", tmp_path / "200.hea")


def test_rec_bad_header_path_in_signal_name(tmp_path):
    header = _copy_wfdb(tmp_path, "200.hea", "200.dat")
    header.write_text(header.read_text().replace("200.dat", "../200.dat"))
    # wfdb's header syntax has no room for a folder, so a header cannot point outside its own
    _bad(r"200\.hea is not a readable WFDB header", header)


def test_rec_bad_flat_lead(tmp_path):
    lines = _csv_text()
    lines = [lines[0]] + [f"{line.split(',')[0]},0.5,{line.split(',')[2]}" for line in lines[1:]]
    _bad(r"Lead MLII of flat\.csv is flat", _write_lines(tmp_path / "flat.csv", lines))
    # the other lead is still usable
    assert read_recording(tmp_path / "flat.csv", lead="V1").lead_names[1] == "V1"


def test_rec_bad_all_nan_lead(tmp_path):
    lines = _csv_text()
    lines = [lines[0]] + [f"{line.split(',')[0]},,{line.split(',')[2]}" for line in lines[1:]]
    _bad(r"Lead MLII of empty_lead\.csv has no values", _write_lines(tmp_path / "empty_lead.csv", lines))


def test_rec_bad_infinite_value(tmp_path):
    lines = _csv_text()
    t, mlii, _ = lines[1_000].split(",")
    lines[1_000] = f"{t},{mlii},1{'0' * 400}"  # past float range: pandas reads it as infinity
    _bad(r"inf\.csv holds a value too large to be a sample at line 1001 \(column V1\)",
         _write_lines(tmp_path / "inf.csv", lines))


@pytest.mark.parametrize("encode", [lambda text: text.encode("utf-16"), lambda text: gzip.compress(text.encode())],
                         ids=["utf16", "gzip"])
def test_rec_bad_not_plain_text(tmp_path, encode):
    path = tmp_path / "saved_wrong.csv"
    path.write_bytes(encode("\n".join(_csv_text()) + "\n"))
    _bad(r"saved_wrong\.csv is not plain text .*save the recording as CSV in UTF-8", path)


def test_rec_csv_rows_ending_in_a_delimiter(tmp_path):
    """Some exports end every row, but not the header, with a delimiter: the empty last value is no column."""
    lines = _csv_text()
    rec = read_recording(_write_lines(tmp_path / "trailing.csv", [lines[0]] + [line + "," for line in lines[1:]]))
    np.testing.assert_array_equal(rec.signals, read_recording(CSV).signals)
    assert rec.lead_names == ("MLII", "V1")


@pytest.mark.parametrize("cut", [20, 8], ids=["in-the-time", "in-a-lead"])
def test_rec_csv_cut_off_last_line_left_out(tmp_path, cut):
    """A file cut short mid-line: the piece of a line is left out with a warning (not "sort the rows", not a NaN)."""
    whole = CSV.read_bytes()
    path = tmp_path / "cut.csv"
    path.write_bytes(whole[:-cut])
    with pytest.warns(RecordingWarning, match="cut.csv ends in the middle of a line"):
        rec = read_recording(path)
    np.testing.assert_array_equal(rec.signals, read_recording(CSV).signals[:-1])
    # a whole last line without its line end is a whole line
    path.write_bytes(whole.rstrip(b"\r\n"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RecordingWarning)
        np.testing.assert_array_equal(read_recording(path).signals, read_recording(CSV).signals)


def test_rec_edf_cut_short_is_said(tmp_path):
    """edfio reads what a cut-short EDF holds; the reader says so instead of classifying part of it in silence."""
    whole = EDF.read_bytes()
    path = tmp_path / "cut.edf"
    path.write_bytes(whole[: len(whole) * 2 // 3])
    with pytest.warns(RecordingWarning) as caught:
        rec = read_recording(path)
    said = " ".join(str(w.message) for w in caught)
    assert "cut.edf: its header promises 60 data records but the file holds 39 (cut short?)" in said, said
    assert "cut.edf ends inside a data record" in said, said
    np.testing.assert_array_equal(rec.signals, read_recording(EDF).signals[: len(rec.signals)])


def test_rec_bad_row_with_a_value_too_many(tmp_path):
    lines = _csv_text()
    lines[1] += ",9"  # pandas would otherwise take the first column as a row index and shift the rest
    _bad(r"Line 2 of extra\.csv has 4 values where the header names 3 columns", _write_lines(tmp_path / "extra.csv", lines))
    lines = _csv_text()
    lines[5] += ",9"  # further down, pandas' own check
    _bad(r"Line 6 of extra\.csv has 4 values where the header names 3 columns", _write_lines(tmp_path / "extra.csv", lines))


def test_rec_bad_header_line_too_long(tmp_path):
    path = tmp_path / "long_header.csv"
    path.write_text("time_s," + "x" * 200_000 + "\n0,1\n")
    _bad(r"The first line of long_header\.csv is over 64 KB", path)


@pytest.mark.parametrize("where", ["row 3", "last row, no line end", "across a 16 MB block"])
def test_rec_bad_data_line_too_long(tmp_path, where):
    """A line of a million values is refused by its length, before pandas' tokenizer holds it all (it was ~5 bytes of
    memory a byte of line, then "has 500001 values where the header names 3 columns")."""
    lines = _csv_text()
    long_line = "1," * 500_000
    if where == "row 3":
        lines[2], line = long_line, 3
    elif where == "last row, no line end":
        path = tmp_path / "long.csv"
        path.write_text("\n".join(lines) + "\n" + long_line)
        _bad(rf"Line {len(lines) + 1} of long\.csv is over 64 KB", path)
        return
    else:
        row = lines[1]
        lines = [lines[0]] + [row] * ((16 << 20) // (len(row) + 1))  # the long line starts just before 16 MB
        lines.append(long_line)
        line = len(lines)
    _bad(rf"Line {line} of long\.csv is over 64 KB; a recording's CSV holds one sample per line",
         _write_lines(tmp_path / "long.csv", lines))


def test_rec_bad_long_gap(tmp_path):
    lines = _csv_text()
    for row in range(1_001, 1_501):  # 2 s
        t, _, v1 = lines[row].split(",")
        lines[row] = f"{t},,{v1}"
    _bad(r"has 2\.0 s of missing values from 4\.0 s", _write_lines(tmp_path / "long_gap.csv", lines))


def test_rec_bad_wfdb_flat_lead(tmp_path):
    record = wfdb.rdrecord(str(RECORDINGS / "200"), physical=False)
    record.d_signal[:, 0] = 1024
    record.wrsamp(expanded=False, write_dir=str(tmp_path))
    _bad(r"Lead MLII of 200\.hea is flat", tmp_path / "200.hea")


def test_rec_bad_no_time_no_fs(tmp_path):
    lines = [",".join(line.split(",")[1:]) for line in _csv_text()]
    _bad(r"no time column .* give the sampling rate in Hz", _write_lines(tmp_path / "leads.csv", lines))


def test_rec_bad_time_not_increasing(tmp_path):
    lines = _csv_text()
    lines[101], lines[102] = lines[102], lines[101]
    _bad(r"does not increase at line 103 \(0\.404 then 0\.4 s\)", _write_lines(tmp_path / "shuffled.csv", lines))


def test_rec_bad_time_uneven(tmp_path):
    lines = _csv_text()
    del lines[5_001:5_251]  # one second missing in the middle
    _bad(r"not evenly spaced \(a step of 1\.004 s at line 5002, where most steps are 0\.004 s\)", _write_lines(tmp_path / "hole.csv", lines))


def test_rec_time_jitter_accepted(tmp_path):
    """Timestamps rounded to 1 ms at 360 Hz are up to 0.18 samples off the grid: accepted as 360 Hz."""
    lines = ["time_s,MLII"] + [f"{i / 360:.3f},{v:.4f}" for i, v in
                               enumerate(read_recording(RECORDINGS / "200.hea").signal)]
    assert read_recording(_write_lines(tmp_path / "rounded.csv", lines)).fs == 360.0


def test_rec_bad_fs_disagrees_with_time(tmp_path):
    _bad(r"A sampling rate of 360 Hz was given but the time column", CSV, fs=360)


def test_rec_bad_fs_disagrees_with_header():
    _bad(r"A sampling rate of 250 Hz was given but 200\.hea says 360 Hz", RECORDINGS / "200.hea", fs=250)


def test_rec_bad_too_short(tmp_path):
    _bad(r"holds 8\.0 s of signal; at least 10 s", _write_lines(tmp_path / "short.csv", _csv_text()[:2_001]))


@pytest.mark.parametrize("fs, shown", [(50, "50 Hz"), (2_000, "2000 Hz")])
def test_rec_bad_rate(tmp_path, fs, shown):
    lines = [",".join(line.split(",")[1:]) for line in _csv_text()]
    _bad(rf"sampled at {shown}; only 100 to 1000 Hz", _write_lines(tmp_path / "leads.csv", lines), fs=fs)


def test_rec_bad_rate_edf(tmp_path):
    signal = read_recording(EDF).signal[:1_200]  # 60 s at 20 Hz
    edfio.Edf([edfio.EdfSignal(signal, 20, label="ECG")]).write(tmp_path / "slow.edf")
    _bad(r"slow\.edf is sampled at 20 Hz", tmp_path / "slow.edf")


@pytest.mark.parametrize("lead, shown", [("V5", "no lead named 'V5'"), (2, "no lead 2"), (-1, "no lead -1")])
def test_rec_bad_lead(lead, shown):
    for path in (RECORDINGS / "200.hea", CSV, EDF):
        _bad(rf"{shown}; its leads are 0 MLII, 1 V1", path, lead=lead)


def test_rec_bad_empty_csv(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    _bad(r"empty\.csv is empty", tmp_path / "empty.csv")
    _bad(r"header but no rows", _write_lines(tmp_path / "header_only.csv", ["time_s,MLII"]))
    _bad(r"no header row", _write_lines(tmp_path / "no_header.csv", _csv_text()[1:]))


def test_rec_bad_text_in_csv(tmp_path):
    lines = _csv_text()
    lines[500] = lines[500].replace(lines[500].split(",")[1], "lead off")
    _bad(r"text\.csv holds text \('lead off'\) where numbers should be", _write_lines(tmp_path / "text.csv", lines))


def test_rec_bad_binary_csv(tmp_path):
    (tmp_path / "binary.csv").write_bytes(b"time_s,MLII\n" + bytes(range(256)) * 50)
    with pytest.raises(RecordingError) as caught:
        read_recording(tmp_path / "binary.csv")
    _one_sentence(caught.value)


def test_rec_bad_edf(tmp_path):
    (tmp_path / "broken.edf").write_bytes(EDF.read_bytes()[:100])
    _bad(r"broken\.edf is not a readable EDF file", tmp_path / "broken.edf")


def test_rec_bad_files_of_random_bytes_say_so_in_printable_words(tmp_path):
    """A file of noise: the reader's error quotes its bytes, and the sentence must not carry them to a terminal."""
    noise = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    (tmp_path / "noise.edf").write_bytes(noise)
    _bad(r"noise\.edf is not a readable EDF file \([ -~]{1,120}\); export it again\.$", tmp_path / "noise.edf")
    (tmp_path / "noise.hea").write_bytes(noise)
    _bad(r"noise\.hea is not a readable WFDB header \([ -~]{1,120}\); export the record again\.$",
         tmp_path / "noise.hea")


def test_rec_bad_extension(tmp_path):
    shutil.copy(CSV, tmp_path / "200.txt")
    _bad(r"200\.txt is not a recording this reader knows", tmp_path / "200.txt")


def test_rec_bad_missing_file(tmp_path):
    _bad(r"does not exist", tmp_path / "nothing.csv")
    # a WFDB path with neither .hea nor .dat: the path is wrong, not a header missing beside a .dat
    for given in ("nothing.hea", "nothing", "nothing.zip"):
        _bad(rf"{given} does not exist; check the path", tmp_path / given)


def test_rec_bad_folder(tmp_path):
    _copy_wfdb(tmp_path, *WFDB_FILES)
    _bad(r"is a folder; give the recordings in it, e\.g\. .*\*\.hea", tmp_path)


def test_rec_zip_path(tmp_path, wfdb_recording):
    """A .zip of a record's files, given as a path, reads as the same files uploaded do."""
    path = tmp_path / "200.zip"
    path.write_bytes(_zip({name: (RECORDINGS / name).read_bytes() for name in WFDB_FILES}))
    _assert_same(read_recording(path), wfdb_recording)


# ---------------------------------------------------------------- uploads as bytes

def _assert_same(a: Recording, b: Recording) -> None:
    np.testing.assert_array_equal(a.signals, b.signals)
    assert (a.fs, a.lead_names, a.units, a.lead, a.name) == (b.fs, b.lead_names, b.units, b.lead, b.name)
    if a.reference is None:
        assert b.reference is None
    else:
        np.testing.assert_array_equal(a.reference.samples, b.reference.samples)
        np.testing.assert_array_equal(a.reference.symbols, b.reference.symbols)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_rec_files_wfdb(wfdb_recording):
    uploaded = {name: (RECORDINGS / name).read_bytes() for name in WFDB_FILES}
    _assert_same(read_recording_files(uploaded), wfdb_recording)
    _assert_same(read_recording_files(uploaded, lead="V1"), read_recording(RECORDINGS / "200.hea", lead="V1"))


def test_rec_files_zip(wfdb_recording):
    members = {f"record 200/{name}": (RECORDINGS / name).read_bytes() for name in WFDB_FILES}
    _assert_same(read_recording_files({"200.zip": _zip(members)}), wfdb_recording)


@pytest.mark.parametrize("read", [lambda **kw: read_recording(EDF, **kw), lambda **kw: read_recording(CSV, **kw),
                                  lambda **kw: read_recording(RECORDINGS / "200.hea", lead="V1", **kw),
                                  lambda **kw: read_recording_files(
                                      {"200.zip": _zip({n: (RECORDINGS / n).read_bytes() for n in WFDB_FILES})}, **kw)],
                         ids=["edf", "csv", "wfdb-v1", "zip-upload"])
def test_rec_invert_turns_the_chosen_lead_only(read):
    """invert=True (classify-record --invert, the Recording page's switch): the chosen lead times -1, every other
    lead and the annotations as read."""
    upright, inverted = read(), read(invert=True)
    np.testing.assert_array_equal(inverted.signal, -upright.signal)
    others = [i for i in range(upright.signals.shape[1]) if i != upright.lead]
    assert others, "the fixture has a second lead to leave alone"
    np.testing.assert_array_equal(inverted.signals[:, others], upright.signals[:, others])
    assert (inverted.lead, inverted.lead_names, inverted.fs) == (upright.lead, upright.lead_names, upright.fs)


@pytest.mark.parametrize("path", [CSV, EDF])
def test_rec_files_single(path):
    _assert_same(read_recording_files({path.name: path.read_bytes()}), read_recording(path))


def test_rec_files_names_are_sanitised(wfdb_recording):
    """An uploaded name with folders is reduced to its file name; nothing is written outside the temp folder."""
    uploaded = {f"../../{name}": (RECORDINGS / name).read_bytes() for name in WFDB_FILES}
    _assert_same(read_recording_files(uploaded), wfdb_recording)


def test_rec_files_zip_slip_refused(tmp_path):
    members = {"200.hea": (RECORDINGS / "200.hea").read_bytes(), "../200.dat": (RECORDINGS / "200.dat").read_bytes()}
    with pytest.raises(RecordingError, match=r"path outside its folder \(\.\./200\.dat\)") as caught:
        read_recording_files({"200.zip": _zip(members)})
    _one_sentence(caught.value)


def test_rec_files_zip_bomb_refused(monkeypatch):
    import pipeline.recording as recording

    monkeypatch.setattr(recording, "UPLOAD_MAX_BYTES", 1_000_000)
    bomb = _zip({"200.csv": b"0" * 5_000_000})  # 5 MB of zeros deflate to a few kB
    assert len(bomb) < 100_000
    with pytest.raises(RecordingError, match="unpacks to more than the upload limit"):
        read_recording_files({"bomb.zip": bomb})


def test_rec_files_zip_unpacked_in_pieces():
    """A zip's members are streamed to the private folder, never held whole: 50 MB of zeros (a 50 kB zip) peaks
    far below 50 MB (held whole, as before, it peaked at 50 MB and more)."""
    import tracemalloc

    small = _zip({"notes.txt": b"0" * 50_000_000})
    tracemalloc.start()
    try:
        with pytest.raises(RecordingError, match=r"notes\.txt is not a recording"):
            read_recording_files({"notes.zip": small})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000, peak


def test_rec_files_same_name_twice():
    hea = (RECORDINGS / "200.hea").read_bytes()
    with pytest.raises(RecordingError, match=r"Two uploaded files are named 200\.hea"):
        read_recording_files({"200.zip": _zip({"a/200.hea": hea, "b/200.hea": hea})})
    with pytest.raises(RecordingError, match=r"Two uploaded files are named 200\.hea"):
        read_recording_files({"200.hea": hea, "200.zip": _zip({"200.hea": hea})})


def test_rec_files_bad_uploads():
    dat = (RECORDINGS / "200.dat").read_bytes()
    with pytest.raises(RecordingError, match=r"header for 200\.dat is missing"):
        read_recording_files({"200.dat": dat})
    with pytest.raises(RecordingError, match=r"signal file 200\.dat named in 200\.hea is missing"):
        read_recording_files({"200.hea": (RECORDINGS / "200.hea").read_bytes()})
    with pytest.raises(RecordingError, match="several recordings"):
        read_recording_files({"200.edf": EDF.read_bytes(), "200.csv": CSV.read_bytes()})
    with pytest.raises(RecordingError, match="not a readable zip"):
        read_recording_files({"200.zip": b"not a zip"})
    with pytest.raises(RecordingError, match=r"notes\.txt is not a recording"):
        read_recording_files({"notes.txt": b"hello"})


def test_rec_bad_one_row(tmp_path):
    """A CSV of one row describes no rate: it is too short, not 'sampled at 0 Hz'."""
    _bad(r"holds 1 sample; at least 10 s", _write_lines(tmp_path / "one.csv", ["time_s,ecg", "0,1"]))
