"""Features read off a Kaggle-format beat for the XGBoost stages: the samples, the QRS slopes and the rhythm.

A row starts at the beat's R peak and runs for 1.2 x the R-R interval, so the
row itself carries rhythm: where it ends and where the next R peak falls
inside it. Premature (S, V) beats are told apart from normal ones partly by
rhythm and partly by the shape of the QRS complex; trees find both hard to
assemble from 187 separate samples, so they get them ready-made. Which of
these helps was measured by cross-validation on the training split
(bench/RESULTS.md, "Features").
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from pipeline.vocabulary import N_SAMPLES

SLOPE_SAMPLES = 40  # the first 333 ms at 120 Hz: the QRS complex and the start of the ST segment
RHYTHM_NAMES = ("segment_length", "next_peak_pos", "next_peak_frac", "next_peak_value",
                "next_trough_pos", "next_trough_frac", "segment_mean", "segment_std")
FEATURE_NAMES = (
    tuple(f"sample_{i}" for i in range(N_SAMPLES))
    + tuple(f"slope_{i}" for i in range(SLOPE_SAMPLES - 1))
    + RHYTHM_NAMES
)
SLOPES = slice(N_SAMPLES, N_SAMPLES + SLOPE_SAMPLES - 1)  # where each group sits in a feature row
RHYTHM = slice(SLOPES.stop, None)

CHUNK = 4096  # rows per step: keeps the temporaries in cache, which is most of the cost
_COLUMNS = np.arange(N_SAMPLES, dtype=np.uint8)  # uint8: the masks below are the feature step's main cost


def beat_features(X: np.ndarray, n_jobs: int = 1) -> np.ndarray:
    """(n, 187) beats -> (n, len(FEATURE_NAMES)): samples, slopes of the first samples, rhythm features.

    Blocks of CHUNK rows are independent; with n_jobs > 1 they are filled by that many
    threads (NumPy releases the GIL for the work).
    """
    X = np.asarray(X, dtype=np.float32)
    out = np.empty((len(X), len(FEATURE_NAMES)), dtype=np.float32)

    def fill(first: int) -> None:
        rows = slice(first, first + CHUNK)
        beats, features = X[rows], out[rows]
        features[:, :N_SAMPLES] = beats
        np.subtract(beats[:, 1:SLOPE_SAMPLES], beats[:, :SLOPE_SAMPLES - 1], out=features[:, SLOPES])
        features[:, RHYTHM] = _rhythm(beats)

    starts = range(0, len(X), CHUNK)
    if n_jobs > 1 and len(starts) > 1:
        with ThreadPoolExecutor(n_jobs) as pool:
            list(pool.map(fill, starts))
    else:
        for first in starts:
            fill(first)
    return out


def _rhythm(X: np.ndarray) -> np.ndarray:
    rows = np.arange(len(X))
    # Segment length: one past the last non-zero sample (the padding is exact zeros).
    nonzero = X > 0
    length = np.where(nonzero.any(axis=1), N_SAMPLES - np.argmax(nonzero[:, ::-1], axis=1), 1)
    # The next R peak: the extreme sample in the second part of the segment, past this beat's QRS and T.
    start = np.maximum((0.3 * length).astype(int), 1)
    inside = (_COLUMNS >= start.astype(np.uint8)[:, None]) & (_COLUMNS < length.astype(np.uint8)[:, None])
    has = inside.any(axis=1)
    peak = np.where(has, np.argmax(np.where(inside, X, np.float32(-1)), axis=1), 0)
    trough = np.where(has, np.argmin(np.where(inside, X, np.float32(2)), axis=1), 0)
    # The padding is zeros, so sums over the whole row are sums over the segment.
    mean = X.sum(axis=1) / length
    variance = np.maximum(np.einsum("ij,ij->i", X, X) / length - mean**2, 0)
    return np.column_stack([
        length, peak, peak / length, np.where(has, X[rows, peak], 0),
        trough, trough / length, mean, np.sqrt(variance),
    ])


class BeatFeatures(TransformerMixin, BaseEstimator):
    """The feature step at the head of every XGBoost pipeline: raw beats in, feature rows out.

    X holds the 187 row samples, then one column per name in `extra` (rhythm features
    measured on the recording, for the rhythm-aware cascade), which pass through as
    they are. With rows=False the row's own features are left out and only the extra
    columns go on: the rhythm-aware cascade's choice (the 187 samples are each patient's
    own shapes, and on DS1 grouped by record they cost more on new patients than they
    gave). Stateless: fit learns nothing, so one instance serves training and serving.
    """

    def __init__(self, extra: tuple[str, ...] = (), n_jobs: int = 1, rows: bool = True):
        self.extra = extra
        self.n_jobs = n_jobs
        self.rows = rows

    def fit(self, X, y=None):
        self.n_features_in_ = N_SAMPLES + len(self.extra)
        return self

    def transform(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != N_SAMPLES + len(self.extra):
            raise ValueError(f"expected beats of {N_SAMPLES} samples and {len(self.extra)} extra columns, "
                             f"got shape {X.shape}")
        if not self.rows:
            return np.ascontiguousarray(X[:, N_SAMPLES:])
        features = beat_features(X[:, :N_SAMPLES], self.n_jobs)
        return np.hstack([features, X[:, N_SAMPLES:]]) if self.extra else features

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray((FEATURE_NAMES if self.rows else ()) + tuple(self.extra), dtype=object)

    def __sklearn_is_fitted__(self) -> bool:
        return True  # nothing to learn
