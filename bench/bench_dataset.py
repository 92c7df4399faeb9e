"""Benchmark `build_beats` on the full MIT-BIH database, and check its fidelity to real Kaggle rows.

    .venv/bin/python bench/bench_dataset.py --mitdb-dir ../shared/mitdb \
        --kaggle-sample ../shared/kaggle_sample/random_test_sample.csv [--runs 5]

Prints the median wall time of several full builds, side by side with a
baseline: the same construction written as a plain per-beat Python loop (the
notebook style it replaces), run in the same process; and how many of the real
Kaggle rows the table reproduces exactly.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pipeline.dataset import STEP, build_beats, check_mitdb_dir
from pipeline.vocabulary import AAMI, FEATURES, N_SAMPLES


def baseline_build(mitdb_dir: Path) -> np.ndarray:
    """Per-beat loop: the straightforward way to cut the same rows."""
    import wfdb

    rows = []
    for record in check_mitdb_dir(mitdb_dir):
        signal = wfdb.rdrecord(str(mitdb_dir / record), channels=[0], physical=False).d_signal[:, 0].astype(float)
        ann = wfdb.rdann(str(mitdb_dir / record), "atr")
        beats = [i for i, s in enumerate(ann.symbol) if s in AAMI][:-1]
        for i in beats:
            length = min(N_SAMPLES, max(2, -((-2 * int(ann.sample[i + 1] - ann.sample[i])) // 5)))
            segment = signal[ann.sample[i]: ann.sample[i] + STEP * length: STEP]
            row = np.zeros(N_SAMPLES)
            row[: len(segment)] = (segment - segment.min()) / max(segment.max() - segment.min(), 1e-12)
            rows.append(row)
    return np.array(rows, dtype=np.float32)


def exact_rows(table: pd.DataFrame, sample_csv: Path) -> tuple[int, int]:
    """How many real Kaggle rows equal a beat of the same label in all 187 values (within 1e-6)."""
    kaggle = pd.read_csv(sample_csv, header=None).to_numpy()
    X = table[FEATURES].to_numpy(np.float64)
    labels = table["label"].to_numpy()
    exact = sum(
        bool(np.abs(X[labels == int(row[N_SAMPLES])] - row[:N_SAMPLES]).max(axis=1).min() < 1e-6) for row in kaggle
    )
    return exact, len(kaggle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mitdb-dir", type=Path, required=True)
    parser.add_argument("--kaggle-sample", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    times, baseline_times = [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        table = build_beats(args.mitdb_dir)
        times.append(time.perf_counter() - started)
    for _ in range(max(1, args.runs // 2)):
        started = time.perf_counter()
        baseline = baseline_build(args.mitdb_dir)
        baseline_times.append(time.perf_counter() - started)

    X = table[FEATURES].to_numpy(np.float32)
    same = baseline.shape == X.shape and np.abs(baseline - X).max() < 1e-6
    print(f"beats: {len(table):,}  classes: {table['label'].value_counts().sort_index().to_dict()}")
    print(f"build_beats: median {statistics.median(times):.2f} s over {len(times)} runs "
          f"(min {min(times):.2f}, max {max(times):.2f})")
    print(f"per-beat loop baseline: median {statistics.median(baseline_times):.2f} s over {len(baseline_times)} runs")
    print(f"speed-up: {statistics.median(baseline_times) / statistics.median(times):.1f}x; "
          f"identical rows: {same}")
    if args.kaggle_sample:
        exact, total = exact_rows(table, args.kaggle_sample)
        print(f"Kaggle rows reproduced exactly (all 187 values within 1e-6): {exact}/{total}")


if __name__ == "__main__":
    main()
