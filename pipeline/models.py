"""The estimators: Logistic Regression, the two XGBoost stages and the cascade that joins them."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import partial

import numpy as np
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline as ImbPipeline
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from xgboost import XGBClassifier

from pipeline.features import beat_features
from pipeline.vocabulary import ABNORMAL_CLASSES, CLASSES, NORMAL


@dataclass(frozen=True)
class XGBParams:
    n_estimators: int = 300
    max_depth: int = 6
    learning_rate: float = 0.1
    subsample: float = 0.9
    colsample_bytree: float = 0.3
    min_child_weight: float = 1.0
    max_bin: int = 64
    tree_method: str = "hist"
    # "multi_output_tree" grows one tree with a leaf vector for all classes per round:
    # a quarter of the trees to evaluate at prediction time for the four-class stage.
    multi_strategy: str = "one_output_per_tree"


@dataclass(frozen=True)
class Params:
    """Every training choice in one place; recorded in the report and the manifest."""

    seed: int = 42
    logreg_C: float = 1.0
    logreg_max_iter: int = 150  # lbfgs stops here on the full data; the report records it
    smote_k_neighbors: int = 5
    binary_smote_ratio: float = 0.5  # abnormal beats are oversampled to half the normal ones
    # From `python -m pipeline tune` (2-fold CV on the training split; bench/tuning.json): the best
    # candidate of each stage within the prediction budget of 100,000 beats/s. The multi-class stage
    # grows multi-output trees (one tree a round for all four classes, not four).
    binary: XGBParams = field(default_factory=lambda: XGBParams(
        n_estimators=300, max_depth=8, learning_rate=0.15, colsample_bytree=0.5))
    multiclass: XGBParams = field(default_factory=lambda: XGBParams(
        n_estimators=200, max_depth=5, learning_rate=0.2, colsample_bytree=0.5, multi_strategy="multi_output_tree"))
    threshold_cv_folds: int = 2
    threshold_grid: tuple[float, ...] = tuple(round(0.1 + 0.05 * i, 2) for i in range(17))
    n_jobs: int = 2

    def to_dict(self) -> dict:
        return asdict(self)


def make_logreg(p: Params) -> Pipeline:
    """Scaler and LR as one object, so the training scaler is the one every prediction uses."""
    return Pipeline([
        ("scale", StandardScaler()),
        ("logreg", LogisticRegression(C=p.logreg_C, class_weight="balanced", max_iter=p.logreg_max_iter,
                                      random_state=p.seed)),
    ])


def make_xgb(xp: XGBParams, p: Params, objective: str) -> XGBClassifier:
    return XGBClassifier(**asdict(xp), objective=objective, random_state=p.seed, n_jobs=p.n_jobs)


def abnormal_target(y: np.ndarray, ratio: float) -> dict:
    """SMOTE's target for the binary stage: abnormal beats up to `ratio` x the normal ones, never fewer than given."""
    counts = np.bincount(y, minlength=2)
    return {1: max(int(ratio * counts[0]), int(counts[1]))}


def make_smote(p: Params, sampling_strategy="auto", smallest_class: int | None = None) -> SMOTE:
    """SMOTE, with fewer neighbours when a class has too few beats for the usual k (small record sets)."""
    k = p.smote_k_neighbors if smallest_class is None else max(1, min(p.smote_k_neighbors, smallest_class - 1))
    return SMOTE(sampling_strategy=sampling_strategy, k_neighbors=k, random_state=p.seed)


def make_binary(p: Params) -> ImbPipeline:
    """Normal vs abnormal; SMOTE inside the pipeline, so it resamples training folds only."""
    return ImbPipeline([
        ("smote", make_smote(p, partial(abnormal_target, ratio=p.binary_smote_ratio))),
        ("xgb", make_xgb(p.binary, p, "binary:logistic")),
    ])


def make_multiclass(p: Params, smallest_class: int | None = None) -> ImbPipeline:
    """S, V, F, Q among abnormal beats; SMOTE the same way."""
    return ImbPipeline([
        ("smote", make_smote(p, "auto", smallest_class)),
        ("xgb", make_xgb(p.multiclass, p, "multi:softprob")),
    ])


class Cascade(ClassifierMixin, BaseEstimator):
    """Binary stage, then the multi-class stage for the beats it calls abnormal.

    predict_proba gives P(N) = 1 - P(abnormal) and P(k) = P(abnormal) * P(k | abnormal);
    predict is derived from it: abnormal when P(abnormal) >= threshold, then the most
    probable abnormal class. Both stages are fitted on beat_features(X), which the
    cascade computes once per call: any estimators with predict_proba on those will do
    (the imblearn pipelines while training, the bare boosters loaded from a bundle).
    n_jobs is the number of threads for the feature step; the boosters have their own.
    """

    def __init__(self, binary=None, multiclass=None, threshold: float = 0.5, n_jobs: int = 1):
        self.binary = binary
        self.multiclass = multiclass
        self.threshold = threshold
        self.n_jobs = n_jobs

    @property
    def classes_(self):
        return np.arange(len(CLASSES))

    def predict_proba(self, X) -> np.ndarray:
        features = beat_features(X, self.n_jobs)
        p_abnormal = self.binary.predict_proba(features)[:, 1]
        p_given_abnormal = self.multiclass.predict_proba(features)
        proba = np.empty((len(p_abnormal), len(CLASSES)))
        proba[:, NORMAL] = 1.0 - p_abnormal
        proba[:, ABNORMAL_CLASSES] = p_abnormal[:, None] * p_given_abnormal
        return proba

    def predict(self, X) -> np.ndarray:
        return decide(self.predict_proba(X), self.threshold)


def decide(proba: np.ndarray, threshold: float) -> np.ndarray:
    """The cascade's decision from its five probabilities."""
    abnormal = 1.0 - proba[:, NORMAL] >= threshold
    return np.where(abnormal, ABNORMAL_CLASSES[np.argmax(proba[:, ABNORMAL_CLASSES], axis=1)], NORMAL)


def choose_threshold(y_train: np.ndarray, p_abnormal_oof: np.ndarray, grid) -> float:
    """The binary threshold with the best abnormal-class F1 on out-of-fold training predictions."""
    from sklearn.metrics import f1_score

    abnormal = (y_train != NORMAL).astype(int)
    scores = [f1_score(abnormal, (p_abnormal_oof >= t).astype(int)) for t in grid]
    return float(grid[int(np.argmax(scores))])
