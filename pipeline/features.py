"""Rhythm features read off a Kaggle-format beat, added to the raw samples for the XGBoost stages.

A row starts at the beat's R peak and runs for 1.2 x the local median R-R, so
the row itself carries rhythm: where it ends (the local R-R) and where the next
R peak falls inside it (this beat's R-R to the next beat). Premature
(S, V) beats are told apart from normal ones mostly by rhythm, which trees find
hard to assemble from 187 separate samples.
"""
from __future__ import annotations

import numpy as np
from sklearn.preprocessing import FunctionTransformer

from pipeline.dataset import N_SAMPLES

FEATURE_NAMES = ("segment_length", "next_peak_pos", "next_peak_frac", "next_peak_value",
                 "next_trough_pos", "next_trough_frac", "segment_mean", "segment_std")


def rhythm_features(X: np.ndarray) -> np.ndarray:
    """(n, 187) beats -> (n, 187 + 8): the samples followed by the rhythm features."""
    X = np.asarray(X, dtype=np.float32)
    n = len(X)
    idx = np.arange(N_SAMPLES)
    nonzero = X > 0
    # Segment length: one past the last non-zero sample (the padding is exact zeros).
    length = np.where(nonzero.any(axis=1), N_SAMPLES - np.argmax(nonzero[:, ::-1], axis=1), 1).astype(np.float32)
    # The next R peak: the extreme sample in the second part of the segment, past the QRS/T of this beat.
    start = np.maximum((0.3 * length).astype(int), 1)
    inside = (idx[None, :] >= start[:, None]) & (idx[None, :] < length[:, None])
    masked_hi = np.where(inside, X, -np.inf)
    masked_lo = np.where(inside, X, np.inf)
    peak = np.argmax(masked_hi, axis=1)
    trough = np.argmin(masked_lo, axis=1)
    has = inside.any(axis=1)
    peak_value = np.where(has, X[np.arange(n), peak], 0.0)
    in_segment = idx[None, :] < length[:, None]
    mean = (X * in_segment).sum(axis=1) / length
    std = np.sqrt(((X - mean[:, None]) ** 2 * in_segment).sum(axis=1) / length)
    extra = np.column_stack([
        length, np.where(has, peak, 0), np.where(has, peak / length, 0), peak_value,
        np.where(has, trough, 0), np.where(has, trough / length, 0), mean, std,
    ]).astype(np.float32)
    return np.hstack([X, extra])


def rhythm_transformer() -> FunctionTransformer:
    return FunctionTransformer(rhythm_features)
