"""Which features the boosted stages get: cross-validated on the intra-patient training split only.

    .venv/bin/python bench/bench_features.py --data beats.parquet

Each variant is the 187 samples plus the rhythm features, with the slopes
(sample-to-sample differences) of the first K samples, or none. Both stages are
scored by 2-fold stratified CV with the shipped hyperparameters (binary: F1 of
the abnormal class; multi-class: macro-F1 over S V F Q on abnormal beats).
The test split is never touched.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold, cross_val_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from pipeline.dataset import intra_patient_split, read_table  # noqa: E402
from pipeline.features import RHYTHM, SLOPE_SAMPLES, beat_features  # noqa: E402
from pipeline.models import Params, make_binary, make_multiclass  # noqa: E402
from pipeline.vocabulary import FEATURES, NORMAL  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="beat table from build-dataset")
    parser.add_argument("--slopes", type=int, nargs="+", default=[0, 20, SLOPE_SAMPLES, 60, 187])
    args = parser.parse_args()
    table = read_table(args.data)
    train, _ = intra_patient_split(table)
    X = table[FEATURES].to_numpy(np.float32)[train]
    y = table["label"].to_numpy(np.int64)[train]
    abnormal = y != NORMAL
    p = Params()
    cv = StratifiedKFold(n_splits=2, shuffle=True, random_state=p.seed)
    rhythm = beat_features(X)[:, RHYTHM]
    print("| slopes of the first K samples | features | binary F1 (2-fold CV) | multi-class macro-F1 (2-fold CV) |")
    print("|---|---|---|---|")
    for k in args.slopes:
        slopes = np.diff(X[:, :k], axis=1) if k else X[:, :0]
        features = np.hstack([X, slopes, rhythm])
        started = time.perf_counter()
        binary = cross_val_score(make_binary(p), features, abnormal.astype(int), cv=cv, scoring="f1")
        multi = cross_val_score(make_multiclass(p), features[abnormal], y[abnormal] - 1, cv=cv, scoring="f1_macro")
        print(f"| {k or 'none'}{' (shipped)' if k == SLOPE_SAMPLES else ''} | {features.shape[1]} | "
              f"{binary.mean():.4f} ± {binary.std():.4f} | {multi.mean():.4f} ± {multi.std():.4f} |"
              f"  ({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
