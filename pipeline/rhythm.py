"""Rhythm and morphology features of a recording's beat sequence, relative to the patient's own rhythm and beat.

A premature beat is premature relative to *this* patient's rhythm: an R-R
interval of 0.6 s is normal at 100 beats/min and premature at 60. Features in
seconds do not carry over to a new patient (measured on DS1 -> DS2: S Se fell
to 7-14%); intervals divided by the patient's own averages do. Which of these
help, and the cascade they feed, were chosen by cross-validation on DS1
grouped by record (bench/bench_rhythm.py, bench/RESULTS.md "Rhythm-aware cascade").

Every function here is a pure function of one recording's arrays, O(n) in the
number of beats (the long window uses a binary search per beat: O(n log n),
a few milliseconds for a 24-hour recording).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

LOCAL_BEATS = 10  # the local average: about ten beats centred on the beat
LONG_WINDOW_S = 300.0  # the long-window average: five minutes centred on the beat

RHYTHM_FEATURE_NAMES = (
    "rr_pre_rel",  # pre-R-R / the recording's median R-R
    "rr_post_rel",  # post-R-R / the recording's median R-R
    "rr_local_rel",  # local average R-R / the recording's median R-R: the heart rate now
    "rr_long_rel",  # five-minute average R-R / the recording's median R-R
    "rr_pre_local",  # pre-R-R / local average: premature relative to the last few seconds
    "rr_post_local",
    "rr_pre_long",  # pre-R-R / five-minute average: premature relative to the last minutes
    "rr_post_pre",  # post / pre: a compensatory pause follows a premature beat
    "rr_pre_prev",  # pre-R-R / the previous beat's pre-R-R: a sudden shortening
    "rr_irregularity",  # local mean |successive R-R difference| / local average (atrial fibrillation is high)
)

MORPHOLOGY_SAMPLES = 40  # the first 333 ms of a 120 Hz Kaggle row: the QRS complex and the start of ST
MORPHOLOGY_FEATURE_NAMES = (
    "morph_corr_qrs",  # correlation with the recording's median row over the QRS samples
    "morph_corr_beat",  # the same over the first 90 samples (750 ms: QRS and T)
    "morph_rms_qrs",  # root-mean-square difference from the median row over the QRS samples
    "morph_slope_ratio",  # total |slope| over the QRS samples / the median row's: wide V beats are slower
    "morph_fall_delta",  # samples until the R wave falls halfway to its trough, minus the median row's
    "morph_trough_delta",  # depth of the trough after R, minus the median row's
)
_BEAT_SAMPLES = 90


def _centred_mean(values: np.ndarray, width: int) -> np.ndarray:
    """Mean of `values` over a window of `width` items centred on each item, shrunk at the ends (cumsum: O(n))."""
    n = len(values)
    before = width // 2
    index = np.arange(n)
    lo = np.clip(index - before, 0, n)
    hi = np.clip(index - before + width, 0, n)
    totals = np.concatenate([[0.0], np.cumsum(values)])
    return (totals[hi] - totals[lo]) / np.maximum(hi - lo, 1)


def rhythm_features(r_samples: np.ndarray, fs: float) -> np.ndarray:
    """One recording's R-peak positions (samples, increasing) -> (n_beats, len(RHYTHM_FEATURE_NAMES)) float32.

    Edge beats: the first beat has no pre-R-R and the last no post-R-R; each takes
    its other interval, so the edge beat reads as a beat in steady rhythm (post/pre 1)
    rather than as missing. Missing values were not left to XGBoost's default
    direction because only two beats a record have them: the trees would learn
    that direction from about forty training beats. A recording of one beat gets
    the values of a steady rhythm (all ones); one of no beats an empty array.
    """
    r_samples = np.asarray(r_samples, dtype=np.float64)
    n = len(r_samples)
    out = np.ones((n, len(RHYTHM_FEATURE_NAMES)), dtype=np.float32)
    if n < 2:
        return out
    if not fs > 0:
        raise ValueError(f"sampling rate must be positive, got {fs}")
    times = r_samples / float(fs)
    rr = np.diff(times)
    if np.any(rr <= 0):
        raise ValueError("R-peak positions must be strictly increasing")
    pre = np.concatenate([[rr[0]], rr])
    post = np.concatenate([rr, [rr[-1]]])
    reference = np.median(rr)

    local = _centred_mean(pre, LOCAL_BEATS)
    # The long window: mean R-R of the intervals ending within LONG_WINDOW_S centred on the beat.
    half = LONG_WINDOW_S / 2
    lo = np.searchsorted(times, times - half, side="left")
    hi = np.searchsorted(times, times + half, side="right")
    totals = np.concatenate([[0.0], np.cumsum(pre)])
    long = (totals[hi] - totals[lo]) / (hi - lo)
    successive = np.abs(np.diff(pre, prepend=pre[0]))
    irregularity = _centred_mean(successive, LOCAL_BEATS) / local
    pre_prev = pre / np.concatenate([[pre[0]], pre[:-1]])

    columns = (pre / reference, post / reference, local / reference, long / reference,
               pre / local, post / local, pre / long, post / pre, pre_prev, irregularity)
    for j, column in enumerate(columns):
        out[:, j] = column
    return out


def morphology_features(rows: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """One recording's Kaggle-format rows (n, 187) -> (n, len(MORPHOLOGY_FEATURE_NAMES)) float32.

    Each beat is compared with the recording's median row (sample by sample), the
    patient's own typical beat: most beats of a recording are the patient's normal
    beats, so the median row is close to their shape even with many ectopic beats.
    reference: which beats the median row is taken over (booleans; None: all of them).
    """
    rows = np.asarray(rows, dtype=np.float32)
    out = np.zeros((len(rows), len(MORPHOLOGY_FEATURE_NAMES)), dtype=np.float32)
    if len(rows) == 0:
        return out
    template = np.median(rows if reference is None else rows[reference], axis=0)

    def correlation(width: int) -> np.ndarray:
        a = rows[:, :width] - rows[:, :width].mean(axis=1, keepdims=True)
        b = template[:width] - template[:width].mean()
        denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum())
        return np.divide(a @ b, denominator, out=np.zeros(len(rows), dtype=np.float32), where=denominator > 0)

    qrs = rows[:, :MORPHOLOGY_SAMPLES]
    template_qrs = template[:MORPHOLOGY_SAMPLES]
    slope = np.abs(np.diff(qrs, axis=1)).sum(axis=1)
    template_slope = max(float(np.abs(np.diff(template_qrs)).sum()), 1e-6)
    fall, trough = _fall_and_trough(qrs)
    template_fall, template_trough = _fall_and_trough(template_qrs[None, :])
    out[:, 0] = correlation(MORPHOLOGY_SAMPLES)
    out[:, 1] = correlation(_BEAT_SAMPLES)
    out[:, 2] = np.sqrt(((qrs - template_qrs) ** 2).mean(axis=1))
    out[:, 3] = slope / template_slope
    out[:, 4] = fall - template_fall[0]
    out[:, 5] = trough - template_trough[0]
    return out


def _fall_and_trough(qrs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Samples until the R wave (sample 0) falls halfway to the trough after it, and that trough's depth below R."""
    trough = qrs.min(axis=1)
    halfway = (qrs[:, :1] + trough[:, None]) / 2
    below = qrs <= halfway
    fall = np.argmax(below, axis=1).astype(np.float32)
    return fall, (qrs[:, 0] - trough).astype(np.float32)


IRREGULARITY_WINDOW = 61  # beats (about a minute): long enough that a few premature beats do not move a median
IRREGULARITY_SHORT = 15
IRREGULARITY_FEATURE_NAMES = (
    "irregularity_median",  # median over a minute of |successive R-R change| / the local median R-R
    "irregularity_share",  # share of that minute's beats whose R-R changed by over 10% of the local median
    "irregularity_median_short",  # the median over 15 beats
)
"""Irregularity that a few premature beats do not raise. In sinus rhythm with ectopic beats most
successive R-R changes are small, so the median change stays low; in atrial fibrillation every
change is large. The mean (rr_irregularity) rises with either, which is why, without these, the
cascade called S a share of the beats of atrial fibrillation (DS1 records 201 and 203)."""


def _centred_median(values: np.ndarray, width: int) -> np.ndarray:
    """Median of `values` over `width` items centred on each item (the ends mirrored)."""
    before = width // 2
    padded = np.pad(values, (before, width - 1 - before), mode="reflect" if len(values) > width else "edge")
    return np.median(sliding_window_view(padded, width), axis=1)


def irregularity_features(r_samples: np.ndarray, fs: float) -> np.ndarray:
    """One recording's R peaks -> (n_beats, len(IRREGULARITY_FEATURE_NAMES)) float32 (see the names)."""
    r_samples = np.asarray(r_samples, dtype=np.float64)
    n = len(r_samples)
    out = np.zeros((n, len(IRREGULARITY_FEATURE_NAMES)), dtype=np.float32)
    if n < 2:
        return out
    rr = np.diff(r_samples) / float(fs)
    pre = np.concatenate([[rr[0]], rr])
    change = np.abs(np.diff(pre, prepend=pre[0])) / np.maximum(_centred_median(pre, 9), 1e-3)
    out[:, 0] = _centred_median(change, IRREGULARITY_WINDOW)
    out[:, 1] = _centred_mean((change > 0.1).astype(np.float64), IRREGULARITY_WINDOW)
    out[:, 2] = _centred_median(change, IRREGULARITY_SHORT)
    return out


def ds1_folds(records, n_splits: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation folds grouped by record: (training beats, held-out beats) index pairs.

    `records` names each beat's record. Every record's beats fall in exactly one
    held-out fold and in no training fold beside it, so a fold's score is a score
    on patients the models never saw, as DS2 is.
    """
    from sklearn.model_selection import GroupKFold

    records = np.asarray(records).astype(str)
    if n_splits > len(np.unique(records)):
        raise ValueError(f"{n_splits} folds need at least {n_splits} records; got {len(np.unique(records))}")
    return [(train, held_out) for train, held_out in GroupKFold(n_splits=n_splits).split(records, groups=records)]
