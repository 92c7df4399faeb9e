"""Fit the three models and the cascade, and evaluate them under both protocols."""
from __future__ import annotations

import time
import warnings
from datetime import datetime, timezone

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GroupKFold, StratifiedKFold, cross_val_predict

from pipeline.dataset import inter_patient_split, intra_patient_split
from pipeline.evaluate import binary_metrics, class_templates, multiclass_metrics
from pipeline.features import beat_features
from pipeline.models import (
    Cascade,
    Params,
    choose_threshold,
    make_binary,
    make_logreg,
    make_multiclass,
)
from pipeline.vocabulary import CLASSES, FEATURES, NORMAL, class_counts

PROTOCOL_TITLES = {
    "intra": "Intra-patient (Kaggle-style 80/20 beat split)",
    "inter": "Inter-patient (de Chazal DS1 -> DS2)",
}


def _log(progress, message: str) -> None:
    if progress:
        progress(message)


def fit_models(X: np.ndarray, y: np.ndarray, p: Params, groups=None, progress=None) -> dict:
    """Fit LR, both XGBoost stages and the cascade on training beats only.

    The binary threshold is chosen on out-of-fold predictions of the training
    beats (grouped by record when `groups` is given), never on test data.
    """
    features = beat_features(X, p.n_jobs)
    abnormal = (y != NORMAL).astype(int)

    started = time.perf_counter()
    if groups is not None:
        folds = GroupKFold(n_splits=p.threshold_cv_folds).split(features, abnormal, groups)
    else:
        folds = StratifiedKFold(n_splits=p.threshold_cv_folds, shuffle=True, random_state=p.seed).split(features, abnormal)
    p_oof = cross_val_predict(make_binary(p), features, abnormal, cv=list(folds), method="predict_proba")[:, 1]
    threshold = choose_threshold(y, p_oof, p.threshold_grid)
    _log(progress, f"threshold {threshold:.2f} chosen by {p.threshold_cv_folds}-fold CV ({time.perf_counter() - started:.0f} s)")

    started = time.perf_counter()
    binary = make_binary(p).fit(features, abnormal)
    _log(progress, f"binary XGBoost fitted on {len(y):,} beats ({time.perf_counter() - started:.0f} s)")

    started = time.perf_counter()
    is_abnormal = abnormal.astype(bool)
    multiclass = make_multiclass(p, smallest_class=int(np.unique(y[is_abnormal], return_counts=True)[1].min()))
    multiclass.fit(features[is_abnormal], y[is_abnormal] - 1)
    _log(progress, f"multi-class XGBoost fitted on {is_abnormal.sum():,} abnormal beats ({time.perf_counter() - started:.0f} s)")

    started = time.perf_counter()
    with warnings.catch_warnings():
        # Convergence is recorded in the report instead of printed mid-run.
        warnings.simplefilter("ignore", ConvergenceWarning)
        logreg = make_logreg(p).fit(X, y)
    converged = bool(logreg[-1].n_iter_.max() < p.logreg_max_iter)
    _log(progress, f"logistic regression fitted ({time.perf_counter() - started:.0f} s, "
                   f"{'converged' if converged else f'stopped at max_iter={p.logreg_max_iter}'})")

    return {
        "logreg": logreg,
        "binary": binary,
        "multiclass": multiclass,
        "cascade": Cascade(binary, multiclass, threshold, n_jobs=p.n_jobs),
    }


def evaluate_models(models: dict, X: np.ndarray, y: np.ndarray) -> dict:
    """Every model's metrics on test beats; the multi-class stage alone on true abnormal beats."""
    cascade = models["cascade"]
    features = beat_features(X, cascade.n_jobs)
    p_abnormal = cascade.binary.predict_proba(features)[:, 1]
    is_abnormal = y != NORMAL
    return {
        "logreg": multiclass_metrics(y, models["logreg"].predict(X)),
        "binary": binary_metrics(is_abnormal, p_abnormal, cascade.threshold),
        "multiclass": multiclass_metrics(
            y[is_abnormal] - 1, cascade.multiclass.predict(features[is_abnormal]), CLASSES[1:]
        ),
        "cascade": multiclass_metrics(y, cascade.predict(X)),
    }


def run_protocol(name: str, table: pd.DataFrame, split, p: Params, progress=None) -> tuple[dict, dict]:
    """Fit on the protocol's training beats and evaluate on its test beats."""
    train, test = split(table)
    X = table[FEATURES].to_numpy(np.float32)
    y = table["label"].to_numpy(np.int64)
    groups = table["record"].to_numpy() if name == "inter" else None
    _log(progress, f"[{name}] training on {len(train):,} beats, testing on {len(test):,}")
    models = fit_models(X[train], y[train], p, groups=None if groups is None else groups[train], progress=progress)
    section = {
        "title": PROTOCOL_TITLES[name],
        "available": True,
        "splits": {"train": class_counts(y[train]), "test": class_counts(y[test])},
        "threshold": models["cascade"].threshold,
        "models": evaluate_models(models, X[test], y[test]),
    }
    cascade = section["models"]["cascade"]
    _log(progress, f"[{name}] cascade accuracy {cascade['accuracy']:.4f}, macro-F1 {cascade['macro_f1']:.4f}")
    return models, section


def train_all(table: pd.DataFrame, p: Params, source: str, progress=None) -> tuple[dict, dict]:
    """The served models (intra-patient training split) and the report of both protocols."""
    served, intra = run_protocol("intra", table, intra_patient_split, p, progress)
    protocols = {"intra": intra}
    if "record" in table.columns:
        _, protocols["inter"] = run_protocol("inter", table, inter_patient_split, p, progress)
    else:
        protocols["inter"] = {
            "title": PROTOCOL_TITLES["inter"],
            "available": False,
            "reason": "The Kaggle CSVs carry no record ids, so beats cannot be split by patient: "
                      "train from the MIT-BIH records (--mitdb-dir) for the inter-patient figures.",
        }
    train, _ = intra_patient_split(table)
    report = {
        "classes": list(CLASSES),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "params": p.to_dict(),
        "dataset": {"source": source, "rows": len(table), "class_counts": class_counts(table["label"])},
        "templates": class_templates(table[FEATURES].to_numpy(np.float32)[train], table["label"].to_numpy()[train]),
        "protocols": protocols,
    }
    return served, report
