"""A candidate from the literature for the rhythm-aware cascade: Mondéjar-Guerra et al.'s (2019) beat descriptors.

    .venv/bin/python bench/bench_rhythm_wavelet.py [--mitdb-dir /work/shared/mitdb] [--boot 300]

Mondéjar-Guerra, Novo, Rouco, Penedo, Ortega (Biomed Signal Process Control 47, 2019), one of the issue's published
references, describe each beat by the window of 90 samples before and after R at 360 Hz with, among others,
Daubechies-1 (Haar) wavelet coefficients at level 3 and higher-order statistics (skewness and kurtosis of five
equal parts of the window), beside R-R features. This candidate adds those two to the served inputs: the level-3 Haar
approximation of the window R-88 .. R+88 (176 samples, 22 coefficients, the window's mean removed and scaled by the
recording's median beat's peak-to-peak, so units do not matter) and the 10 statistics. Fixed before the run; scored
as bench_rhythm_tune scores a setting (leave one DS1 record out, served PARAMS["rhythm"], pooled macro-F1 N,S,V at
the best threshold) beside the served inputs, and served only if it beats them in at least 80% of 300 paired record
resamples. DS1 only.
"""
from __future__ import annotations

import numpy as np
import scipy.stats
from numpy.lib.stride_tricks import sliding_window_view

from bench_rhythm_tune import compare_signal_features  # bench/ is on the path when this runs

HALF, LEVEL, PARTS = 88, 3, 5
WAVELET_FEATURE_NAMES = tuple(f"haar_{i}" for i in range(2 * HALF // 2**LEVEL)) + tuple(
    f"{stat}_{part}" for stat in ("skew", "kurtosis") for part in range(PARTS))


def wavelet_features(signal: np.ndarray, r_samples: np.ndarray, fs: float) -> np.ndarray:
    padded = np.pad(np.asarray(signal, np.float64), HALF, mode="edge")
    windows = sliding_window_view(padded, 2 * HALF)[np.clip(r_samples, 0, len(signal) - 1)]
    windows = windows - windows.mean(axis=1, keepdims=True)
    windows /= max(float(np.ptp(np.median(windows, axis=0))), 1e-6)
    approximation = windows.reshape(len(windows), -1, 2**LEVEL).sum(axis=2) / np.sqrt(2**LEVEL)  # Haar, level 3
    parts = np.array_split(windows, PARTS, axis=1)
    skew = np.column_stack([scipy.stats.skew(p, axis=1) for p in parts])
    kurtosis = np.column_stack([scipy.stats.kurtosis(p, axis=1) for p in parts])
    return np.nan_to_num(np.hstack([approximation, skew, kurtosis])).astype(np.float32)


if __name__ == "__main__":
    compare_signal_features(__doc__, WAVELET_FEATURE_NAMES, wavelet_features,
                            "Mondéjar-Guerra's wavelet and higher-order statistics")
