"""Benchmark heartbeat detection on the 44 non-paced MIT-BIH records: ours against sleepecg, xqrs and neurokit2.

    .venv/bin/python bench/bench_detect.py [--mitdb-dir ../shared/mitdb] [--runs 5]
        [--xqrs-records all|none|108,208,...] [--no-neurokit] [--no-day]

Scoring follows ANSI/AAMI EC57 as WFDB's `bxb` implements it: a detection
matches a reference beat (AAMI symbols N L R e j A a J S V E F / f Q) within
150 ms, one to one, nearest first; detections inside a reference ventricular
flutter/fibrillation episode (between '[' and ']', only in record 207) are not
counted, as bxb does (the '!' flutter waves there are not beats). Whole records
are scored, the first five minutes included. Se and +P are gross (summed over
records), for all 44 records, DS1 and DS2, and per record for our method.

Timings: the median of --runs runs for ours and for sleepecg on lead 0 (its
baseline), interleaved in the same process; xqrs, neurokit2 and ours on lead 0
alone run once. neurokit2 is not in the requirements (it pins pandas < 3): it
is run only if installed (`pip install neurokit2==0.2.13` in a separate venv,
or skip it with --no-neurokit).
Then ours on the same records resampled to 250 and 128 Hz, the offset of our
beats from the reference annotation samples, and a ~24-hour signal (all 48
records joined, both leads) timed in a fresh process with its peak memory.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pipeline.dataset import ALL_RECORDS, DS1, DS2, PACED  # noqa: E402
from pipeline.vocabulary import AAMI  # noqa: E402
from pipeline.detect import detect_beats, match_beats  # noqa: E402

RECORDS = [r for r in ALL_RECORDS if r not in PACED]
FS = 360


def read(mitdb_dir: Path, record: str):
    """Both leads (ADC units, float), the reference beat samples and symbols, and the VF episodes."""
    import wfdb

    path = str(mitdb_dir / record)
    signals = wfdb.rdrecord(path, physical=False).d_signal.astype(np.float64)
    ann = wfdb.rdann(path, "atr")
    samples, symbols = np.asarray(ann.sample), np.asarray(ann.symbol)
    is_beat = np.isin(symbols, list(AAMI))
    starts, ends = samples[symbols == "["], samples[symbols == "]"]
    return signals, samples[is_beat], symbols[is_beat], list(zip(starts, ends))


def score(reference, detected, vf_episodes, fs=FS):
    """(true positives, missed, extra) for one record, detections in VF episodes left out (EC57 / bxb)."""
    detected = np.asarray(detected)
    for start, end in vf_episodes:
        detected = detected[(detected < start) | (detected > end)]
    match = match_beats(reference, detected, fs)
    return np.array([len(match.pairs), len(match.missed), len(match.extra)]), match, detected


def gross(counts: dict, records) -> str:
    tp, fn, fp = np.sum([counts[r] for r in records], axis=0)
    return f"Se {100 * tp / (tp + fn):.2f} / +P {100 * tp / (tp + fp):.2f} (missed {fn}, extra {fp})"


def summary(name: str, counts: dict, took: str) -> None:
    print(f"| {name} | {gross(counts, RECORDS)} | {gross(counts, DS1)} | {gross(counts, DS2)} | {took} |")


def run_method(name, detect, data, records=RECORDS):
    """Detections per record, and the (wall, CPU) seconds they took: on a shared machine CPU time is the steadier figure."""
    started, cpu = time.perf_counter(), time.process_time()
    detections = {r: detect(data[r][0]) for r in records}
    return detections, (time.perf_counter() - started, time.process_time() - cpu)


def seconds(times) -> str:
    """'wall s (CPU s)' medians."""
    return (f"{statistics.median(t[0] for t in times):.2f} s wall, "
            f"{statistics.median(t[1] for t in times):.2f} s CPU")


def sleepecg_lead0(signals):
    import sleepecg

    return sleepecg.detect_heartbeats(np.ascontiguousarray(signals[:, 0]), FS)


def xqrs_lead0(signals):
    import wfdb.processing

    return wfdb.processing.xqrs_detect(signals[:, 0], FS, verbose=False)


def neurokit_lead0(signals):
    import neurokit2 as nk

    return nk.ecg_peaks(signals[:, 0], sampling_rate=FS)[1]["ECG_R_Peaks"]


def ours(signals):
    return detect_beats(signals, FS)


def day_child(mitdb_dir: str) -> None:
    """In a fresh process: join all 48 records (~24 h, both leads), time detect_beats, report peak RSS."""
    import wfdb

    signals = np.concatenate([wfdb.rdrecord(f"{mitdb_dir}/{r}", physical=False).d_signal.astype(np.float64)
                              for r in ALL_RECORDS])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times = []
    for _ in range(3):
        started, cpu = time.perf_counter(), time.process_time()
        beats = detect_beats(signals, FS)
        times.append((time.perf_counter() - started, time.process_time() - cpu))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lead0 = []
    for _ in range(3):
        started, cpu = time.perf_counter(), time.process_time()
        detect_beats(signals[:, 0], FS)
        lead0.append((time.perf_counter() - started, time.process_time() - cpu))
    import tracemalloc  # numpy reports its buffers to tracemalloc: the peak of detection's own arrays

    tracemalloc.start()
    detect_beats(signals, FS)
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"load average {os.getloadavg()[0]:.1f}; {len(signals):,} samples ({len(signals) / FS / 3600:.2f} h), "
          f"{len(beats):,} beats: both leads {seconds(times)} (median of 3); "
          f"lead 0 alone {seconds(lead0)}; "
          f"peak RSS {peak:.0f} MB ({before:.0f} MB once wfdb had read and joined the records); "
          f"detection's own arrays peak at {traced:.0f} MB (tracemalloc)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mitdb-dir", type=Path, default=Path(os.environ.get("MITDB_DIR", "/work/shared/mitdb")))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--xqrs-records", default="all", help="all, none, or a comma-separated list")
    parser.add_argument("--no-neurokit", action="store_true")
    parser.add_argument("--no-day", action="store_true", help="skip the 24-hour timing")
    parser.add_argument("--day-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.day_child:
        day_child(str(args.mitdb_dir))
        return

    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    data = {r: read(args.mitdb_dir, r) for r in RECORDS}
    total_beats = sum(len(data[r][1]) for r in RECORDS)
    print(f"{len(RECORDS)} records, {total_beats:,} reference beats\n")

    our_times, base_times = [], []
    for _ in range(args.runs):  # interleaved so both see the same machine load
        found, took = run_method("ours", ours, data)
        our_times.append(took)
        base, took = run_method("sleepecg", sleepecg_lead0, data)
        base_times.append(took)
    counts = {r: score(data[r][1], found[r], data[r][3])[0] for r in RECORDS}
    base_counts = {r: score(data[r][1], base[r], data[r][3])[0] for r in RECORDS}

    print("| method | all 44 | DS1 (22) | DS2 (22) | time, 44 records |")
    print("|---|---|---|---|---|")
    summary("sleepecg 0.6.0, lead 0", base_counts, f"{seconds(base_times)} (median of {args.runs})")
    if args.xqrs_records != "none":
        subset = RECORDS if args.xqrs_records == "all" else args.xqrs_records.split(",")
        xqrs, took = run_method("xqrs", xqrs_lead0, data, subset)
        xqrs_counts = {r: score(data[r][1], xqrs[r], data[r][3])[0] for r in subset}
        if args.xqrs_records == "all":
            summary("wfdb 4.3.1 xqrs, lead 0", xqrs_counts, f"{seconds([took])} (1 run)")
        else:
            print(f"| wfdb xqrs, lead 0, records {args.xqrs_records} | {gross(xqrs_counts, subset)} | | | "
                  f"{seconds([took])} (1 run) |")
    try:
        import neurokit2  # noqa: F401
    except ImportError:
        args.no_neurokit = True
        print("| neurokit2 | not installed: skipped | | | |")
    if not args.no_neurokit:
        neurokit, took = run_method("neurokit2", neurokit_lead0, data)
        summary("neurokit2 0.2.13 ecg_peaks, lead 0", {r: score(data[r][1], neurokit[r], data[r][3])[0] for r in RECORDS},
                f"{seconds([took])} (1 run)")
    summary("**ours**: `detect_beats`, both leads", counts, f"{seconds(our_times)} (median of {args.runs})")
    one_lead, took = run_method("ours, lead 0", lambda signals: detect_beats(signals[:, 0], FS), data)
    summary("ours, lead 0 alone (1-D input)", {r: score(data[r][1], one_lead[r], data[r][3])[0] for r in RECORDS},
            f"{seconds([took])} (1 run)")
    print(f"\nwall/CPU s per run, ours: {', '.join(f'{w:.2f}/{c:.2f}' for w, c in our_times)}; "
          f"sleepecg: {', '.join(f'{w:.2f}/{c:.2f}' for w, c in base_times)}")

    print("\nPer record, ours (worst first by missed + extra):\n")
    print("| record | set | beats | missed | extra | Se % | +P % |")
    print("|---|---|---|---|---|---|---|")
    for r in sorted(RECORDS, key=lambda r: -(counts[r][1] + counts[r][2])):
        tp, fn, fp = counts[r]
        print(f"| {r} | {'DS1' if r in DS1 else 'DS2'} | {tp + fn} | {fn} | {fp} | "
              f"{100 * tp / (tp + fn):.2f} | {100 * tp / (tp + fp):.2f} |")

    # Offsets of matched beats from the reference annotation sample (what the beat rows start at).
    offsets, symbols = [], []
    for r in RECORDS:
        _, match, kept = score(data[r][1], found[r], data[r][3])
        offsets.append(kept[match.pairs[:, 1]] - data[r][1][match.pairs[:, 0]])
        symbols.append(data[r][2][match.pairs[:, 0]])
    offsets, symbols = np.concatenate(offsets), np.concatenate(symbols)
    print("\nOffset of our beats from the reference annotation (samples at 360 Hz):\n")
    print("| beats | n | median | exactly 0 | within 1 | within 3 | within 10 |")
    print("|---|---|---|---|---|---|---|")
    for name, keep in [("all", np.ones(len(offsets), bool)), ("N (N L R e j)", np.isin(symbols, list("NLRej"))),
                       ("S", np.isin(symbols, list("AaJS"))), ("V", np.isin(symbols, list("VE"))),
                       ("F", symbols == "F"), ("Q", np.isin(symbols, list("/fQ")))]:
        o = np.abs(offsets[keep])
        print(f"| {name} | {keep.sum():,} | {np.median(offsets[keep]):+.0f} | {100 * np.mean(o == 0):.1f}% | "
              f"{100 * np.mean(o <= 1):.1f}% | {100 * np.mean(o <= 3):.1f}% | {100 * np.mean(o <= 10):.1f}% |")

    import scipy.signal

    print("\nOurs on the records resampled (scipy resample_poly), positions scaled back to 360 Hz:\n")
    for fs in (250, 128):
        ratio = Fraction(fs, FS)
        resampled = {r: np.round(detect_beats(scipy.signal.resample_poly(data[r][0], ratio.numerator,
                                                                        ratio.denominator, axis=0), fs)
                                 * FS / fs).astype(np.int64) for r in RECORDS}
        c = {r: score(data[r][1], resampled[r], data[r][3])[0] for r in RECORDS}
        print(f"- {fs} Hz: all {gross(c, RECORDS)}; DS1 {gross(c, DS1)}; DS2 {gross(c, DS2)}")

    print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    if not args.no_day:
        print("\n24-hour signal (fresh process):")
        subprocess.run([sys.executable, __file__, "--day-child", "--mitdb-dir", str(args.mitdb_dir)], check=True)


if __name__ == "__main__":
    main()
