"""The Recording page's server work: a recording uploaded -> strip, tachogram and summary; a pan or zoom; and the decimation.

Figures (medians of --runs, each in a fresh child process so its peak RSS is one worker's):

- page load: the upload stored (as the /upload route stores it), read and classified through the
  pipeline, the results written to the upload store, then the first strip, tachogram and summary
  built: everything the server does between a file arriving and the three being on screen. The
  baseline, in the same run: the pipeline alone (read_recording + classify_recording, what
  classify-record does per file).
- a 30-minute MIT-BIH record (232, DS2, with its .atr) and a 24-hour recording (all 48 records
  joined, as bench_records.py builds it).
- pan and zoom on the 24-hour strip: the page's redraw of strip + tachogram for windows of 24 h,
  1 h, 10 min, 1 min and 10 s at random places, against plotly-resampler 0.11.1 (FigureResampler's
  update for the same windows; only when it is importable, e.g. pip install --target DIR --no-deps
  plotly-resampler==0.11.1 and PYTHONPATH=DIR, since it pins plotly<7 and this app runs plotly 7)
  and tsdownsample's MinMaxLTTB on the same window (the aggregation plotly-resampler uses).

Usage: MODELS_DIR=<bundle with a rhythm model> .venv/bin/python bench/bench_record_page.py --mitdb-dir /work/shared/mitdb
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

WINDOWS_S = {"24 h": 86400.0, "1 h": 3600.0, "10 min": 600.0, "1 min": 60.0, "10 s": 10.0}

CHILD = r"""
import json, os, sys, time
from pathlib import Path
mode, paths = sys.argv[1], [Path(p) for p in sys.argv[2:]]
started = time.perf_counter()
if mode == "baseline":
    from pipeline.bundle import load_bundle
    from pipeline.records import classify_recording, record_model
    from pipeline.recording import read_recording
    model = record_model(load_bundle(os.environ.get("MODELS_DIR", "models")))  # the bundle the page serves
    started = time.perf_counter()
    result = classify_recording(read_recording(paths[0]), model)
    beats = result.summary["beats"]
else:
    import dashboard.app  # registers the pages
    from dashboard.data import get_bundle
    from dashboard.pages.record import _summary, _reference, draw_window
    from dashboard.recordings import analyse
    from dashboard.uploads import get_store
    get_bundle()  # a served worker has its bundle loaded already
    store = get_store()
    started = time.perf_counter()
    files = []
    for path in paths:
        with open(path, "rb") as f:
            size = path.stat().st_size
            files.append({"token": store.create(f, limit=size, size=size), "filename": path.name})
    meta = analyse(store, files)
    draw_window(store, meta, (0.0, meta["duration_s"]))
    _summary(meta), _reference(meta)
    beats = meta["summary"]["beats"]
print(json.dumps({"seconds": time.perf_counter() - started, "beats": beats}))
"""


def child(mode: str, paths: list[Path], upload_dir: Path) -> tuple[float, float, int]:
    """(seconds of the work itself, peak RSS MB of the process, beats) of one run in a fresh process."""
    with tempfile.NamedTemporaryFile("r") as report:
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report.name, sys.executable, "-c", CHILD, mode,
                               *map(str, paths)], cwd=REPO, capture_output=True, text=True,
                              env={**os.environ, "UPLOAD_DIR": str(upload_dir), "OMP_NUM_THREADS": "1",
                                   "UPLOAD_STORE_MAX_MB": "100000"})
        if done.returncode:
            raise SystemExit(f"the {mode} run failed:\n{done.stderr[-3000:]}")
        peak = int(report.read().strip().splitlines()[-1]) / 1024
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["seconds"], peak, result["beats"]


def page_load(name: str, paths: list[Path], runs: int, upload_dir: Path) -> None:
    for mode in ("page", "baseline"):
        results = [child(mode, paths, upload_dir) for _ in range(runs)]
        label = "page: upload -> strip, tachogram, summary" if mode == "page" else "baseline: the pipeline alone"
        print(f"{name}, {label}: median {statistics.median(r[0] for r in results):.2f} s, peak "
              f"{statistics.median(r[1] for r in results):,.0f} MB, {results[0][2]:,} beats "
              f"({'; '.join(f'{s:.2f} s {m:,.0f} MB' for s, m, _ in results)})", flush=True)


def pans(day: Path, upload_dir: Path, repeats: int) -> None:
    """Redraw times for pan/zoom windows on the 24-hour strip: the page's own path against plotly-resampler."""
    os.environ["UPLOAD_DIR"] = str(upload_dir)
    os.environ["UPLOAD_STORE_MAX_MB"] = "100000"
    import dashboard.app  # noqa: F401  registers the pages
    from dashboard.pages.record import BUCKETS, draw_window
    from dashboard.recordings import analyse, samples, strip_window
    from dashboard.uploads import get_store

    store = get_store()
    files = []
    for path in sorted(day.parent.glob("day.*")):
        with open(path, "rb") as f:
            size = path.stat().st_size
            files.append({"token": store.create(f, limit=size, size=size), "filename": path.name})
    meta = analyse(store, files)
    duration = meta["duration_s"]
    rng = np.random.default_rng(0)
    signal = samples(store, meta, 0, meta["n_samples"])  # what an in-memory resampler holds per user
    fs = meta["fs"]
    try:
        import plotly.graph_objects as go
        from plotly_resampler import FigureResampler

        started = time.perf_counter()
        resampler = FigureResampler(go.Figure(), default_n_shown_samples=2 * BUCKETS)
        resampler.add_trace(go.Scattergl(name="ECG"), hf_x=np.arange(len(signal)) / fs, hf_y=signal)
        print(f"plotly-resampler: figure with the 24-hour trace built in {time.perf_counter() - started:.2f} s")
    except ImportError:
        resampler = None
        print("plotly-resampler is not importable: its column is skipped")
    try:
        from tsdownsample import MinMaxLTTBDownsampler
        lttb = MinMaxLTTBDownsampler()
    except ImportError:
        lttb = None
    print(f"{'window':>8} | page redraw (strip + tachogram + beat marks), median / max | of which the strip's "
          "min/max window | plotly-resampler update (signal only) | tsdownsample MinMaxLTTB on the window")
    for label, span in WINDOWS_S.items():
        ours, strips, theirs, lttbs = [], [], [], []
        for _ in range(repeats):
            t0 = float(rng.uniform(0, max(duration - span, 0)))
            window = (t0, min(t0 + span, duration))
            started = time.perf_counter()
            draw_window(store, meta, window)
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            strip_window(store, meta, *window, BUCKETS)
            strips.append(time.perf_counter() - started)
            if resampler is not None:
                started = time.perf_counter()
                resampler.construct_update_data_patch({"xaxis.range[0]": window[0], "xaxis.range[1]": window[1]})
                theirs.append(time.perf_counter() - started)
            if lttb is not None:
                lo, hi = int(window[0] * fs), int(window[1] * fs)
                started = time.perf_counter()
                lttb.downsample(signal[lo:hi], n_out=2 * BUCKETS)
                lttbs.append(time.perf_counter() - started)
        def show(xs):
            return f"{1000 * statistics.median(xs):7.1f} / {1000 * max(xs):7.1f} ms" if xs else "  (skipped)"
        print(f"{label:>8} | {show(ours)} | {show(strips)} | {show(theirs)} | {show(lttbs)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb-dir", type=Path, default=Path(os.environ.get("MITDB_DIR", "/work/shared/mitdb")))
    parser.add_argument("--record", default="232", help="the 30-minute record (default 232, DS2)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--day-runs", type=int, default=3, help="runs of the 24-hour page load (each ~1 min)")
    parser.add_argument("--pans", type=int, default=10, help="windows of each width on the 24-hour strip")
    parser.add_argument("--skip-day", action="store_true", help="only the 30-minute record")
    args = parser.parse_args()
    from bench_records import join_records

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start "
          "(other sessions share it)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        record = [args.mitdb_dir / f"{args.record}.{ext}" for ext in ("hea", "dat", "atr")]
        page_load(f"30-minute record {args.record}", record, args.runs, tmp / "uploads")
        if args.skip_day:
            return
        day = join_records(args.mitdb_dir, tmp)
        page_load("24-hour recording (48 records joined)", [day, day.with_suffix(".dat")], args.day_runs,
                  tmp / "uploads")
        pans(day, tmp / "pan-uploads", args.pans)
        print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
