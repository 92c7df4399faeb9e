"""Rhythm features read off a Kaggle-format beat, added to the raw samples for the XGBoost stages.

A row starts at the beat's R peak and runs for 1.2 x the local median R-R, so
the row itself carries rhythm: where it ends (the local R-R) and where the next
R peak falls inside it (this beat's R-R to the next beat). Premature
(S, V) beats are told apart from normal ones mostly by rhythm, which trees find
hard to assemble from 187 separate samples.
"""
from __future__ import annotations

import numpy as np

from pipeline.dataset import N_SAMPLES

FEATURE_NAMES = ("segment_length", "next_peak_pos", "next_peak_frac", "next_peak_value",
                 "next_trough_pos", "next_trough_frac", "segment_mean", "segment_std")


CHUNK = 4096  # rows per step: keeps the temporaries in cache, which is most of the cost


def rhythm_features(X: np.ndarray) -> np.ndarray:
    """(n, 187) beats -> (n, 187 + 8): the samples followed by the rhythm features."""
    X = np.asarray(X, dtype=np.float32)
    out = np.empty((len(X), N_SAMPLES + len(FEATURE_NAMES)), dtype=np.float32)
    out[:, :N_SAMPLES] = X
    for first in range(0, len(X), CHUNK):
        out[first:first + CHUNK, N_SAMPLES:] = _features(X[first:first + CHUNK])
    return out


def _features(X: np.ndarray) -> np.ndarray:
    rows = np.arange(len(X))
    idx = np.arange(N_SAMPLES)
    # Segment length: one past the last non-zero sample (the padding is exact zeros).
    nonzero = X > 0
    length = np.where(nonzero.any(axis=1), N_SAMPLES - np.argmax(nonzero[:, ::-1], axis=1), 1)
    # The next R peak: the extreme sample in the second part of the segment, past this beat's QRS and T.
    start = np.maximum((0.3 * length).astype(int), 1)
    inside = (idx >= start[:, None]) & (idx < length[:, None])
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
