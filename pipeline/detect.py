"""Heartbeat detection in a whole ECG, and beat-by-beat matching against reference annotations (EC57)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.ndimage
import scipy.signal
from numpy.lib.stride_tricks import sliding_window_view
from sleepecg._heartbeat_detection import _squared_moving_integration, _thresholding

MIN_FS, MAX_FS = 100.0, 1000.0
# The rule's parameters: GAP_RATIO, GAP_MARGIN, SHORT_RATIO and WEAK_RATIO chosen on the DS1 records only
# (bench/tune_detect.py; bench/bench_detect.py shows DS1 and DS2 apart).
REFINE_S = 0.15  # a detection moves to the largest QRS deflection within this distance
MERGE_S = 0.22  # two refined detections closer than this are one beat (273 beats a minute; bench_detect_merge.py)
GAP_RATIO = 1.3  # a primary-lead R-R this many times the local median holds a missed beat ...
GAP_MARGIN = 0.4  # ... when the other lead has one at least this fraction of the median from both ends
SHORT_RATIO = 0.7  # a beat this close (x local median R-R) to a neighbour ...
WEAK_RATIO = 0.5  # ... is dropped when its QRS is this weak relative to its neighbours, on average over the leads
FAINT_RATIO = 0.3  # any beat this weak on every lead is dropped ...
FAINT_MEAN = 0.3  # ... or this weak on average over the leads (chosen on DS1: bench_detect_faint.py)
FILL_FAINT = 0.05  # a beat the other lead fills in near a neighbour shows this on the primary (bench_detect_fill.py)
LOCAL_BEATS = 9  # beats in the local median R-R where gaps are sought
LOCAL_AMPLITUDE_BEATS = 15  # beats in the local medians of QRS amplitude and R-R where weak beats are judged
CHUNK_S = 3600.0  # long recordings are detected an hour at a time, so working memory stays small (42 MB a day) ...
OVERLAP_S = 10.0  # ... each hour with this much of its neighbours, so thresholds and medians settle


def _qrs_band(signal: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """One lead band-passed to the QRS band once, for both our envelope and sleepecg's detector.

    Returns the QRS envelope, |ECG| band-passed (its peak is the R, or dominant S/QS, deflection), and the
    band-passed lead as sleepecg's detector takes it: float64, without a flat start (sleepecg skips one, so
    that it does not upset the detector's thresholds). The filter is sleepecg's own, a 2nd-order Butterworth
    5-30 Hz run forward and back (zero phase), in float32: that halves the memory of a 24-hour envelope and
    is ample for locating a peak.
    """
    sos = scipy.signal.butter(2, (5, 30), btype="bandpass", fs=fs, output="sos")
    filtered = scipy.signal.sosfiltfilt(sos.astype(np.float32), signal.astype(np.float32))
    first = 0 if signal[1] != signal[0] else int(np.argmax(signal != signal[0]))
    return np.abs(filtered), np.ascontiguousarray(filtered[first:], dtype=np.float64)


def _windows(envelope: np.ndarray, positions: np.ndarray, half: int) -> tuple[np.ndarray, np.ndarray]:
    """The envelope in a window of 2*half+1 samples around each position (shifted inward at the ends), and its starts."""
    width = min(2 * half + 1, len(envelope))
    starts = np.clip(positions - half, 0, len(envelope) - width)
    return sliding_window_view(envelope, width)[starts], starts


def _window_argmax(envelope: np.ndarray, positions: np.ndarray, half: int) -> np.ndarray:
    """The position of the envelope's maximum within +-half samples of each position."""
    if len(positions) == 0:
        return positions
    windows, starts = _windows(envelope, positions, half)
    return starts + windows.argmax(axis=1)


def _window_max(envelope: np.ndarray, positions: np.ndarray, half: int) -> np.ndarray:
    return _windows(envelope, positions, half)[0].max(axis=1)


def _refine(envelope: np.ndarray, detections: np.ndarray, fs: float) -> np.ndarray:
    """Move each detection to its R peak, then merge detections that landed on the same beat."""
    beats = np.unique(_window_argmax(envelope, detections, int(REFINE_S * fs)))
    min_gap = int(MERGE_S * fs)
    keep = np.ones(len(beats), dtype=bool)
    kept_left = -1
    # Left to right through the (few) close pairs, keeping the larger peak of each; a run of
    # several close detections is resolved against the beat kept so far.
    for i in np.flatnonzero(np.diff(beats) < min_gap):
        left = i if keep[i] else kept_left
        if beats[i + 1] - beats[left] >= min_gap:
            kept_left = i + 1
        elif envelope[beats[i + 1]] > envelope[beats[left]]:
            keep[left], kept_left = False, i + 1
        else:
            keep[i + 1], kept_left = False, left
    return beats[keep]


def _local_median(values: np.ndarray, n: int) -> np.ndarray:
    return scipy.ndimage.median_filter(values.astype(np.float64), size=n, mode="nearest")


def _sleepecg(filtered: np.ndarray, fs: float) -> np.ndarray:
    """sleepecg's detector (Pan-Tompkins, C backend) on a lead _qrs_band has filtered: the steps that
    sleepecg.detect_heartbeats takes after its own filter, so that each lead is filtered once, not twice.

    sleepecg 0.6 has no public function that takes a filtered signal, so this calls the private C functions
    detect_heartbeats itself calls. Given our float32 filter's output rather than its float64 one, it can put a
    detection a sample off detect_heartbeats's at a near-tie; _refine moves both to the same R peak.
    """
    derivative = np.correlate(filtered, np.array([-1, -2, 0, 2, 1]), mode="same")  # Pan & Tompkins' derivative
    integrated = _squared_moving_integration(derivative, int(0.15 * fs))  # over 150 ms, as detect_heartbeats
    return np.flatnonzero(_thresholding(filtered, integrated, fs)).astype(np.int64)


def _lead(signal: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """One lead's detections, each moved to its R peak, and its QRS envelope."""
    envelope, filtered = _qrs_band(signal, fs)
    first = len(signal) - len(filtered)  # the flat start sleepecg's detector did not see
    return _refine(envelope, first + _sleepecg(filtered, fs), fs), envelope


def _fill_gaps(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """Add the other lead's beats that sit well inside a primary-lead R-R too long for the local rhythm."""
    if len(primary) < 3 or len(secondary) == 0:
        return primary
    rr = np.diff(primary)
    median = _local_median(rr, LOCAL_BEATS)
    k = np.searchsorted(primary, secondary) - 1
    inside = (k >= 0) & (k < len(rr))
    candidates, k = secondary[inside], k[inside]
    in_gap = rr[k] > GAP_RATIO * median[k]
    clear = (candidates - primary[k] > GAP_MARGIN * median[k]) & (primary[k + 1] - candidates > GAP_MARGIN * median[k])
    return np.union1d(primary, candidates[in_gap & clear])


def _local_qrs(envelope: np.ndarray, beats: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """On one lead: each beat's QRS amplitude, its local median over LOCAL_AMPLITUDE_BEATS beats, and where the lead
    is locally silent (an electrode off: the local median under 5% of the lead's usual amplitude)."""
    amplitude = _window_max(envelope, beats, int(0.05 * fs))
    local = _local_median(amplitude, LOCAL_AMPLITUDE_BEATS)
    return amplitude, local, local <= 0.05 * np.median(amplitude)


def _local_rr(beats: np.ndarray) -> np.ndarray:
    """Each beat's local median R-R (the R-R before it; the first beat takes the one after)."""
    rr = np.diff(beats)
    return _local_median(np.r_[rr[0], rr], LOCAL_AMPLITUDE_BEATS)


def _unseen_early(added: np.ndarray, beats: np.ndarray, envelope: np.ndarray, fs: float) -> np.ndarray:
    """Which of the other lead's beats filled into the primary lead's rhythm gaps sit close to a primary beat
    (SHORT_RATIO x the local median R-R) and show on the primary lead under FILL_FAINT x its beats' local QRS,
    where that lead is not silent: a ventricular beat's T wave, large on V1 (record 208), rather than a beat."""
    if FILL_FAINT <= 0 or len(added) == 0 or len(beats) < 3:
        return np.zeros(len(added), dtype=bool)
    _, local, silent = _local_qrs(envelope, beats, fs)
    after = np.clip(np.searchsorted(beats, added), 0, len(beats) - 1)  # each fill sits between after-1 and after
    before = np.clip(after - 1, 0, len(beats) - 1)
    near = np.minimum(added - beats[before], beats[after] - added) < SHORT_RATIO * _local_rr(beats)[after]
    faint = _window_max(envelope, added, int(0.05 * fs)) < FILL_FAINT * local[after]
    return near & ~silent[after] & faint


def _search_gaps(beats: np.ndarray, envelope: np.ndarray, fs: float) -> np.ndarray:
    """In each R-R of the primary lead too long for the local rhythm, take the largest QRS-band peak well inside
    it as a missed beat, unless it is too faint to be kept (FAINT_RATIO of its neighbours' amplitude)."""
    if len(beats) < 3:
        return beats
    rr = np.diff(beats)
    median = _local_median(rr, LOCAL_BEATS)
    amplitude = _local_qrs(envelope, beats, fs)[1]  # the local median QRS
    found = []
    for k in np.flatnonzero(rr > GAP_RATIO * median):
        start = beats[k] + int(GAP_MARGIN * median[k])
        end = beats[k + 1] - int(GAP_MARGIN * median[k])
        if end > start:
            peak = start + int(np.argmax(envelope[start:end]))
            if envelope[peak] >= FAINT_RATIO * amplitude[k]:
                found.append(peak)
    return np.union1d(beats, np.asarray(found, dtype=np.int64))


def _drop_weak(beats: np.ndarray, envelopes: list[np.ndarray], fs: float) -> np.ndarray:
    """Drop detections whose QRS is weak next to their neighbours' and that break the rhythm, or that are faint
    (P/T waves, noise).

    A lead that is locally flat (an electrode off: its neighbours' amplitude under 5% of its usual) has no say there.
    """
    if len(beats) < 3:
        return beats
    relative = []
    for envelope in envelopes:
        amplitude, local, silent = _local_qrs(envelope, beats, fs)
        relative.append(np.where(silent, np.nan, amplitude / np.where(silent, 1.0, local)))
    relative = np.array(relative)
    heard = ~np.isnan(relative)
    mean = np.where(heard, relative, 0.0).sum(axis=0) / np.maximum(heard.sum(axis=0), 1)
    rr = np.diff(beats)
    nearest = np.minimum(np.r_[rr[0], rr], np.r_[rr, rr[-1]]) / _local_rr(beats)
    weak = (nearest < SHORT_RATIO) & (mean < WEAK_RATIO) & heard.any(axis=0)
    faint = ((~heard | (relative < FAINT_RATIO)).all(axis=0) | (mean < FAINT_MEAN)) & heard.any(axis=0)
    return beats[~(weak | faint)]


def _check(signals, fs, lead) -> np.ndarray:
    signals = np.asarray(signals, dtype=np.float64)
    if signals.ndim == 1:
        signals = signals[:, None]
    if signals.ndim != 2 or signals.shape[0] < signals.shape[1]:
        raise ValueError(
            f"signals has shape {signals.shape}: give one lead as a 1-D array or several as (n_samples, n_leads)."
        )
    if not MIN_FS <= fs <= MAX_FS:
        raise ValueError(f"Sampling rate {fs} Hz is outside {MIN_FS:g}-{MAX_FS:g} Hz: resample the ECG first.")
    if not 0 <= lead < signals.shape[1]:
        raise ValueError(f"Lead {lead} does not exist: the signal has {signals.shape[1]} lead(s), 0 to {signals.shape[1] - 1}.")
    if signals.shape[0] < 2 * fs:
        raise ValueError(f"The ECG is {signals.shape[0] / fs:.2f} s long: beat detection needs at least 2 s.")
    primary = signals[:, lead]
    if not np.isfinite(primary).all():
        raise ValueError(f"Lead {lead} holds NaN or infinite values: fill or cut the gaps first.")
    if np.ptp(primary) == 0:
        raise ValueError(f"Lead {lead} is flat: choose a lead that holds an ECG.")
    return signals


def _usable(signal: np.ndarray) -> bool:
    return bool(np.isfinite(signal).all() and np.ptp(signal) > 0)


def detect_beats(signals, fs: float, lead: int = 0) -> np.ndarray:
    """R-peak positions (int64 samples of the input, sorted, unique) of every heartbeat in an ECG.

    signals: one lead (1-D) or several (n_samples, n_leads), any units; fs: 100-1000 Hz.
    sleepecg's detector (Pan-Tompkins, C backend) runs on the primary lead and on one
    other lead when there is one; each detection moves to its R peak (the largest
    QRS-band deflection within 150 ms, where the MIT-BIH reference annotations sit);
    the other lead's beats fill gaps in the primary lead's rhythm (with one lead, the
    largest QRS-band peak inside such a gap does); detections that are weak next to
    their neighbours and out of rhythm, or faint on every lead or on average over the leads, are dropped.
    """
    signals = _check(signals, fs, lead)
    chunk, overlap = int(CHUNK_S * fs), int(OVERLAP_S * fs)
    if len(signals) <= chunk + 2 * overlap:
        return _detect(signals, fs, lead)
    parts = []
    for core in range(0, len(signals), chunk):
        start = max(0, core - overlap)
        beats = start + _detect(signals[start:core + chunk + overlap], fs, lead)
        parts.append(beats[(beats >= core) & (beats < core + chunk)])
    beats = np.concatenate(parts)
    # A beat on an hour boundary can be found by both hours a sample or two apart: keep the first.
    twice = (np.diff(beats) < int(MERGE_S * fs)) & (beats[:-1] // chunk != beats[1:] // chunk)
    return np.delete(beats, np.flatnonzero(twice) + 1)


def _detect(signals: np.ndarray, fs: float, lead: int) -> np.ndarray:
    """detect_beats on one piece of a checked recording; a piece whose primary lead is flat has no beats."""
    if not _usable(signals[:, lead]):
        return np.empty(0, dtype=np.int64)
    others = [i for i in range(signals.shape[1]) if i != lead and _usable(signals[:, i])][:1]
    beats, envelope = _lead(signals[:, lead], fs)
    envelopes = [envelope]
    for other in others:
        secondary, other_envelope = _lead(signals[:, other], fs)
        # A filled beat is placed on the primary lead's R peak when that lead shows one nearby.
        added = np.setdiff1d(_fill_gaps(beats, secondary), beats)
        added = added[~_unseen_early(added, beats, envelope, fs)]
        placed = _window_argmax(envelope, added, int(0.05 * fs))
        beats = np.union1d(beats, np.where(envelope[placed] > 0, placed, added))
        envelopes.append(other_envelope)
    # Gaps the other lead did not fill (or every gap, with one lead): a second pass finds the second of two
    # missed beats in a row. With two leads too: chosen on DS1 (bench/bench_detect_rules.py, bench/RESULTS.md).
    for _ in range(2):
        beats = _search_gaps(beats, envelope, fs)
    return _drop_weak(beats, envelopes, fs).astype(np.int64)


@dataclass(frozen=True)
class BeatMatch:
    """One-to-one pairing of reference and detected beats (indices into the arrays given to match_beats)."""

    pairs: np.ndarray  # (n, 2) int64: reference index, detected index; ordered by reference index
    missed: np.ndarray  # reference indices with no detection within the tolerance
    extra: np.ndarray  # detected indices with no reference beat within the tolerance

    @property
    def sensitivity(self) -> float:
        n = len(self.pairs) + len(self.missed)
        return len(self.pairs) / n if n else float("nan")

    @property
    def positive_predictivity(self) -> float:
        n = len(self.pairs) + len(self.extra)
        return len(self.pairs) / n if n else float("nan")


def _nearest(sorted_to: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each value, the index of the nearest element of sorted_to (the earlier one on a tie) and its distance."""
    right = np.clip(np.searchsorted(sorted_to, values), 0, len(sorted_to) - 1)
    left = np.clip(right - 1, 0, len(sorted_to) - 1)
    left = np.searchsorted(sorted_to, sorted_to[left])  # the first of equal positions, so ties go to the earliest
    d_left = np.abs(values - sorted_to[left])
    d_right = np.abs(values - sorted_to[right])
    take_left = d_left <= d_right
    return np.where(take_left, left, right), np.where(take_left, d_left, d_right)


def match_beats(reference, detected, fs: float, tolerance_s: float = 0.15) -> BeatMatch:
    """Pair reference and detected beat positions one to one, nearest pairs first, within tolerance_s (EC57: 150 ms).

    Equivalent to taking all pairs within the tolerance in order of distance and
    keeping a pair when neither beat is taken yet; done in rounds of mutual
    nearest neighbours (each round is O(n log n); a few rounds suffice).
    """
    reference = np.asarray(reference, dtype=np.int64).ravel()
    detected = np.asarray(detected, dtype=np.int64).ravel()
    tolerance = tolerance_s * fs
    # Work on sorted copies; the result speaks of the caller's indices.
    ref_order = np.argsort(reference, kind="stable")
    det_order = np.argsort(detected, kind="stable")
    ref_sorted, det_sorted = reference[ref_order], detected[det_order]
    ref_free = np.arange(len(reference))
    det_free = np.arange(len(detected))
    matched_ref, matched_det = [], []
    while len(ref_free) and len(det_free):
        ref_pos, det_pos = ref_sorted[ref_free], det_sorted[det_free]
        det_of_ref, distance = _nearest(det_pos, ref_pos)
        ref_of_det, _ = _nearest(ref_pos, det_pos)
        mutual = (ref_of_det[det_of_ref] == np.arange(len(ref_free))) & (distance <= tolerance)
        if not mutual.any():
            break
        matched_ref.append(ref_free[mutual])
        matched_det.append(det_free[det_of_ref[mutual]])
        ref_free = ref_free[~mutual]
        det_free = np.delete(det_free, det_of_ref[mutual])
    if matched_ref:
        pairs = np.column_stack([ref_order[np.concatenate(matched_ref)], det_order[np.concatenate(matched_det)]])
        pairs = pairs[np.argsort(pairs[:, 0], kind="stable")]
    else:
        pairs = np.empty((0, 2), dtype=np.int64)
    return BeatMatch(
        pairs=pairs.astype(np.int64),
        missed=np.sort(ref_order[ref_free]).astype(np.int64),
        extra=np.sort(det_order[det_free]).astype(np.int64),
    )
