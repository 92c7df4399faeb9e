"""Metrics in the report's format: accuracy, macro-F1, confusion matrix and AAMI per-class figures."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import confusion_matrix, roc_auc_score

from pipeline.models import decide
from pipeline.report import score_band
from pipeline.vocabulary import CLASSES, N_SAMPLES, NORMAL

BINARY_LABELS = ("normal", "abnormal")
# Bands of the score a beat's class gets (its p_ column), for what each band meant on test beats: the scores are not
# frequencies (SMOTE balanced the classes in training; bench/bench_calibration.py).
SCORE_BANDS = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)


def multiclass_metrics(y_true, y_pred, labels=CLASSES) -> dict:
    """Metrics over integer labels 0..len(labels)-1; per class: precision (+P), recall (Se), F1, support, FPR."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    cm = confusion_matrix(y_true, y_pred, labels=np.arange(len(labels)))
    tp = np.diag(cm).astype(float)
    predicted = cm.sum(axis=0).astype(float)
    actual = cm.sum(axis=1).astype(float)
    negatives = cm.sum() - actual
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp), where=(precision + recall) > 0)
    fpr = np.divide(predicted - tp, negatives, out=np.zeros_like(tp), where=negatives > 0)
    present = actual > 0  # macro-F1 over the classes that occur, as scikit-learn does with labels given
    return {
        "labels": list(labels),
        "n": int(cm.sum()),
        "accuracy": float(tp.sum() / cm.sum()) if cm.sum() else 0.0,
        "macro_f1": float(f1[present | (predicted > 0)].mean()) if cm.sum() else 0.0,
        "confusion_matrix": cm.tolist(),
        "per_class": {
            label: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                    "support": int(actual[i]), "fpr": float(fpr[i])}
            for i, label in enumerate(labels)
        },
    }


def binary_metrics(abnormal_true, p_abnormal, threshold: float) -> dict:
    """Normal-vs-abnormal metrics at the cascade's threshold, plus ROC AUC."""
    abnormal_true = np.asarray(abnormal_true).astype(int)
    metrics = multiclass_metrics(abnormal_true, (np.asarray(p_abnormal) >= threshold).astype(int), BINARY_LABELS)
    metrics["roc_auc"] = float(roc_auc_score(abnormal_true, p_abnormal)) if len(set(abnormal_true)) == 2 else None
    metrics["threshold"] = float(threshold)
    return metrics


def class_templates(X: np.ndarray, y: np.ndarray) -> dict:
    """Per class: mean and standard deviation waveform of the given beats."""
    templates = {}
    for label, name in enumerate(CLASSES):
        beats = X[y == label]
        templates[name] = {
            "n": int(len(beats)),
            "mean": np.round(beats.mean(axis=0), 5).tolist() if len(beats) else [0.0] * N_SAMPLES,
            "std": np.round(beats.std(axis=0), 5).tolist() if len(beats) else [0.0] * N_SAMPLES,
        }
    return templates


def score_reliability(given: np.ndarray, scores: np.ndarray, truth: np.ndarray) -> dict:
    """What a score means: for each class given, in each band of SCORE_BANDS, the beats given it there and the
    share whose reference class it is. truth: each beat's reference class, or -1 for an extra detection."""
    bands = score_band(SCORE_BANDS, scores)
    out = {}
    for label, name in enumerate(CLASSES):
        mine = given == label
        out[name] = [{"beats": int(np.sum(mine & (bands == b))),
                      "right": float(np.mean(truth[mine & (bands == b)] == label)) if np.any(mine & (bands == b)) else None}
                     for b in range(len(SCORE_BANDS) - 1)]
    return {"bands": list(SCORE_BANDS), "classes": out}


def _with_scores(y: np.ndarray, predicted: np.ndarray, proba: np.ndarray) -> dict:
    """multiclass_metrics, and what the score of each class given meant on these beats (score_reliability)."""
    return {**multiclass_metrics(y, predicted),
            "score_reliability": score_reliability(predicted, proba[np.arange(len(predicted)), predicted], y)}


def evaluate_models(models: dict, X: np.ndarray, y: np.ndarray) -> dict:
    """Every model's metrics on test beats; the multi-class stage alone on true abnormal beats."""
    cascade, logreg = models["cascade"], models["logreg"]
    features = cascade.feature_matrix(X)
    p_abnormal = cascade.binary_booster.predict_proba(features)[:, 1]
    is_abnormal = y != NORMAL
    proba = cascade.predict_proba(X)
    return {
        "logreg": _with_scores(y, logreg.predict(X), logreg.predict_proba(X)),
        "binary": binary_metrics(is_abnormal, p_abnormal, cascade.threshold_),
        "multiclass": multiclass_metrics(
            y[is_abnormal] - 1, cascade.multiclass_booster.predict(features[is_abnormal]), CLASSES[1:]
        ),
        "cascade": _with_scores(y, decide(proba, cascade.threshold_), proba),
    }
