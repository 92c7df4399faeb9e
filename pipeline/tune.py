"""Choose the XGBoost stages' hyperparameters by cross-validation on a protocol's training beats only."""
from __future__ import annotations

import time
from dataclasses import asdict, replace

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, StratifiedKFold, cross_validate

from pipeline.dataset import inter_patient_split, intra_patient_split
from pipeline.models import Params, XGBParams, make_binary, make_multiclass
from pipeline.vocabulary import FEATURES, NORMAL

# A small grid: the machine this ships on has two cores, and the cascade must
# predict at least 100,000 beats/s on them. Measured (bench/RESULTS.md), that
# leaves room for about 300 binary trees of depth 8 and 200 multi-output trees of
# depth 5 beside the feature step. Every candidate fits that budget; REFERENCE
# holds the previous, larger choices, scored for comparison but never chosen.
# Each result records its CV score and how fast the fitted stage scored its
# held-out fold.
CANDIDATES = {
    "binary": (
        XGBParams(n_estimators=300, max_depth=8, learning_rate=0.15),
        XGBParams(n_estimators=300, max_depth=8, learning_rate=0.15, colsample_bytree=0.5),
        XGBParams(n_estimators=200, max_depth=8, learning_rate=0.2, colsample_bytree=0.5),
    ),
    "multiclass": (
        XGBParams(n_estimators=200, max_depth=5, learning_rate=0.2, multi_strategy="multi_output_tree"),
        XGBParams(n_estimators=200, max_depth=5, learning_rate=0.2, colsample_bytree=0.5,
                  multi_strategy="multi_output_tree"),
    ),
}
REFERENCE = {
    "binary": (XGBParams(n_estimators=500, max_depth=8, learning_rate=0.1),),
    "multiclass": (XGBParams(n_estimators=300, max_depth=6, learning_rate=0.15, colsample_bytree=0.5,
                             multi_strategy="multi_output_tree"),),
}


def tune(table: pd.DataFrame, p: Params, protocol: str = "intra", folds: int = 2, progress=None) -> dict:
    """Cross-validated score of every candidate for each stage, on the protocol's training beats only.

    intra: stratified folds of the intra-patient training split. inter: folds of DS1 grouped
    by record, so a record is never in both halves of a fold and no DS2 beat is seen.
    """
    train, _ = (intra_patient_split if protocol == "intra" else inter_patient_split)(table)
    X = table[FEATURES].to_numpy(np.float32)[train]
    y = table["label"].to_numpy(np.int64)[train]
    abnormal = y != NORMAL
    if protocol == "inter":
        groups = table["record"].astype(str).to_numpy()[train]
        folds_of = lambda X_stage, y_stage, g: list(GroupKFold(n_splits=folds).split(X_stage, y_stage, g))  # noqa: E731
    else:
        groups = np.zeros(len(y))
        folds_of = lambda X_stage, y_stage, g: list(  # noqa: E731
            StratifiedKFold(n_splits=folds, shuffle=True, random_state=p.seed).split(X_stage, y_stage))
    results = {"protocol": protocol, "folds": folds, "binary": [], "multiclass": []}
    for stage, make, X_stage, y_stage, g, scoring in (
        ("binary", make_binary, X, abnormal.astype(int), groups, "f1"),
        ("multiclass", make_multiclass, X[abnormal], y[abnormal] - 1, groups[abnormal], "f1_macro"),
    ):
        cv = folds_of(X_stage, y_stage, g)
        references = REFERENCE.get(stage, ())
        for candidate in (*CANDIDATES[stage], *references):
            started = time.perf_counter()
            cv_results = cross_validate(make(replace(p, **{stage: candidate})), X_stage, y_stage, cv=cv, scoring=scoring)
            scores = cv_results["test_score"]
            # score_time covers the held-out fold's features and predictions: a rough speed of the fitted stage.
            scored_per_s = len(y_stage) / cv_results["score_time"].sum()
            results[stage].append({"params": asdict(candidate), "scoring": scoring, "reference": candidate in references,
                                   "mean": float(scores.mean()), "std": float(scores.std()),
                                   "scored_beats_per_s": round(float(scored_per_s))})
            if progress:
                progress(f"[{protocol}] {stage} {asdict(candidate)}: {scoring} {scores.mean():.4f} +/- {scores.std():.4f}, "
                         f"held-out beats scored at {scored_per_s:,.0f}/s ({time.perf_counter() - started:.0f} s)")
    for stage in ("binary", "multiclass"):
        eligible = [r for r in results[stage] if not r["reference"]]
        results[f"best_{stage}"] = max(eligible, key=lambda r: r["mean"])["params"]
    return results
