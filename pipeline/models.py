"""The estimators: Logistic Regression, the two XGBoost stages and the cascade that joins them."""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from functools import cache, partial
from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import (
    GroupKFold,
    StratifiedKFold,
    TunedThresholdClassifierCV,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted
from xgboost import XGBClassifier

from pipeline.features import BeatFeatures
from pipeline.vocabulary import ABNORMAL_CLASSES, CLASSES, NORMAL

if TYPE_CHECKING:  # imbalanced-learn is for training only: its import costs 0.4 s that serving does not pay
    from imblearn.pipeline import Pipeline as ImbPipeline

    from pipeline.smote import AdaptiveSMOTE


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
    # From `python -m pipeline tune` (2-fold CV on the training split; bench/tuning_intra.json): the best
    # candidate of each stage within the prediction budget of 100,000 beats/s. The multi-class stage
    # grows multi-output trees (one tree a round for all four classes, not four).
    binary: XGBParams = field(default_factory=lambda: XGBParams(
        n_estimators=300, max_depth=8, learning_rate=0.15, colsample_bytree=0.5))
    multiclass: XGBParams = field(default_factory=lambda: XGBParams(
        n_estimators=200, max_depth=5, learning_rate=0.2, colsample_bytree=0.5, multi_strategy="multi_output_tree"))
    threshold_cv_folds: int = 2
    threshold_grid: tuple[float, ...] = tuple(round(0.1 + 0.05 * i, 2) for i in range(17))
    # What the threshold's CV maximises (Cascade.THRESHOLD_SCORES): the binary stage's F1 for
    # "abnormal", or the whole cascade's macro-F1 over N, S and V.
    threshold_scoring: str = "abnormal_f1"
    # Whether the XGBoost stages read the row's own features (samples, slopes, row rhythm) or only
    # the extra columns a recording gives (BeatFeatures(rows=False)).
    row_features: bool = True
    # Each beat's probabilities averaged with those of its mutual nearest look-alikes in its recording (0: not at
    # all; Cascade.look_alikes): half its own and half theirs when all its nearest beats are mutual.
    look_alikes: int = 0
    look_alike_weight: float = 0.5
    n_jobs: int = 2

    def to_dict(self) -> dict:
        return asdict(self)


# Each protocol's parameters were chosen on that protocol's own training beats only:
# intra by `tune --protocol intra` (bench/tuning_intra.json), inter by `tune --protocol inter`
# (2-fold CV on DS1 grouped by record, bench/tuning_inter.json), the rhythm-aware cascade by
# bench/bench_rhythm_select.py and bench/bench_rhythm_tune.py (leave one DS1 record out: rhythm_select.json,
# rhythm_tune.json). Its threshold grid is finer and reaches 0.95 (training chose 0.725, look-alikes averaged in).
PARAMS = {
    "intra": Params(),
    "inter": Params(
        binary=XGBParams(n_estimators=200, max_depth=8, learning_rate=0.2, colsample_bytree=0.5),
        multiclass=XGBParams(n_estimators=200, max_depth=5, learning_rate=0.2, colsample_bytree=0.5,
                             multi_strategy="multi_output_tree")),
    "rhythm": Params(
        # bench/bench_rhythm_tune.py (leave-one-record-out on DS1, for the inputs below): many slow trees and
        # abnormal beats oversampled to as many as the normal ones; a leaf of the multi-class stage holds
        # at least 20 beats' weight.
        binary=XGBParams(n_estimators=300, max_depth=6, learning_rate=0.05, colsample_bytree=0.8),
        multiclass=XGBParams(n_estimators=200, max_depth=6, learning_rate=0.1, colsample_bytree=0.5,
                             min_child_weight=20.0),
        binary_smote_ratio=1.0,
        threshold_grid=tuple(round(0.1 + 0.025 * i, 3) for i in range(35)),
        # bench/bench_rhythm_select.py (leave-one-record-out on DS1): a recording's features only, no row
        # samples, and the threshold by the whole cascade's macro-F1 over N, S, V, one DS1 record held out a fold.
        row_features=False, threshold_scoring="macro_f1_nsv", threshold_cv_folds=22,
        # bench/bench_rhythm_neighbours.py (leave-one-record-out on DS1): each beat with its mutual look-alikes.
        look_alikes=10),
}


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


def make_smote(p: Params, sampling_strategy="auto") -> AdaptiveSMOTE:
    from pipeline.smote import AdaptiveSMOTE

    return AdaptiveSMOTE(sampling_strategy=sampling_strategy, k_neighbors=p.smote_k_neighbors, random_state=p.seed)


def make_binary(p: Params, extra: tuple[str, ...] = ()) -> ImbPipeline:
    """Normal vs abnormal on raw beats: features, SMOTE (training folds only), booster."""
    from imblearn.pipeline import Pipeline as ImbPipeline

    return ImbPipeline([
        ("features", BeatFeatures(extra, p.n_jobs, rows=p.row_features)),
        ("smote", make_smote(p, partial(abnormal_target, ratio=p.binary_smote_ratio))),
        ("xgb", make_xgb(p.binary, p, "binary:logistic")),
    ])


def make_multiclass(p: Params, extra: tuple[str, ...] = ()) -> ImbPipeline:
    """S, V, F, Q among abnormal beats, on raw beats, the same way."""
    from imblearn.pipeline import Pipeline as ImbPipeline

    return ImbPipeline([
        ("features", BeatFeatures(extra, p.n_jobs, rows=p.row_features)),
        ("smote", make_smote(p)),
        ("xgb", make_xgb(p.multiclass, p, "multi:softprob")),
    ])


def make_cascade(p: Params, extra: tuple[str, ...] = ()) -> Cascade:
    """The unfitted cascade for these parameters: the one place that knows how it is assembled."""
    return Cascade(make_binary(p, extra), make_multiclass(p, extra), threshold="cv",
                   threshold_grid=p.threshold_grid, cv=p.threshold_cv_folds, random_state=p.seed,
                   threshold_scoring=p.threshold_scoring, look_alikes=p.look_alikes,
                   look_alike_weight=p.look_alike_weight)


class Cascade(ClassifierMixin, BaseEstimator):
    """Binary stage, then the multi-class stage for the beats it calls abnormal.

    Both stages are pipelines that take raw beats (their first step makes the features),
    so the cascade does too. fit() fits both stages and, with threshold="cv", chooses the
    binary threshold by cross-validation on the training beats alone (grouped by record
    when `groups` is given; never more folds than records) over `threshold_grid`, scored by
    `threshold_scoring`: "abnormal_f1", the binary stage's F1 for abnormal beats (scikit-learn's
    TunedThresholdClassifierCV), or "macro_f1_nsv", the whole cascade's macro-F1 over N, S
    and V on the held-out folds (both stages fitted in each fold): the figure the report gives
    for new patients, where a threshold good for V beats alone can lose most S beats.

    predict_proba gives P(N) = 1 - P(abnormal) and P(k) = P(abnormal) * P(k | abnormal);
    predict: abnormal when P(abnormal) >= threshold_, then the most probable abnormal class.
    With look_alikes = K > 0, each beat's five probabilities are then averaged with those of its
    mutual look-alikes among the beats of its group (its recording): see average_look_alikes. The
    threshold's CV does the same on each held-out group, so fit needs `groups` then.
    """

    THRESHOLD_SCORES = ("abnormal_f1", "macro_f1_nsv")

    def __init__(self, binary=None, multiclass=None, threshold="cv", threshold_grid=(0.5,), cv=2,
                 random_state=None, threshold_scoring="abnormal_f1", look_alikes=0, look_alike_weight=0.5):
        self.binary = binary
        self.multiclass = multiclass
        self.threshold = threshold
        self.threshold_grid = threshold_grid
        self.cv = cv
        self.random_state = random_state
        self.threshold_scoring = threshold_scoring
        self.look_alikes = look_alikes
        self.look_alike_weight = look_alike_weight

    def fit(self, X, y, groups=None):
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y, dtype=np.int64)
        abnormal = (y != NORMAL).astype(int)
        if self.threshold_scoring not in self.THRESHOLD_SCORES:
            raise ValueError(f"threshold_scoring must be one of {self.THRESHOLD_SCORES}, not {self.threshold_scoring!r}")
        if self.look_alikes and (groups is None or self.threshold_scoring != "macro_f1_nsv"):
            raise ValueError("look_alikes averages within each beat's recording: fit needs groups (each beat's "
                             "recording) and threshold_scoring='macro_f1_nsv'")
        if self.threshold == "cv":
            if groups is not None:
                n_splits = min(self.cv, len(np.unique(groups)))
                folds = list(GroupKFold(n_splits=n_splits).split(X, abnormal, groups))
            else:
                folds = list(StratifiedKFold(n_splits=self.cv, shuffle=True,
                                             random_state=self.random_state).split(X, abnormal))
        if self.threshold == "cv" and self.threshold_scoring == "macro_f1_nsv":
            self.threshold_, self.threshold_cv_f1_ = self._cascade_threshold(X, y, folds, groups)
            self.binary_ = clone(self.binary).fit(X, abnormal)
        elif self.threshold == "cv":
            tuned = TunedThresholdClassifierCV(
                clone(self.binary), scoring="f1", response_method="predict_proba",
                thresholds=np.asarray(self.threshold_grid), cv=folds, refit=True, store_cv_results=True,
            ).fit(X, abnormal)
            self.binary_, self.threshold_ = tuned.estimator_, float(tuned.best_threshold_)
            self.threshold_cv_f1_ = float(tuned.best_score_)
        else:
            self.binary_, self.threshold_ = clone(self.binary).fit(X, abnormal), float(self.threshold)
        is_abnormal = abnormal.astype(bool)
        self.multiclass_ = clone(self.multiclass).fit(X[is_abnormal], y[is_abnormal] - 1)
        self.classes_ = np.arange(len(CLASSES))
        return self

    def _cascade_threshold(self, X, y, folds, groups) -> tuple[float, float]:
        """The grid threshold with the best macro-F1 over N, S, V of the cascade's held-out predictions."""
        held_out = held_out_proba(self.binary, self.multiclass, X, y, folds)
        if self.look_alikes:
            features = clone(self.binary)[0].fit_transform(X)  # the feature step has nothing to learn
            held_out = average_look_alikes(held_out, features, self.look_alikes, self.look_alike_weight, groups)
        scores = [macro_f1_nsv(y, decide(held_out, t)) for t in self.threshold_grid]
        best = int(np.argmax(scores))
        return float(self.threshold_grid[best]), float(scores[best])

    @classmethod
    def from_boosters(cls, binary: XGBClassifier, multiclass: XGBClassifier, threshold: float,
                      features: BeatFeatures, look_alikes: int = 0, look_alike_weight: float = 0.5) -> Cascade:
        """A fitted cascade from saved boosters (a bundle): the same feature step in front of each."""
        cascade = cls(threshold=threshold, look_alikes=look_alikes, look_alike_weight=look_alike_weight)
        cascade.binary_ = Pipeline([("features", features), ("xgb", binary)])
        cascade.multiclass_ = Pipeline([("features", features), ("xgb", multiclass)])
        cascade.threshold_ = float(threshold)
        cascade.classes_ = np.arange(len(CLASSES))
        return cascade

    @property
    def binary_booster(self) -> XGBClassifier:
        return self.binary_[-1]

    @property
    def multiclass_booster(self) -> XGBClassifier:
        return self.multiclass_[-1]

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(self.binary_[0].get_feature_names_out())

    @property
    def extra_columns(self) -> tuple[str, ...]:
        """The columns a beat needs beyond its 187 samples (the rhythm-aware cascade's rhythm features)."""
        return tuple(self.binary_[0].extra)

    @property
    def row_features(self) -> bool:
        """Whether the boosters read the row's own features, or only the extra columns."""
        return bool(self.binary_[0].rows)

    def feature_matrix(self, X) -> np.ndarray:
        """The boosters' input for raw beats: computed once, shared by both stages."""
        check_is_fitted(self)
        return self.binary_[0].transform(X)

    def own_proba(self, features: np.ndarray) -> np.ndarray:
        """Each beat's five probabilities from its own inputs (feature_matrix), before any look-alike is averaged in."""
        p_abnormal = self.binary_booster.predict_proba(features)[:, 1]
        p_given_abnormal = self.multiclass_booster.predict_proba(features)
        proba = np.empty((len(p_abnormal), len(CLASSES)))
        proba[:, NORMAL] = 1.0 - p_abnormal
        proba[:, ABNORMAL_CLASSES] = p_abnormal[:, None] * p_given_abnormal
        return proba

    def predict_proba(self, X, groups=None) -> np.ndarray:
        """groups: each beat's recording (or stretch of one), for look_alikes; None: all of X is one recording."""
        features = self.feature_matrix(X)
        proba = self.own_proba(features)
        if self.look_alikes:
            proba = average_look_alikes(proba, features, self.look_alikes, self.look_alike_weight, groups)
        return proba

    def predict(self, X, groups=None) -> np.ndarray:
        return decide(self.predict_proba(X, groups), self.threshold_)


@cache
def _thread_pools():
    """threadpoolctl's view of the loaded thread pools, taken once (after scikit-learn's neighbours are imported):
    threadpool_limits() would scan the loaded libraries again on every call, 2-4 ms a recording's stretch."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def mutual_look_alikes(features: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """One recording's beats (at least 2): each beat's k nearest other beats, (n, k) indices, and which of them are
    mutual, (n, k) booleans: beat j is a look-alike of beat i when each is among the other's k nearest (Euclidean, the
    features standardised within the recording; a NaN or infinite value reads as its column's mean)."""
    from sklearn.neighbors import NearestNeighbors

    values = np.array(features, dtype=np.float64)
    values[~np.isfinite(values)] = np.nan  # a ratio over a flat median beat: no position, so the column's mean
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a column with no finite value at all
        spread = np.nanstd(values, axis=0)
        z = np.nan_to_num((values - np.nanmean(values, axis=0)) / np.where(spread > 0, spread, 1.0))
    k = min(k, len(z) - 1)
    # kneighbors() without X: each beat's nearest other beats, never itself (even beside an exact copy). On one
    # OpenMP thread (this thread's setting only): classify-record runs recordings on threads already, and the
    # whole run with OpenMP on one thread took 0.9 s less CPU over DS2's 22 records (bench/RESULTS.md).
    with _thread_pools().limit(limits=1, user_api="openmp"):
        nearest = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(z).kneighbors(return_distance=False)
    return nearest, (nearest[nearest] == np.arange(len(z))[:, None, None]).any(axis=2)


def min_look_alike_beats(k: int) -> int:
    """The fewest beats a recording (or stretch) needs for the look-alike step: 2k+1. In fewer, every beat is among
    most others' k nearest, so the step would average each beat with nearly all the others (an 11-beat ECG's two V
    beats came back N). Chosen on 10-, 30- and 60-second excerpts of held-out DS1 records (bench/bench_rhythm_short.py:
    macro-F1 N,S,V 0.741 against 0.727 for the step on every excerpt); a half-hour record is never under it."""
    return 2 * k + 1


def average_look_alikes(proba: np.ndarray, features: np.ndarray, k: int, weight: float, groups=None) -> np.ndarray:
    """Each beat's probabilities averaged with those of its mutual look-alikes in its group (its recording).

    A beat keeps (1 - a) of its own probabilities and takes a of its mutual look-alikes' mean (mutual_look_alikes),
    a = weight x (its look-alikes / k): a beat in a cluster of beats like it (a patient's ectopic beats from one
    focus) is averaged with them, and a lone beat, whose nearest beats have nearer neighbours of their own, keeps its
    own. Chosen by leave-one-DS1-record-out CV (bench/bench_rhythm_neighbours.py).
    """
    out = np.array(proba, dtype=np.float64)
    groups = np.zeros(len(proba), dtype=np.int64) if groups is None else np.asarray(groups)
    for group in np.unique(groups):
        beats = np.flatnonzero(groups == group)
        if len(beats) < min_look_alike_beats(k):
            continue
        nearest, mutual = mutual_look_alikes(features[beats], k)
        count = mutual.sum(axis=1)
        own = out[beats]
        mean = (mutual[:, :, None] * own[nearest]).sum(axis=1) / np.maximum(count, 1)[:, None]
        share = weight * (count / nearest.shape[1])[:, None]
        out[beats] = (1 - share) * own + share * mean
    return out


def held_out_proba(binary, multiclass, X: np.ndarray, y: np.ndarray, folds) -> np.ndarray:
    """The cascade's five probabilities for every beat, from stages fitted on the other folds only."""
    held_out = np.zeros((len(y), len(CLASSES)))
    for train, test in folds:
        is_abnormal = y[train] != NORMAL
        fitted = clone(binary).fit(X[train], is_abnormal.astype(int))
        labels = y[train][is_abnormal] - 1
        present = np.unique(labels)  # a fold may lack a rare class (DS1's 8 Q beats sit in a few records)
        given = clone(multiclass).fit(X[train][is_abnormal], np.searchsorted(present, labels))
        p_abnormal = fitted.predict_proba(X[test])[:, 1]
        held_out[test, NORMAL] = 1.0 - p_abnormal
        held_out[np.ix_(test, ABNORMAL_CLASSES[present])] = p_abnormal[:, None] * given.predict_proba(X[test])
    return held_out


def macro_f1_nsv(y: np.ndarray, predicted: np.ndarray) -> float:
    """Macro-F1 over N, S and V: DS2 holds 7 Q beats and few F, which would swing a five-class average."""
    return float(f1_score(y, predicted, labels=[0, 1, 2], average="macro", zero_division=0))


def decide(proba: np.ndarray, threshold: float) -> np.ndarray:
    """The cascade's decision from its five probabilities."""
    abnormal = 1.0 - proba[:, NORMAL] >= threshold
    return np.where(abnormal, ABNORMAL_CLASSES[np.argmax(proba[:, ABNORMAL_CLASSES], axis=1)], NORMAL)
