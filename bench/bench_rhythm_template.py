"""A candidate for the rhythm-aware cascade's V beats: the whole QRS, centred on R, against the patient's median beat.

    .venv/bin/python bench/bench_rhythm_template.py [--mitdb-dir /work/shared/mitdb] [--boot 300]

The served shape features read the beat's Kaggle row, which starts at the R peak: the QRS's onset, where a wide
ventricular beat departs most from the patient's normal ones, is not in it. Template matching, the classic way
Holter software sorts beats, compares the whole complex with the patient's usual one. This candidate adds two
features read off the 360 Hz signal from 100 ms before R to 150 ms after, the level of its first 20 ms removed:
the correlation with the recording's median window, and the root-mean-square difference from it over the median
window's peak-to-peak amplitude. Fixed before the run; scored as bench_rhythm_tune scores a setting (leave one DS1
record out, served PARAMS["rhythm"], pooled macro-F1 N,S,V at the best threshold) beside the served inputs, and
served only if it beats them in at least 80% of 300 paired record resamples. DS1 only.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from bench_rhythm_tune import compare_signal_features  # bench/ is on the path when this runs

TEMPLATE_FEATURE_NAMES = ("template_corr", "template_rms_rel")


def template_features(signal: np.ndarray, r_samples: np.ndarray, fs: float) -> np.ndarray:
    before, after = int(0.1 * fs), int(0.15 * fs)
    padded = np.pad(np.asarray(signal, np.float32), (before, after), mode="edge")
    windows = sliding_window_view(padded, before + after)[np.clip(r_samples, 0, len(signal) - 1)]
    windows = windows - windows[:, :int(0.02 * fs)].mean(axis=1, keepdims=True)
    template = np.median(windows, axis=0)
    a = windows - windows.mean(axis=1, keepdims=True)
    b = template - template.mean()
    denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum())
    corr = np.divide(a @ b, denominator, out=np.zeros(len(a), np.float32), where=denominator > 0)
    rms = np.sqrt(((windows - template) ** 2).mean(axis=1)) / max(float(np.ptp(template)), 1e-6)
    return np.column_stack([corr, rms]).astype(np.float32)


if __name__ == "__main__":
    compare_signal_features(__doc__, TEMPLATE_FEATURE_NAMES, template_features, "the centred QRS against the median beat")
