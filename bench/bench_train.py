"""Benchmark training and prediction against the old app's recipe, side by side on the same splits.

    .venv/bin/python bench/bench_train.py --data beats.parquet [--train-runs 1] [--predict-runs 5]

1. The old recipe's cascade (default XGBClassifier for both stages, SMOTE
   applied to the whole training set outside any pipeline, threshold 0.5),
   fitted and scored in this process on the intra- and inter-patient splits.
   Its LR is the same recipe as ours (scaler + balanced LR), so it is not refitted.
2. Our `python -m pipeline train`, run as a subprocess: wall time and peak
   memory (the child's max RSS), and its report's figures.
3. Cascade prediction throughput in process (beats/s, median of several runs),
   and `python -m pipeline predict` on a 21,892-row CSV (Kaggle's test-file size).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from imblearn.over_sampling import SMOTE  # noqa: E402
from xgboost import XGBClassifier  # noqa: E402

from pipeline.bundle import load_bundle  # noqa: E402
from pipeline.dataset import inter_patient_split, intra_patient_split, read_table  # noqa: E402
from pipeline.evaluate import multiclass_metrics  # noqa: E402
from pipeline.vocabulary import FEATURES  # noqa: E402


def old_recipe(X_train, y_train):
    """The Streamlit app's recipe: SMOTE on the whole training set, default XGBoost, threshold 0.5."""
    abnormal = (y_train != 0).astype(int)
    Xb, yb = SMOTE(random_state=42).fit_resample(X_train, abnormal)
    binary = XGBClassifier(random_state=42).fit(Xb, yb)
    is_abnormal = y_train != 0
    Xm, ym = SMOTE(random_state=42).fit_resample(X_train[is_abnormal], y_train[is_abnormal] - 1)
    multiclass = XGBClassifier(random_state=42).fit(Xm, ym)
    return binary, multiclass


def old_recipe_proba(binary, multiclass, X) -> np.ndarray:
    """The old cascade's five probabilities, computed the way ours are (both stages on every beat)."""
    p_abnormal = binary.predict_proba(X)[:, 1]
    return np.column_stack([1 - p_abnormal, p_abnormal[:, None] * multiclass.predict_proba(X)])


def predict_rate(predict_proba, beats) -> tuple[float, float]:
    """Beats per second of one call: wall clock and per CPU-second."""
    started, cpu_started = time.perf_counter(), time.process_time()
    predict_proba(beats)
    return len(beats) / (time.perf_counter() - started), len(beats) / (time.process_time() - cpu_started)


def row(name: str, m: dict) -> str:
    pc = m["per_class"]
    return (f"| {name} | {m['accuracy']:.4f} | {m['macro_f1']:.3f} | "
            + " | ".join(f"{pc[c]['recall']:.3f}" for c in ("S", "V", "F")) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="beat table from build-dataset")
    parser.add_argument("--train-runs", type=int, default=1)
    parser.add_argument("--predict-runs", type=int, default=5)
    parser.add_argument("--skip-old", action="store_true")
    args = parser.parse_args()
    table = read_table(args.data)
    X = table[FEATURES].to_numpy(np.float32)
    y = table["label"].to_numpy(np.int64)

    print("| model | accuracy | macro-F1 | Se S | Se V | Se F |")
    print("|---|---|---|---|---|---|")
    old_models = {}
    if not args.skip_old:
        for name, split in (("intra", intra_patient_split), ("inter", inter_patient_split)):
            train, test = split(table)
            started = time.perf_counter()
            old_models[name] = old_recipe(X[train], y[train])
            predicted = np.where(old_models[name][0].predict(X[test]) == 1, old_models[name][1].predict(X[test]) + 1, 0)
            print(row(f"old recipe cascade, {name}", multiclass_metrics(y[test], predicted)),
                  f"({time.perf_counter() - started:.0f} s)")

    train_times, peaks = [], []
    with tempfile.TemporaryDirectory() as out:
        for _ in range(args.train_runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "pipeline", "train", "--data", str(args.data), "--out", out],
                           cwd=ROOT, check=True, stderr=subprocess.DEVNULL)
            train_times.append(time.perf_counter() - started)
            peaks.append(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
        # With --train-runs 0 the committed bundle's report stands in for a fresh one.
        report_dir = Path(out) if args.train_runs else ROOT / "models"
        report = json.loads((report_dir / "report.json").read_text())
    for name, section in report["protocols"].items():
        for model in ("cascade", "logreg"):
            print(row(f"ours {model}, {name}", section["models"][model]))
    if train_times:
        print(f"\ntrain (both protocols, all models): median {statistics.median(train_times):.0f} s over "
              f"{len(train_times)} run(s); peak RSS {max(peaks):,.0f} MB")

    threads = os.cpu_count() or 1
    bundle = load_bundle(ROOT / "models", n_jobs=threads)
    _, test = intra_patient_split(table)
    beats = np.tile(X[test], (5, 1))[:100_000]
    # The old cascade as the baseline, interleaved with ours so both see the same machine load.
    # CPU time is what a busy shared machine cannot inflate.
    for booster in old_models.get("intra", ()):
        booster.set_params(n_jobs=threads)
    ours, old = [], []
    for _ in range(args.predict_runs):
        ours.append(predict_rate(bundle.models["cascade"].predict_proba, beats))
        if old_models:
            old.append(predict_rate(lambda b: old_recipe_proba(*old_models["intra"], b), beats))
    for name, rates in (("ours", ours), ("old recipe", old)):
        if rates:
            wall, cpu = (statistics.median(r[i] for r in rates) for i in (0, 1))
            print(f"{name} cascade predict_proba: median {wall:,.0f} beats/s wall over {len(rates)} runs "
                  f"({len(beats):,} beats, {threads} threads); {cpu:,.0f} beats per CPU-second")
    if ours and old:
        ratios = [o[0] / b[0] for o, b in zip(ours, old)]
        print(f"ours / old recipe, wall rate: median ratio {statistics.median(ratios):.2f} over {len(ratios)} paired runs")

    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "test.csv"
        rows = np.column_stack([X[test], y[test]])[:21_892]
        np.savetxt(csv, rows, delimiter=",", fmt="%.9g")
        times = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "pipeline", "predict", str(csv), "--out", str(Path(tmp) / "p.csv")],
                           cwd=ROOT, check=True, stderr=subprocess.DEVNULL)
            times.append(time.perf_counter() - started)
        print(f"`pipeline predict` on {len(rows):,} rows: median {statistics.median(times):.1f} s over 3 runs")


if __name__ == "__main__":
    main()
