"""Fit the three models and the cascade, and evaluate them under both protocols."""
from __future__ import annotations

import time
import warnings
from datetime import datetime, timezone

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning

from pipeline.dataset import DS1, DS2, check_mitdb_dir, inter_patient_split, intra_patient_split
from pipeline.evaluate import class_templates, evaluate_models
from pipeline.models import Params, make_cascade, make_logreg
from pipeline.report import REPORT_VERSION, Report
from pipeline.vocabulary import CLASSES, FEATURES, class_counts

PROTOCOLS = {
    "intra": {
        "title": "Intra-patient (Kaggle-style 80/20 beat split)",
        "trained_on": "80% of every record's beats (stratified, random_state=42)",
        "tested_on": "the other 20%: the same patients, so the figures are optimistic",
        "tuned_on": "hyperparameters: CV on the training split (python -m pipeline tune --protocol intra); "
                    "threshold: stratified CV on the training split",
    },
    "inter": {
        "title": "Inter-patient (de Chazal DS1 → DS2)",
        "trained_on": "the 22 DS1 records",
        "tested_on": "the 22 DS2 records: patients never seen in training",
        "tuned_on": "hyperparameters: CV on DS1 grouped by record (python -m pipeline tune --protocol inter); "
                    "threshold: CV on DS1 grouped by record; no DS2 beat was seen by any choice",
    },
}


def _log(progress, message: str) -> None:
    if progress:
        progress(message)


def fit_models(X: np.ndarray, y: np.ndarray, p: Params, groups=None, progress=None) -> dict:
    """Fit LR and the cascade (both XGBoost stages and its threshold) on training beats only.

    The binary threshold is chosen on out-of-fold predictions of the training
    beats (grouped by record when `groups` is given), never on test data.
    """
    started = time.perf_counter()
    cascade = make_cascade(p).fit(X, y, groups=groups)
    _log(progress, f"cascade fitted on {len(y):,} beats, threshold {cascade.threshold_:g} chosen by "
                   f"{p.threshold_cv_folds}-fold CV ({time.perf_counter() - started:.0f} s)")

    started = time.perf_counter()
    with warnings.catch_warnings():
        # Convergence is recorded in the report instead of printed mid-run.
        warnings.simplefilter("ignore", ConvergenceWarning)
        logreg = make_logreg(p).fit(X, y)
    converged = bool(logreg[-1].n_iter_.max() < p.logreg_max_iter)
    _log(progress, f"logistic regression fitted ({time.perf_counter() - started:.0f} s, "
                   f"{'converged' if converged else f'stopped at max_iter={p.logreg_max_iter}'})")
    return {"logreg": logreg, "cascade": cascade}


def run_protocol(name: str, table: pd.DataFrame, p: Params, progress=None) -> tuple[dict, dict]:
    """Fit on the protocol's training beats and evaluate on its test beats."""
    train, test = (intra_patient_split if name == "intra" else inter_patient_split)(table)
    X = table[FEATURES].to_numpy(np.float32)
    y = table["label"].to_numpy(np.int64)
    groups = table["record"].to_numpy() if name == "inter" else None
    _log(progress, f"[{name}] training on {len(train):,} beats, testing on {len(test):,}")
    models = fit_models(X[train], y[train], p, groups=None if groups is None else groups[train], progress=progress)
    section = {
        **PROTOCOLS[name],
        "available": True,
        "splits": {"train": class_counts(y[train]), "test": class_counts(y[test])},
        "threshold": models["cascade"].threshold_,
        "models": evaluate_models(models, X[test], y[test]),
    }
    cascade = section["models"]["cascade"]
    _log(progress, f"[{name}] cascade accuracy {cascade['accuracy']:.4f}, macro-F1 {cascade['macro_f1']:.4f}")
    return models, section


def check_beats(table: pd.DataFrame, per_class: int = 10) -> np.ndarray:
    """A few test-split beats of every class: the bundle stores the served models' probabilities for them."""
    _, test = intra_patient_split(table)
    labels = table["label"].to_numpy()[test]
    chosen = np.concatenate([test[labels == label][:per_class] for label in range(len(CLASSES))])
    return table[FEATURES].to_numpy(np.float32)[np.sort(chosen)]


RHYTHM_PROTOCOL = {
    "title": "Rhythm-aware cascade on recordings (de Chazal DS1 → DS2)",
    "trained_on": "every reference beat of the 22 DS1 records, cut from the signal as served beats are, "
                  "with rhythm features from each record's own beat sequence",
    "tuned_on": "features: CV on DS1 grouped by record (bench/bench_rhythm.py, then leave-one-record-out, "
                "bench/bench_rhythm_select.py); hyperparameters and the SMOTE ratio: leave-one-record-out CV on "
                "DS1 (bench/bench_rhythm_tune.py); averaging each beat with its mutual look-alikes in its recording: "
                "leave-one-record-out CV on DS1 (bench/bench_rhythm_neighbours.py); threshold: the cascade's "
                "macro-F1 over N, S, V with one DS1 record held out a fold, look-alikes averaged in; no DS2 beat "
                "was seen by any choice",
    "tested_on": "the 22 DS2 records, with the reference beat positions and with detected beats (EC57 matching "
                 "within 150 ms: a missed beat counts against its class's Se, an extra one against the +P of "
                 "the class it got)",
}


def train_rhythm(mitdb_dir, p: Params, progress=None) -> tuple[object, dict]:
    """The rhythm-aware cascade, fitted on DS1 and evaluated on DS2 recordings: the model the bundle serves."""
    from pipeline.records import RECORD_FEATURES, evaluate_records, record_inputs

    available = set(check_mitdb_dir(mitdb_dir))  # all 48 records, or a subset such as the test fixtures
    train_records = [r for r in DS1 if r in available]
    test_records = [r for r in DS2 if r in available]
    started = time.perf_counter()
    X, y, groups = record_inputs(mitdb_dir, train_records)
    cascade = make_cascade(p, extra=RECORD_FEATURES).fit(X, y, groups=groups)
    _log(progress, f"[rhythm] cascade fitted on {len(y):,} DS1 beats, threshold {cascade.threshold_:g} "
                   f"({time.perf_counter() - started:.0f} s)")
    extra = X[:, -len(RECORD_FEATURES):]
    templates = {c: {"n": int(np.sum(y == i)), "mean": extra[y == i].mean(axis=0).round(4).tolist()}
                 for i, c in enumerate(CLASSES) if np.any(y == i)}
    section = {**RHYTHM_PROTOCOL, "splits": {"train": class_counts(y)}, "threshold": cascade.threshold_,
               "features": list(RECORD_FEATURES), "feature_templates": templates,
               "records": {"train": train_records, "test": test_records},
               **evaluate_records(cascade, mitdb_dir, test_records, progress)}
    detected = section["detected_beats"]["per_class"]
    _log(progress, "[rhythm] DS2, detected beats: " + ", ".join(
        f"{c} Se {detected[c]['sensitivity']:.3f} +P {detected[c]['positive_predictivity']:.3f}" for c in "SV"))
    return cascade, section


def rhythm_check_beats(mitdb_dir, report: Report, n: int = 50) -> np.ndarray:
    """A few beats of the last test record, with their rhythm columns, for the bundle's check of the rhythm model."""
    from pipeline.records import record_inputs

    X, _, _ = record_inputs(mitdb_dir, report.recordings["records"]["test"][-1:])
    return X[:n]


def train_all(table: pd.DataFrame, params: dict[str, Params], source: str, mitdb_dir=None,
              progress=None) -> tuple[dict, Report]:
    """The served models and the report of every protocol.

    params: the Params of each protocol ("intra", "inter", "rhythm"), each tuned on that
    protocol's training beats only. With mitdb_dir (the raw records), the rhythm-aware
    cascade is trained on DS1 recordings too and served beside the row models.
    """
    served, intra = run_protocol("intra", table, params["intra"], progress)
    protocols = {"intra": intra}
    if "record" in table.columns:
        _, protocols["inter"] = run_protocol("inter", table, params["inter"], progress)
    else:
        protocols["inter"] = {
            "title": PROTOCOLS["inter"]["title"],
            "available": False,
            "reason": "The Kaggle CSVs carry no record ids, so beats cannot be split by patient: "
                      "train from the MIT-BIH records (--mitdb-dir) for the inter-patient figures.",
        }
    recordings = {"available": False, "reason": "Trained without the raw MIT-BIH records (--mitdb-dir): "
                                                "no rhythm-aware cascade."}
    if mitdb_dir is not None:
        served["rhythm"], recordings = train_rhythm(mitdb_dir, params["rhythm"], progress)
        recordings["available"] = True
    train, _ = intra_patient_split(table)
    report = Report.from_dict({
        "version": REPORT_VERSION,
        "classes": list(CLASSES),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "params": {name: p.to_dict() for name, p in params.items()},
        "dataset": {"source": source, "rows": len(table), "class_counts": class_counts(table["label"])},
        "templates": class_templates(table[FEATURES].to_numpy(np.float32)[train], table["label"].to_numpy()[train]),
        "protocols": protocols,
        "recordings": recordings,
    })
    return served, report
