"""Benchmark the recording readers: read time and peak memory for a 30-minute record as WFDB, CSV and EDF.

    .venv/bin/python bench/bench_recording.py --mitdb-dir ../shared/mitdb [--record 200] [--runs 5] [--long-hours 24 --long-runs 3]

Writes the first 30 minutes of one MIT-BIH record (both leads) as a 250 Hz CSV and a 360 Hz EDF
in a temporary folder, then times, each in a fresh interpreter so its peak memory is its own:
`read_recording` on the WFDB record, the CSV and the EDF; side by side in the same run, the
baselines: wfdb's own `rdrecord`, pandas' default `read_csv` of the same CSV, and the three EDF
readers (wfdb's `read_edf`, edfio, pyedflib when installed) reading every channel to float64,
with their largest difference from the record's own values (EDF keeps 16 bits per lead).
`--long-hours H` also reads an H-hour two-lead recording built by repeating the record, as WFDB
and as a 250 Hz CSV, and resamples its lead from 250 to 360 Hz (--long-runs runs). Medians of --runs runs; peak memory is the process's
peak RSS during the read (VmHWM, reset just before it) minus its RSS before the read.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import edfio
import numpy as np
import pandas as pd
import wfdb
from wfdb.io.convert.edf import read_edf

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "recordings"
sys.path.insert(0, str(REPO))
from pipeline.recording import read_recording, to_model_rate  # noqa: E402

try:
    import pyedflib  # not a project requirement: `pip install pyedflib==0.1.42` to include it
except ImportError:
    pyedflib = None

SECONDS = 1800


def _reset_peak() -> float:
    """Reset the kernel's peak-RSS mark (VmHWM) of this process; returns the RSS now, in MB."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS")


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _edfio_read(path: str) -> np.ndarray:
    return np.column_stack([s.data for s in edfio.read_edf(path).signals])


def _pyedflib_read(path: str) -> np.ndarray:
    with pyedflib.EdfReader(path) as f:
        return np.column_stack([f.readSignal(i) for i in range(f.signals_in_file)])


READERS = {
    "read_recording": lambda path: read_recording(path).signals,
    "wfdb.rdrecord": lambda path: wfdb.rdrecord(path.removesuffix(".hea")).p_signal,
    "pandas.read_csv": lambda path: pd.read_csv(path).to_numpy(np.float64)[:, 1:],
    "wfdb.read_edf": lambda path: read_edf(path).p_signal,
    "edfio": _edfio_read,
    "pyedflib": _pyedflib_read,
}


def child(kind: str, path: str, reference: str) -> None:
    """One read in this fresh interpreter; prints seconds, peak MB above the start, and the max difference."""
    resample = kind == "to_model_rate 250 Hz"  # read with read_recording, time the resampling only
    read = READERS["read_recording" if resample else kind]
    warm_up = FIXTURES / {".csv": "200_250hz.csv", ".edf": "200.edf"}.get(Path(path).suffix, "200.hea")
    for target in (str(warm_up), path):  # the first call of each reader pays one-off set-up: time the second
        before, start = _reset_peak(), time.perf_counter()
        signals = read(target)
        if resample:
            before, start = _reset_peak(), time.perf_counter()
            signals = to_model_rate(signals[:, 0], 250.0)[:, None]
    seconds = time.perf_counter() - start
    peak = _status_mb("VmHWM") - before
    difference = None
    if reference:
        expected = wfdb.rdrecord(reference, sampto=signals.shape[0]).p_signal
        difference = float(np.abs(signals - expected).max())
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "max_diff": difference, "shape": list(signals.shape)}))


def make_files(mitdb_dir: Path, record: str, folder: Path) -> dict[str, Path]:
    from scipy.signal import resample_poly

    rec = wfdb.rdrecord(str(mitdb_dir / record), sampto=SECONDS * 360)
    edf = folder / f"{record}.edf"
    edfio.Edf([edfio.EdfSignal(rec.p_signal[:, i], 360, label=name, physical_dimension=unit)
               for i, (name, unit) in enumerate(zip(rec.sig_name, rec.units))], data_record_duration=1).write(edf)
    at_250 = resample_poly(rec.p_signal, 25, 36, axis=0)
    csv = folder / f"{record}_250hz.csv"
    table = np.column_stack([np.arange(len(at_250)) / 250, at_250])
    np.savetxt(csv, table, fmt=["%.3f", "%.4f", "%.4f"], delimiter=",", header="time_s," + ",".join(rec.sig_name),
               comments="")
    return {"wfdb": mitdb_dir / f"{record}.hea", "csv": csv, "edf": edf}


def make_long(mitdb_dir: Path, record: str, hours: float, csv_30min: Path, folder: Path) -> dict[str, Path]:
    """An H-hour two-lead recording built by repeating one record: WFDB (format 212) and a 250 Hz CSV."""

    rec = wfdb.rdrecord(str(mitdb_dir / record), physical=False)
    n = int(hours * 3600 * 360)
    digital = np.tile(rec.d_signal, (-(-n // rec.sig_len), 1))[:n]
    wfdb.wrsamp(f"long{record}", fs=360, units=rec.units, sig_name=rec.sig_name, d_signal=digital,
                fmt=rec.fmt, adc_gain=rec.adc_gain, baseline=rec.baseline, write_dir=str(folder))
    del digital
    leads = pd.read_csv(csv_30min).iloc[:, 1:]
    n = int(hours * 3600 * 250)
    rows = np.tile(leads.to_numpy(), (-(-n // len(leads)), 1))[:n]
    csv = folder / f"long{record}_250hz.csv"
    with open(csv, "w") as f:
        f.write("time_s," + ",".join(leads.columns) + "\n")
        for start in range(0, n, 1_000_000):  # in slices, so the text is never all in memory
            part = rows[start: start + 1_000_000]
            table = np.column_stack([np.arange(start, start + len(part)) / 250, part])
            np.savetxt(f, table, fmt=["%.3f", "%.4f", "%.4f"], delimiter=",")
    return {"wfdb": folder / f"long{record}.hea", "csv": csv}


def run_child(kind: str, path: Path, reference: str = "") -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(path), reference],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mitdb-dir", type=Path)
    parser.add_argument("--record", default="200")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--long-hours", type=float, default=0)
    parser.add_argument("--long-runs", type=int, default=3)
    parser.add_argument("--child", nargs=3, metavar=("KIND", "PATH", "REFERENCE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory(prefix="bench-recording-") as tmp:
        folder = Path(tmp)
        files = make_files(args.mitdb_dir, args.record, folder)
        reference = str(args.mitdb_dir / args.record)
        cases = [  # (label, kind, file, record to compare with)
            ("read_recording WFDB", "read_recording", files["wfdb"], ""),
            ("wfdb.rdrecord", "wfdb.rdrecord", files["wfdb"], ""),
            ("read_recording CSV 250 Hz", "read_recording", files["csv"], ""),
            ("pandas.read_csv", "pandas.read_csv", files["csv"], ""),
            ("read_recording EDF", "read_recording", files["edf"], reference),
            ("wfdb.read_edf", "wfdb.read_edf", files["edf"], reference),
            ("edfio", "edfio", files["edf"], reference),
            *([("pyedflib", "pyedflib", files["edf"], reference)] if pyedflib else []),
            ("to_model_rate 250 Hz -> 360 Hz", "to_model_rate 250 Hz", files["csv"], ""),
        ]
        long_cases = []
        if args.long_hours:
            long = make_long(args.mitdb_dir, args.record, args.long_hours, files["csv"], folder)
            hours = f"{args.long_hours:g} h"
            long_cases = [(f"read_recording WFDB {hours}", "read_recording", long["wfdb"], ""),
                          (f"wfdb.rdrecord {hours}", "wfdb.rdrecord", long["wfdb"], ""),
                          (f"read_recording CSV 250 Hz {hours}", "read_recording", long["csv"], ""),
                          (f"pandas.read_csv {hours}", "pandas.read_csv", long["csv"], ""),
                          (f"to_model_rate 250 Hz -> 360 Hz {hours}", "to_model_rate 250 Hz", long["csv"], "")]
        sizes = {kind: path.stat().st_size / 2**20 for kind, path in files.items()}
        results: dict[str, list[dict]] = {label: [] for label, *_ in cases + long_cases}
        for run in range(args.runs):  # interleaved, so a busy moment touches every case alike
            for label, kind, path, ref in cases + (long_cases if run < args.long_runs else []):
                try:
                    results[label].append(run_child(kind, path, ref))
                except subprocess.CalledProcessError as error:
                    results[label].append({"error": error.stderr.strip().splitlines()[-1]})
    print(f"30-minute record {args.record}: files WFDB .dat {(args.mitdb_dir / f'{args.record}.dat').stat().st_size / 2**20:.1f} MB, "
          f"CSV {sizes['csv']:.1f} MB, EDF {sizes['edf']:.1f} MB; {args.runs} runs")
    print("| what | time (median) | peak memory above start (median) | max difference from the record (mV) |")
    print("|---|---|---|---|")
    for name, runs in results.items():
        ok = [r for r in runs if "error" not in r]
        if not ok:
            print(f"| {name} | {runs[0]['error']} | | |")
            continue
        seconds = statistics.median(r["seconds"] for r in ok)
        peak = statistics.median(r["peak_mb"] for r in ok)
        diff = ok[0]["max_diff"]
        print(f"| {name} | {seconds:.3f} s | {peak:.0f} MB | {'' if diff is None else f'{diff:.2g}'} |")


if __name__ == "__main__":
    main()
