"""Classify every heartbeat of a recording: find the beats, cut them as the models' rows, add the rhythm, label them.

One function, `classify_recording`, serves the CLI (`classify-record`), the
evaluation on DS2 and the dashboard's Recording page. Positions are kept in
the input's own samples; the 360 Hz copy the rows are cut from is internal.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv
from numpy.lib.stride_tricks import sliding_window_view

from pipeline.dataset import cut_rows
from pipeline.detect import detect_beats, match_beats
from pipeline.evaluate import score_reliability
from pipeline.models import decide, min_look_alike_beats, mutual_look_alikes
from pipeline.recording import Recording, RecordingWarning, to_model_rate
from pipeline.rhythm import (
    IRREGULARITY_FEATURE_NAMES,
    MORPHOLOGY_FEATURE_NAMES,
    RHYTHM_FEATURE_NAMES,
    irregularity_features,
    morphology_features,
    rhythm_features,
)
from pipeline.vocabulary import AAMI, CLASSES

MODEL_RATE = 360.0  # the MIT-BIH rate the rows are cut from (every third sample: 120 Hz)
BEAT_SOURCES = ("detect", "annotations")
RECORD_MODEL = "rhythm"  # the bundle's rhythm-aware cascade
# What a beat of a recording carries beyond its row: rhythm, shape relative to the recording's median beat,
# and irregularity (chosen by CV on DS1 grouped by record: bench/bench_rhythm.py, bench/bench_rhythm_select.py).
RECORD_FEATURES = RHYTHM_FEATURE_NAMES + MORPHOLOGY_FEATURE_NAMES + IRREGULARITY_FEATURE_NAMES
# Below this median correlation of the beats' QRS with the recording's median beat, the beats found do not look
# alike: noise or a lead that is not an ECG. Every whole MIT-BIH record is above 0.69 (108; 200: 0.74); of its
# 1,440 one-minute stretches 3 fall below 0.5 (108 and 207, their noisiest minutes); ten minutes of white
# noise gave 0.24, brown noise 0.48, mains hum 0.21.
MIN_BEAT_LIKENESS = 0.5
# Under this length a recording shows little of the patient's own rhythm and beat, which the rhythm features compare
# each beat with. On held-out DS1 records cut into pieces (bench/bench_rhythm_short.py): 10-s pieces S Se 36% / +P 35%,
# V 76% / 81%; 60-s pieces S 46 / 56, V 82 / 83; half-hour records S 71 / 65, V 87 / 85.
SHORT_RECORDING_S = 60.0
# Leads named as a standard lead other than II: their beats are shaped unlike the MLII beats the models learnt
# from. A name that says nothing ("ECG", "CH1") is not judged.
_OTHER_LEAD = re.compile(r"^(?:lead|ecg|ekg)?[\s_-]*(?:i|iii|avr|avl|avf|v[1-6]|mliii|ml ?i)$", re.IGNORECASE)
_LEAD_II = re.compile(r"^(?:lead|ecg|ekg)?[\s_-]*(?:ii|ml ?ii)$", re.IGNORECASE)
# Above this share of beats whose QRS points down, a lead named II looks upside down (electrodes swapped). Every
# MIT-BIH MLII lead is under it as recorded (207, bundle branch blocks: 0.875; then 117: 0.54); turned over, 39 of
# the 48 are above it, beats as detected. The detector misses beats in some upside-down leads (bench/bench_inverted.py).
UPSIDE_DOWN_SHARE = 0.9


class RecordError(ValueError):
    """The recording cannot be classified as asked; the message says what to fix."""


@dataclass
class RecordResult:
    name: str
    table: pd.DataFrame  # one row per beat: sample, time_s, rr_pre_s, predicted_label, predicted_class, p_N..p_Q
    summary: dict
    reference: dict | None  # Se / +P per class against the annotations, when the recording has them
    features: np.ndarray | None = None  # (beats, len(RECORD_FEATURES)): each beat's inputs after its row


LOOK_ALIKE_STRETCH_S = 1800.0  # a beat's look-alikes are sought in its half hour of the recording (stretches())
SNAP_SAMPLES = 3  # +-8 ms at 360 Hz: where a detected beat's row may start, around the detected R peak


def snap_to_peak(signal: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Each start moved to the largest deflection (from its 100 ms mean) within +-SNAP_SAMPLES of it.

    A beat detected at 250 Hz is known only to 4 ms; snapping on the 360 Hz signal puts its
    row on the same sample as the same beat detected in a 360 Hz file, so the classes agree.
    """
    half, context = SNAP_SAMPLES, 18
    if len(signal) < 2 * context + 1 or not len(starts):
        return starts
    centres = np.clip(starts, context, len(signal) - context - 1)
    windows = sliding_window_view(signal, 2 * context + 1)[centres - context]
    near = windows[:, context - half:context + half + 1]
    deflection = np.abs(near - windows.mean(axis=1, keepdims=True))
    return centres - half + deflection.argmax(axis=1)


def beat_inputs(signal: np.ndarray, fs: float, positions: np.ndarray, snap: bool = False) -> np.ndarray:
    """The rhythm-aware cascade's input for each beat: its Kaggle-format row, then RECORD_FEATURES.

    signal: one lead at `fs`; positions: the beats' R peaks in the same samples, sorted.
    Each row runs from its R peak for 1.2 x the interval to the next beat (the last beat
    borrows the interval before it), as the training rows were cut from the reference beats.
    """
    positions = np.asarray(positions, dtype=np.int64)
    at_model_rate = to_model_rate(signal, fs)
    starts = np.round(positions * (MODEL_RATE / fs)).astype(np.int64)
    if snap:
        starts = snap_to_peak(at_model_rate, starts)
    to_next = np.diff(starts)
    to_next = np.append(to_next, to_next[-1] if len(to_next) else int(MODEL_RATE))
    lengths = np.clip(-((-2 * to_next) // 5), 2, None)  # ceil(1.2 * interval / 3), as dataset.segment_lengths
    rows = cut_rows(at_model_rate, starts, lengths)
    # The rhythm is read off the same 360 Hz R peaks the rows start at, so one recording at two rates
    # gives its beats the same intervals (to a sample at 360 Hz), not each rate's own rounding.
    return np.hstack([rows, rhythm_features(starts, MODEL_RATE), morphology_features(rows),
                      irregularity_features(starts, MODEL_RATE)], dtype=np.float32)


def share_pointing_down(signal: np.ndarray, fs: float, positions: np.ndarray, most: int = 2000) -> float:
    """The share of beats (up to `most`, evenly spread, not within 250 ms of an end) whose largest QRS deflection,
    within 60 ms of the beat and measured from the level over +-250 ms, is negative. Views of the signal only: no
    copy of a long recording."""
    qrs, level = int(0.06 * fs), int(0.25 * fs)
    inside = positions[(positions >= level) & (positions < len(signal) - level)]
    if not len(inside):
        return 0.0
    chosen = inside[np.linspace(0, len(inside) - 1, min(most, len(inside))).astype(np.int64)]
    windows = sliding_window_view(signal, 2 * level + 1)[chosen - level]
    deflection = windows[:, level - qrs:level + qrs + 1] - np.median(windows, axis=1, keepdims=True)
    return float(np.mean(-deflection.min(axis=1) > deflection.max(axis=1)))


def reference_beats(recording: Recording) -> tuple[np.ndarray, np.ndarray]:
    """The recording's annotated beats (positions in its own samples) and their AAMI labels."""
    if recording.reference is None:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    symbols = np.asarray(recording.reference.symbols, dtype=object)
    is_beat = np.array([s in AAMI for s in symbols], dtype=bool)
    labels = np.array([AAMI[s] for s in symbols[is_beat]], dtype=np.int64)
    return np.asarray(recording.reference.samples, dtype=np.int64)[is_beat], labels


def record_model(bundle):
    """The bundle's rhythm-aware cascade, or a sentence saying how to get one."""
    if RECORD_MODEL not in bundle.models:
        raise RecordError("This model bundle has no rhythm-aware cascade: train one from the MIT-BIH records "
                          "(python -m pipeline train --mitdb-dir DIR).")
    return bundle.models[RECORD_MODEL]


def classify_recording(recording: Recording, model, beats: str = "detect") -> RecordResult:
    """Every beat of the recording with its class and probabilities, a summary, and the reference comparison.

    model: a fitted rhythm-aware Cascade (`record_model(bundle)`); beats: "detect" (default,
    even when annotations are there) or "annotations" (the reference positions).
    """
    if beats not in BEAT_SOURCES:
        raise RecordError(f"--beats must be one of {', '.join(BEAT_SOURCES)}, not '{beats}'.")
    ref_positions, ref_labels = reference_beats(recording)
    if beats == "annotations":
        if not len(ref_positions):
            raise RecordError(f"'{recording.name}' has no beat annotations: use --beats detect, or put its .atr "
                              "file beside the record.")
        positions = ref_positions
    else:
        # The second lead the detector consults must be an ECG too: a sample-index or respiration column
        # would fill gaps in the rhythm with beats of its own.
        leads = recording.ecg_leads
        signals = recording.signals if len(leads) == recording.signals.shape[1] else recording.signals[:, leads]
        positions = detect_beats(signals, recording.fs, leads.index(recording.lead))
    if len(positions) < 3:
        raise RecordError(f"Only {len(positions)} heartbeats were found in '{recording.name}': check that the "
                          "chosen lead is an ECG (--lead) and the sampling rate is right (--fs).")
    inputs = beat_inputs(recording.signal, recording.fs, positions, snap=beats == "detect")
    features = inputs[:, -len(RECORD_FEATURES):]
    likeness = float(np.median(features[:, RECORD_FEATURES.index("morph_corr_qrs")]))
    if likeness < MIN_BEAT_LIKENESS:
        warnings.warn(f"The {len(positions):,} beats found in '{recording.name}' do not look alike (their QRS "
                      f"correlates with the recording's median beat at {likeness:.2f}, where ECG leads give over "
                      f"{MIN_BEAT_LIKENESS:g}): the lead may be noise or not an ECG, so check the strip and the lead "
                      "before trusting the labels.", RecordingWarning, stacklevel=2)
    if recording.duration_s < SHORT_RECORDING_S:
        warnings.warn(f"'{recording.name}' is {recording.duration_s:.0f} s long: each beat's rhythm and shape are "
                      "judged against the recording's own, which a short recording shows little of, so trust its "
                      "classes less (on patients it was not trained on, in 10- to 60-second pieces it found 76-82% of "
                      "V beats and 36-46% of S beats, against 87% and 71% in half-hour records); a few minutes or "
                      "more is better.", RecordingWarning, stacklevel=2)
    lead = recording.lead_names[recording.lead]
    if _OTHER_LEAD.match(lead.strip()):
        lead_ii = next((name for name in recording.lead_names if _LEAD_II.match(name.strip())), None)
        choose = f"choose its {_lead_phrase(lead_ii)} instead" if lead_ii else "choose its lead II if it has one"
        warnings.warn(f"'{recording.name}' is classified on {_lead_phrase(lead)}; the models learnt from lead MLII "
                      f"(a lead II), and other leads shape beats differently, so trust its classes less, or {choose}.",
                      RecordingWarning, stacklevel=2)
    elif _LEAD_II.match(lead.strip()):
        down = share_pointing_down(recording.signal, recording.fs, positions)
        if down > UPSIDE_DOWN_SHARE:
            warnings.warn(f"The QRS of lead {lead} of '{recording.name}' points down in {down:.0%} of its beats, where "
                          "a lead II's points up in most people: if the lead is upside down (electrodes swapped, or "
                          "turned when it was not), turn it over (classify-record --invert, or the Recording page's "
                          "switch), as the detector misses beats in some upside-down leads.",
                          RecordingWarning, stacklevel=2)
    proba = model.predict_proba(inputs, groups=stretches(positions, recording.fs, recording.duration_s))
    predicted = decide(proba, model.threshold_)
    table = beat_table(positions, recording.fs, predicted, proba)
    reference = None
    if len(ref_positions):
        reference = score_beats(ref_positions, ref_labels, positions, predicted, recording.fs)
        if beats == "annotations":
            table["reference_class"] = np.asarray(CLASSES)[ref_labels]
    return RecordResult(name=recording.name, table=table, summary=summarize(table, recording.duration_s),
                        reference=reference, features=features.copy())


def _lead_phrase(name: str) -> str:
    """'lead V1', but 'Lead I' as it is for a lead whose name says so already (Apple Health's export)."""
    return name if name.strip().lower().startswith("lead") else f"lead {name}"


def stretches(positions: np.ndarray, fs: float, duration_s: float) -> np.ndarray:
    """Each beat's stretch of the recording where its look-alikes are sought: the recording cut into equal stretches
    of about LOOK_ALIKE_STRETCH_S (one for a recording under 45 minutes, as the half-hour records the averaging
    was chosen on; 48 for a day), so the search stays small and a patient's beats are compared within the hour."""
    count = max(1, round(duration_s / LOOK_ALIKE_STRETCH_S))
    return np.minimum((np.asarray(positions) / fs) // (duration_s / count), count - 1).astype(np.int64)


def look_alikes_of(model, features: np.ndarray, positions: np.ndarray, fs: float, duration_s: float,
                   index: int) -> np.ndarray | None:
    """The beats (indices in the recording) whose probabilities the cascade averaged into beat `index`'s: its mutual
    look-alikes in its stretch of the recording, as classify_recording found them (features: RecordResult.features).
    None when none were sought: the cascade has no look-alike step, or the stretch has too few beats for it."""
    groups = stretches(positions, fs, duration_s)
    beats = np.flatnonzero(groups == groups[index])
    if not model.look_alikes or len(beats) < min_look_alike_beats(model.look_alikes):
        return None
    nearest, mutual = mutual_look_alikes(features[beats], model.look_alikes)
    here = int(np.searchsorted(beats, index))
    return beats[nearest[here][mutual[here]]]


def class_scores(table: pd.DataFrame) -> np.ndarray:
    """Each beat's score for the class it was given (its p_ column of that class)."""
    proba = table[[f"p_{c}" for c in CLASSES]].to_numpy()
    return proba[np.arange(len(table)), table["predicted_label"].to_numpy()]


def beat_table(positions: np.ndarray, fs: float, predicted: np.ndarray, proba: np.ndarray) -> pd.DataFrame:
    rr_pre = np.diff(positions, prepend=np.nan) / fs
    table = pd.DataFrame({
        "sample": positions.astype(np.int64),
        "time_s": np.round(positions / fs, 4),
        "rr_pre_s": np.round(rr_pre, 4),
        "predicted_label": predicted.astype(int),
        "predicted_class": np.asarray(CLASSES)[predicted],
    })
    for i, name in enumerate(CLASSES):
        table[f"p_{name}"] = proba[:, i].round(6)
    return table


def write_table(table: pd.DataFrame, destination) -> None:
    """A beat table as CSV (a path or a binary file object): what classify-record and the dashboard's download write.

    pyarrow's writer, not pandas': about four times faster on a recording's table and it releases the GIL,
    so recordings classified on threads write at once. No quotes (the table holds numbers and class
    letters); a missing value (the first beat's rr_pre_s) is an empty field.
    """
    pyarrow.csv.write_csv(pa.Table.from_pandas(table, preserve_index=False), destination,
                          pyarrow.csv.WriteOptions(quoting_style="none", quoting_header="none"))


def _runs(labels: np.ndarray, label: int) -> np.ndarray:
    """Lengths of the runs of consecutive beats of one class."""
    is_class = np.concatenate([[False], labels == label, [False]])
    edges = np.flatnonzero(np.diff(is_class.astype(np.int8)))
    return edges[1::2] - edges[::2]


def summarize(table: pd.DataFrame, duration_s: float) -> dict:
    """What a Holter summary says: beats per class, heart rate, ectopic beats per hour, runs of ectopic beats."""
    labels = table["predicted_label"].to_numpy()
    rr = table["rr_pre_s"].to_numpy()[1:]
    rr = rr[(rr > 0.2) & (rr < 3.0)]  # physiological intervals only, so a detection gap does not read as 20 bpm
    hr = 60.0 / rr if len(rr) else np.array([np.nan])
    hours = duration_s / 3600.0
    v_runs, s_runs = _runs(labels, 2), _runs(labels, 1)
    counts = {c: int(np.sum(labels == i)) for i, c in enumerate(CLASSES)}
    return {
        "beats": int(len(labels)),
        "duration_s": float(duration_s),
        "counts": counts,
        "mean_hr_bpm": float(np.nanmean(hr)),
        "min_hr_bpm": float(np.nanmin(hr)),
        "max_hr_bpm": float(np.nanmax(hr)),
        "ectopic_per_hour": {c: counts[c] / hours for c in ("S", "V")} if hours > 0 else {},
        "v_couplets": int(np.sum(v_runs == 2)),
        "v_triplets": int(np.sum(v_runs == 3)),
        "v_runs_longer": int(np.sum(v_runs > 3)),
        "s_runs": int(np.sum(s_runs >= 3)),
    }


def score_beats(ref_positions, ref_labels, positions, predicted, fs: float) -> dict:
    """EC57-style comparison with the reference beats.

    Beats are matched within 150 ms. A missed reference beat counts against its class's
    Se (it lands in a "missed" column); an extra detection counts against the +P of the
    class it was given (an "extra" row). Rows: reference class, then "extra";
    columns: predicted class, then "missed".
    """
    match = match_beats(ref_positions, positions, fs)
    k = len(CLASSES)
    cm = np.zeros((k + 1, k + 1), dtype=np.int64)
    matched_ref, matched_det = match.pairs[:, 0], match.pairs[:, 1]
    np.add.at(cm, (ref_labels[matched_ref], predicted[matched_det]), 1)
    np.add.at(cm, (ref_labels[match.missed], k), 1)
    np.add.at(cm, (k, predicted[match.extra]), 1)
    return scores_from_matrix(cm) | {"detection": {
        "reference_beats": int(len(ref_positions)), "detected_beats": int(len(positions)),
        "matched": int(len(match.pairs)), "missed": int(len(match.missed)), "extra": int(len(match.extra)),
        "sensitivity": match.sensitivity, "positive_predictivity": match.positive_predictivity,
        "missed_samples": np.asarray(ref_positions)[match.missed].tolist(),
        "extra_samples": np.asarray(positions)[match.extra].tolist(),
    }}


def scores_from_matrix(cm: np.ndarray) -> dict:
    """Per-class Se, +P, F1 from a (k+1) x (k+1) matrix with the missed column and the extra row."""
    k = len(CLASSES)
    tp = np.diag(cm)[:k].astype(float)
    reference = cm[:k, :].sum(axis=1).astype(float)  # every reference beat, missed ones included
    given = cm[:, :k].sum(axis=0).astype(float)  # every beat given the class, extra detections included
    se = np.divide(tp, reference, out=np.zeros(k), where=reference > 0)
    ppv = np.divide(tp, given, out=np.zeros(k), where=given > 0)
    f1 = np.divide(2 * se * ppv, se + ppv, out=np.zeros(k), where=(se + ppv) > 0)
    per_class = {c: {"sensitivity": float(se[i]), "positive_predictivity": float(ppv[i]), "f1": float(f1[i]),
                     "reference": int(reference[i]), "given": int(given[i])} for i, c in enumerate(CLASSES)}
    return {
        "labels": [*CLASSES, "missed/extra"],
        "confusion_matrix": cm.tolist(),
        "per_class": per_class,
        "macro_f1_nsvf": float(np.mean(f1[:4])),
        "macro_f1_nsv": float(np.mean(f1[:3])),
    }



def read_mitdb_record(mitdb_dir, record: str) -> Recording:
    """One MIT-BIH record through the same reader users' WFDB files go through (default lead: MLII)."""
    from pathlib import Path

    from pipeline.recording import read_recording

    return read_recording(Path(mitdb_dir) / f"{record}.hea")


def record_inputs(mitdb_dir, records, progress=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training data for the rhythm-aware cascade: every reference beat of the records, cut as served beats are."""
    parts, labels, groups = [], [], []
    for record in records:
        recording = read_mitdb_record(mitdb_dir, record)
        positions, record_labels = reference_beats(recording)
        parts.append(beat_inputs(recording.signal, recording.fs, positions))
        labels.append(record_labels)
        groups.append(np.full(len(positions), record))
        if progress:
            progress(f"record {record}: {len(positions):,} beats")
    return np.vstack(parts), np.concatenate(labels), np.concatenate(groups)


def reference_of_beats(recording: Recording, positions: np.ndarray) -> np.ndarray:
    """Each beat's reference class, from the annotation it matches within 150 ms (EC57), or -1 if it matches none."""
    ref_positions, ref_labels = reference_beats(recording)
    match = match_beats(ref_positions, positions, recording.fs)
    reference = np.full(len(positions), -1)
    reference[match.pairs[:, 1]] = ref_labels[match.pairs[:, 0]]
    return reference


def evaluate_records(model, mitdb_dir, records, progress=None) -> dict:
    """The field's evaluation on test records: reference beat positions, and detected beats matched as in EC57;
    and what the scores of detected beats mean (score_reliability)."""
    k = len(CLASSES)
    totals = {"annotations": np.zeros((k + 1, k + 1), np.int64), "detect": np.zeros((k + 1, k + 1), np.int64)}
    per_record = {}
    given, scores, truth = [], [], []
    for record in records:
        recording = read_mitdb_record(mitdb_dir, record)
        row = {}
        for beats in BEAT_SOURCES:
            result = classify_recording(recording, model, beats)
            scored = result.reference
            totals[beats] += np.asarray(scored["confusion_matrix"])
            if beats == "detect":
                given.append(result.table["predicted_label"].to_numpy())
                scores.append(class_scores(result.table))
                truth.append(reference_of_beats(recording, result.table["sample"].to_numpy()))
            s = scored["per_class"]["S"]
            row[beats] = {"S_reference": s["reference"], "S_sensitivity": s["sensitivity"],
                          "V_sensitivity": scored["per_class"]["V"]["sensitivity"],
                          "detection_sensitivity": scored["detection"]["sensitivity"],
                          "detection_positive_predictivity": scored["detection"]["positive_predictivity"]}
        per_record[record] = row
        if progress:
            progress(f"record {record}: S Se {row['detect']['S_sensitivity']:.2f} of {row['detect']['S_reference']} "
                     f"(detected beats)")
    return {"reference_beats": scores_from_matrix(totals["annotations"]),
            "detected_beats": scores_from_matrix(totals["detect"]),
            "per_record": per_record,
            "score_reliability": score_reliability(np.concatenate(given), np.concatenate(scores), np.concatenate(truth))}
