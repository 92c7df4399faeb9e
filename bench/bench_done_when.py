"""Issue 8's "done when" check, scored without the project's code: DS2 as WFDB without annotations, as CSV at 250 Hz, as EDF.

    .venv/bin/python bench/bench_done_when.py [--mitdb-dir ../shared/mitdb] [--work DIR] [--csv-rates 250,128,500]

1. The 22 DS2 records are written three ways, with wfdb, scipy and edfio only: WFDB (.hea and .dat copied,
   no .atr beside them), CSV (both leads resampled to 250 Hz, or each rate of --csv-rates, with scipy's FFT
   `resample`, not the reader's polyphase filter; columns time_s, MLII, V1 in mV, 4 decimals) and EDF (360 Hz, mV, one-second records,
   so its first 1,805 s: a record is 1,805.6 s long). All three are scored over those 1,805 s.
2. `python -m pipeline classify-record FILES --out-dir DIR` runs once per format, as a user would.
3. Each output is scored against the reference annotations by wfdb's own matcher
   (`wfdb.processing.compare_annotations`, 150 ms) and an AAMI mapping written here, not
   pipeline.vocabulary: a missed reference beat counts against its class's Se, an extra detection
   against the +P of the class it was given (EC57). Positions are compared in seconds (`time_s`).
4. The three formats are compared with each other: beats found by one and not within 150 ms of one of
   another's, and the share of common beats given the same class.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DS2 = ("100 103 105 111 113 117 121 123 200 202 210 212 213 214 219 221 222 228 231 232 233 234").split()
AAMI = {**dict.fromkeys("NLRej", "N"), **dict.fromkeys("aJAS", "S"), **dict.fromkeys("VE", "V"), "F": "F",
        **dict.fromkeys("/fQ", "Q")}
CLASSES = "NSVFQ"
FS, TOLERANCE_S = 360, 0.15
SCORED_S = 1805  # whole seconds of each record: EDF's one-second data records hold no more


def write_formats(mitdb: Path, work: Path, csv_rates: list[int]) -> dict[str, list[Path]]:
    import edfio
    import wfdb
    from scipy.signal import resample

    files = {"WFDB, no annotations": [], **{f"CSV at {rate} Hz": [] for rate in csv_rates}, "EDF": []}
    for sub in ("wfdb", *(f"csv{rate}" for rate in csv_rates), "edf"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    for record in DS2:
        for suffix in (".hea", ".dat"):
            shutil.copy(mitdb / f"{record}{suffix}", work / "wfdb" / f"{record}{suffix}")
        files["WFDB, no annotations"].append(work / "wfdb" / f"{record}.hea")
        signal = wfdb.rdrecord(str(mitdb / record))
        for rate in csv_rates:
            resampled = resample(signal.p_signal, round(signal.sig_len * rate / FS), axis=0)
            frame = pd.DataFrame(resampled, columns=signal.sig_name)
            frame.insert(0, "time_s", np.arange(len(frame)) / rate)
            frame.to_csv(work / f"csv{rate}" / f"{record}.csv", index=False, float_format="%.4f")
            files[f"CSV at {rate} Hz"].append(work / f"csv{rate}" / f"{record}.csv")
        edf = edfio.Edf([edfio.EdfSignal(signal.p_signal[:SCORED_S * FS, i], FS, label=name, physical_dimension=unit)
                         for i, (name, unit) in enumerate(zip(signal.sig_name, signal.units))],
                        data_record_duration=1)
        edf.write(work / "edf" / f"{record}.edf")
        files["EDF"].append(work / "edf" / f"{record}.edf")
    return files


def reference(mitdb: Path, record: str) -> tuple[np.ndarray, np.ndarray]:
    import wfdb

    ann = wfdb.rdann(str(mitdb / record), "atr")
    keep = [i for i, s in enumerate(ann.symbol) if s in AAMI and ann.sample[i] < SCORED_S * FS]
    return ann.sample[keep] / FS, np.array([AAMI[ann.symbol[i]] for i in keep])


def score(mitdb: Path, out: Path) -> tuple[dict, dict]:
    """Gross detection Se/+P and per-class Se/+P over the 22 records; and each record's (times, classes)."""
    from wfdb.processing import compare_annotations

    tp = fn = fp = 0
    hits, truth, called = {c: 0 for c in CLASSES}, {c: 0 for c in CLASSES}, {c: 0 for c in CLASSES}
    beats = {}
    for record in DS2:
        table = pd.read_csv(out / f"{record}.csv")
        table = table[table["time_s"] < SCORED_S]
        found_s, found_class = table["time_s"].to_numpy(), table["predicted_class"].astype(str).to_numpy()
        beats[record] = (found_s, found_class)
        ref_s, ref_class = reference(mitdb, record)
        match = compare_annotations(np.round(ref_s * FS).astype(int), np.round(found_s * FS).astype(int),
                                    int(TOLERANCE_S * FS) + 1)  # wfdb matches within < window_width samples
        matched = match.matching_sample_nums
        tp, fn, fp = tp + match.tp, fn + match.fn, fp + match.fp
        for c in CLASSES:
            truth[c] += int(np.sum(ref_class == c))
            called[c] += int(np.sum(found_class == c))
            hits[c] += int(np.sum((ref_class == c) & (matched >= 0)
                                  & (found_class[np.maximum(matched, 0)] == c)))
    per_class = {c: (hits[c] / truth[c] if truth[c] else float("nan"), hits[c] / called[c] if called[c] else float("nan"))
                 for c in CLASSES}
    return {"Se": tp / (tp + fn), "+P": tp / (tp + fp), "beats": tp + fp, "classes": per_class}, beats


def agreement(a: dict, b: dict) -> tuple[int, int, float]:
    """Beats of a with no beat of b within 150 ms, the reverse, and the share of paired beats with the same class."""
    only_a = only_b = same = paired = 0
    for record in DS2:
        (ta, ca), (tb, cb) = a[record], b[record]
        k = np.clip(np.searchsorted(tb, ta), 1, len(tb) - 1)
        nearest = np.where(np.abs(tb[k] - ta) < np.abs(tb[k - 1] - ta), k, k - 1)
        close = np.abs(tb[nearest] - ta) <= TOLERANCE_S
        only_a += int(np.sum(~close))
        paired += int(np.sum(close))
        same += int(np.sum(ca[close] == cb[nearest[close]]))
        k = np.clip(np.searchsorted(ta, tb), 1, len(ta) - 1)
        only_b += int(np.sum(np.minimum(np.abs(ta[k] - tb), np.abs(ta[k - 1] - tb)) > TOLERANCE_S))
    return only_a, only_b, same / paired


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mitdb-dir", type=Path, default=Path(os.environ.get("MITDB_DIR", "/work/shared/mitdb")))
    parser.add_argument("--work", type=Path, help="where to write the three formats (default: a temporary folder)")
    parser.add_argument("--csv-rates", default="250", help="comma-separated sampling rates of the CSV copies (Hz)")
    args = parser.parse_args()
    csv_rates = [int(rate) for rate in args.csv_rates.split(",")]
    work = args.work or Path(tempfile.mkdtemp(prefix="done_when_"))
    started = time.perf_counter()
    files = write_formats(args.mitdb_dir, work, csv_rates)
    print(f"wrote 22 records x {len(files)} formats to {work} in {time.perf_counter() - started:.0f} s", flush=True)
    results, beats = {}, {}
    for name, paths in files.items():
        out = work / "out" / paths[0].parent.name
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pipeline", "classify-record", *map(str, paths), "--out-dir", str(out)],
                       cwd=REPO, check=True, capture_output=True)
        took = time.perf_counter() - started
        results[name], beats[name] = score(args.mitdb_dir, out)
        results[name]["seconds"] = took
    print("\n| DS2 given as | beats found | detection Se / +P | N Se / +P | S Se / +P | V Se / +P | F Se / +P | classify-record |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        cells = " | ".join(f"{100 * r['classes'][c][0]:.1f} / {100 * r['classes'][c][1]:.1f}" for c in "NSVF")
        print(f"| {name} | {r['beats']:,} | {100 * r['Se']:.2f} / {100 * r['+P']:.2f} | {cells} | {r['seconds']:.1f} s |")
    first = next(iter(beats))
    print(f"\n| against {first} | beats only there | beats only in {first} | same class, common beats |")
    print("|---|---|---|---|")
    for name in list(beats)[1:]:
        only_other, only_first, same = agreement(beats[name], beats[first])
        print(f"| {name} | {only_other} | {only_first} | {100 * same:.2f}% |")
    print("\nTargets (issue 8, DS2 detected beats): S Se >= 80 with +P >= 50; V Se >= 92 with +P >= 90.")
    if not args.work:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
