"""Choose the XGBoost stages' hyperparameters by cross-validation on the intra-patient training split only."""
from __future__ import annotations

import time
from dataclasses import asdict, replace

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, cross_val_score

from pipeline.dataset import FEATURES, intra_patient_split
from pipeline.features import rhythm_features
from pipeline.models import NORMAL, Params, XGBParams, make_binary, make_multiclass

# A small grid around the defaults: the machine this ships on has two cores. The
# multi-output-tree candidates evaluate a quarter of the trees at prediction time,
# which the 100,000 beats/s prediction budget needs; see bench/RESULTS.md for the
# choice made from these scores.
CANDIDATES = {
    "binary": (
        XGBParams(n_estimators=300, max_depth=8, learning_rate=0.15),
        XGBParams(n_estimators=500, max_depth=8, learning_rate=0.1),
    ),
    "multiclass": (
        XGBParams(n_estimators=300, max_depth=6, learning_rate=0.15),
        XGBParams(n_estimators=300, max_depth=6, learning_rate=0.15, multi_strategy="multi_output_tree"),
        XGBParams(n_estimators=400, max_depth=6, learning_rate=0.12, multi_strategy="multi_output_tree"),
    ),
}


def tune(table: pd.DataFrame, p: Params, folds: int = 3, progress=None) -> dict:
    """Cross-validated score of every candidate for each stage; the training split only."""
    train, _ = intra_patient_split(table)
    X = rhythm_features(table[FEATURES].to_numpy(np.float32)[train])
    y = table["label"].to_numpy(np.int64)[train]
    abnormal = y != NORMAL
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=p.seed)
    results = {"folds": folds, "binary": [], "multiclass": []}
    for stage, make, X_stage, y_stage, scoring in (
        ("binary", make_binary, X, abnormal.astype(int), "f1"),
        ("multiclass", make_multiclass, X[abnormal], y[abnormal] - 1, "f1_macro"),
    ):
        for candidate in CANDIDATES[stage]:
            started = time.perf_counter()
            scores = cross_val_score(make(replace(p, **{stage: candidate})), X_stage, y_stage, cv=cv, scoring=scoring)
            results[stage].append({"params": asdict(candidate), "scoring": scoring,
                                   "mean": float(scores.mean()), "std": float(scores.std())})
            if progress:
                progress(f"{stage} {asdict(candidate)}: {scoring} {scores.mean():.4f} +/- {scores.std():.4f} "
                         f"({time.perf_counter() - started:.0f} s)")
    for stage in ("binary", "multiclass"):
        results[f"best_{stage}"] = max(results[stage], key=lambda r: r["mean"])["params"]
    return results
