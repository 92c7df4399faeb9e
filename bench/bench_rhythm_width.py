"""A candidate for the rhythm-aware cascade's V beats: the QRS's duration, in ms and against the patient's median.

    .venv/bin/python bench/bench_rhythm_width.py [--mitdb-dir /work/shared/mitdb] [--boot 300]

A wide QRS (120 ms or more) is what makes a beat ventricular on paper, and none of the served inputs measures it:
the Kaggle row starts at the R peak, so a QRS's onset is not in it, and the row's slopes and trough only hint at
its width. This candidate adds two features read off the 360 Hz signal: the QRS duration, the stretch around R
where the QRS-band envelope (|ECG band-passed 5-30 Hz|, averaged over 20 ms) stays above a quarter of its peak
within 50 ms of R, in ms; and that duration over the recording's median one (a bundle branch block widens every
beat of a patient, so the absolute width alone would call them all V). Fixed before the run; scored as
bench_rhythm_tune scores a setting (leave one DS1 record out, served PARAMS["rhythm"], pooled macro-F1 N,S,V at the
best threshold) beside the served inputs, and served only if it beats them in at least 80% of 300 paired record
resamples. DS1 only.
"""
from __future__ import annotations

import numpy as np
import scipy.ndimage
import scipy.signal
from numpy.lib.stride_tricks import sliding_window_view

from bench_rhythm_tune import compare_signal_features  # bench/ is on the path when this runs

WIDTH_FEATURE_NAMES = ("qrs_width_ms", "qrs_width_rel")


def width_features(signal: np.ndarray, r_samples: np.ndarray, fs: float) -> np.ndarray:
    sos = scipy.signal.butter(2, (5, 30), btype="bandpass", fs=fs, output="sos")
    envelope = scipy.ndimage.uniform_filter1d(np.abs(scipy.signal.sosfiltfilt(sos, signal)), int(0.02 * fs))
    half, near = int(0.15 * fs), int(0.05 * fs)
    padded = np.pad(envelope, half, mode="edge")
    windows = sliding_window_view(padded, 2 * half + 1)[np.clip(r_samples, 0, len(signal) - 1)]
    peak_at = half - near + windows[:, half - near:half + near + 1].argmax(axis=1)
    peak = windows[np.arange(len(windows)), peak_at]
    below = windows < 0.25 * peak[:, None]
    positions = np.arange(windows.shape[1])
    # the last sample below the threshold before the peak, and the first one after it (the window's ends if none)
    onset = np.where(below & (positions < peak_at[:, None]), positions, -1).max(axis=1)
    offset = np.where(below & (positions > peak_at[:, None]), positions, windows.shape[1]).min(axis=1)
    width_ms = (offset - onset - 1) * 1000.0 / fs
    return np.column_stack([width_ms, width_ms / max(float(np.median(width_ms)), 1.0)]).astype(np.float32)


if __name__ == "__main__":
    compare_signal_features(__doc__, WIDTH_FEATURE_NAMES, width_features, "the QRS's duration")
