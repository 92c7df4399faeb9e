"""The rhythm-aware cascade's second selection round: leave-one-record-out CV on DS1 only.

    .venv/bin/python bench/bench_rhythm_select.py [--mitdb-dir /work/shared/mitdb] [--boot 300]

bench/bench_rhythm.py chose the first rhythm-aware cascade (row features + rhythm +
morphology) by 5-fold CV on DS1. On DS2 it found 42% of S beats at +P 27%: most of its
S calls were beats of atrial fibrillation, and the 187 row samples (each patient's own
beat shapes) let it learn the DS1 patients rather than the rules. This round asks, on
DS1 alone, whether to drop the row features and what to add instead:

- candidates are sets of a beat's inputs, all from pipeline.records.beat_inputs on the
  reference beats of the 22 DS1 records (no DS2 record is read);
- each is scored by leave-one-record-out CV (22 folds, pipeline.rhythm.ds1_folds): both
  stages fitted on 21 records (pipeline.models.make_binary / make_multiclass with the
  served PARAMS["rhythm"], SMOTE inside each fold), the held-out record predicted;
- the score is the macro-F1 over N, S, V of the pooled held-out predictions at the
  candidate's best threshold on the served grid (what Cascade's "macro_f1_nsv" does);
- a bootstrap over the 22 records (resampled with replacement, --boot times) says how
  often each candidate would win: a candidate that wins only by one record's luck is
  not a choice.

Two candidates divide the R-R intervals by the record's mean R-R instead of its median
(the literature's usual normalisation), and two add the P wave before the R peak against
the recording's median one (atrial_features below); both are computed here only, from
the same beats, because neither was chosen. The winner is what PARAMS["rhythm"] and
pipeline.records.RECORD_FEATURES serve. Results: bench/rhythm_select.json.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from pipeline.dataset import DS1  # noqa: E402
from pipeline.models import PARAMS, decide, held_out_proba, macro_f1_nsv, make_binary, make_multiclass  # noqa: E402
from numpy.lib.stride_tricks import sliding_window_view  # noqa: E402

from pipeline.recording import to_model_rate  # noqa: E402
from pipeline.records import (MODEL_RATE, RECORD_FEATURES, read_mitdb_record, record_inputs,  # noqa: E402
                              reference_beats)
from pipeline.rhythm import (IRREGULARITY_FEATURE_NAMES, MORPHOLOGY_FEATURE_NAMES,  # noqa: E402
                             RHYTHM_FEATURE_NAMES, ds1_folds)
from pipeline.vocabulary import N_SAMPLES  # noqa: E402

RR_BY_MEDIAN = ("rr_pre_rel", "rr_post_rel", "rr_local_rel", "rr_long_rel")  # divided by the record's median R-R
# The P wave is read off the signal, not the row: a row starts at the R peak, after the P wave.
P_WAVE_S = (-0.25, -0.06)  # before the R peak: the P wave of a normal PR interval, short of the QRS
PR_S = (-0.25, 0.05)  # the P wave through the start of the QRS
ATRIAL_FEATURE_NAMES = (
    "p_wave_corr",  # correlation of the stretch before the R peak with the recording's median stretch
    "p_wave_spread",  # that stretch's standard deviation / the recording's median one
    "pr_corr",  # the same correlation from the P wave through the start of the QRS
)


def _correlation_with_median(windows: np.ndarray) -> np.ndarray:
    centred = windows - windows.mean(axis=1, keepdims=True)
    template = np.median(centred, axis=0)
    template = template - template.mean()
    denominator = np.sqrt((centred * centred).sum(axis=1) * (template * template).sum())
    return np.divide(centred @ template, denominator, out=np.zeros(len(windows), dtype=np.float32),
                     where=denominator > 0)


def atrial_features(signal: np.ndarray, r_samples: np.ndarray, fs: float) -> np.ndarray:
    """The P wave before each R peak against the recording's typical one -> (n, len(ATRIAL_FEATURE_NAMES)) float32.

    An S beat starts in the atria away from the sinus node: its P wave is early, shaped
    differently or hidden in the T wave before it, so the stretch before its R peak differs
    from the patient's usual one. Comparing with the recording's median stretch keeps this
    relative to the patient, as the rhythm features are.
    """
    r_samples = np.asarray(r_samples, dtype=np.int64)
    out = np.zeros((len(r_samples), len(ATRIAL_FEATURE_NAMES)), dtype=np.float32)
    if len(r_samples) == 0:
        return out
    first, last = (int(round(t * fs)) for t in PR_S)
    p_stop = int(round(P_WAVE_S[1] * fs)) - first
    padded = np.pad(np.asarray(signal, dtype=np.float32), (-first, last), mode="edge")
    windows = sliding_window_view(padded, last - first)[np.clip(r_samples, 0, len(signal) - 1)]
    p_wave = windows[:, :p_stop]
    spread = p_wave.std(axis=1)
    out[:, 0] = _correlation_with_median(p_wave)
    out[:, 1] = spread / max(float(np.median(spread)), 1e-6)
    out[:, 2] = _correlation_with_median(windows)
    return out


RHYTHM_MORPHOLOGY = RHYTHM_FEATURE_NAMES + MORPHOLOGY_FEATURE_NAMES
CANDIDATES = {  # name: (row features?, extra columns, R-R divided by the record's mean?)
    "rows + rhythm + morphology (first round, served before)": (True, RHYTHM_MORPHOLOGY, False),
    "rhythm + morphology": (False, RHYTHM_MORPHOLOGY, False),
    "rhythm + morphology + irregularity": (False, RHYTHM_MORPHOLOGY + IRREGULARITY_FEATURE_NAMES, False),
    "rhythm + morphology + P wave": (False, RHYTHM_MORPHOLOGY + ATRIAL_FEATURE_NAMES, False),
    "rhythm + morphology + irregularity + P wave": (
        False, RHYTHM_MORPHOLOGY + IRREGULARITY_FEATURE_NAMES + ATRIAL_FEATURE_NAMES, False),
    "rhythm + morphology + irregularity, R-R / the record's mean": (
        False, RHYTHM_MORPHOLOGY + IRREGULARITY_FEATURE_NAMES, True),
    "rhythm + morphology + irregularity + P wave, R-R / the record's mean": (
        False, RHYTHM_MORPHOLOGY + IRREGULARITY_FEATURE_NAMES + ATRIAL_FEATURE_NAMES, True),
}


def per_record_extras(mitdb_dir, records) -> tuple[np.ndarray, np.ndarray]:
    """Per beat: the P-wave features (cut as beat_inputs cuts rows), and its record's median R-R / mean R-R
    (which turns an R-R divided by the median into one divided by the mean)."""
    atrial, ratio = [], []
    for record in records:
        recording = read_mitdb_record(mitdb_dir, record)
        positions, _ = reference_beats(recording)
        starts = np.round(positions * (MODEL_RATE / recording.fs)).astype(np.int64)
        atrial.append(atrial_features(to_model_rate(recording.signal, recording.fs), starts, MODEL_RATE))
        rr = np.diff(positions)
        ratio.append(np.full(len(positions), np.median(rr) / rr.mean()))
    return np.vstack(atrial), np.concatenate(ratio)


def candidate_inputs(X: np.ndarray, atrial: np.ndarray, extra: tuple[str, ...], ratio: np.ndarray | None
                     ) -> np.ndarray:
    """The beats' rows, then the candidate's extra columns (from RECORD_FEATURES, or the P-wave features)."""
    columns = [X[:, N_SAMPLES + RECORD_FEATURES.index(name)] if name in RECORD_FEATURES
               else atrial[:, ATRIAL_FEATURE_NAMES.index(name)] for name in extra]
    out = np.column_stack([X[:, :N_SAMPLES], *columns]).astype(np.float32)
    if ratio is not None:
        for name in RR_BY_MEDIAN:
            out[:, N_SAMPLES + extra.index(name)] *= ratio
    return out


def scores_at(y: np.ndarray, predicted: np.ndarray) -> dict:
    out = {"macro_f1_nsv": macro_f1_nsv(y, predicted)}
    for label, name in ((1, "S"), (2, "V")):
        tp = int(np.sum((predicted == label) & (y == label)))
        out[f"{name}_se"] = tp / max(int(np.sum(y == label)), 1)
        out[f"{name}_ppv"] = tp / max(int(np.sum(predicted == label)), 1)
    return out


def ds1_run(doc: str):
    """The command line these DS1 benches share, and what each reads: every DS1 reference beat's inputs, labels,
    records, and the leave-one-record-out folds."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--mitdb-dir", default="/work/shared/mitdb")
    parser.add_argument("--boot", type=int, default=300)
    args = parser.parse_args()
    X, y, groups = record_inputs(args.mitdb_dir, DS1)
    return args, X, y, groups, ds1_folds(groups, len(DS1))


def main() -> None:
    args, X, y, groups, folds = ds1_run(__doc__)
    p = PARAMS["rhythm"]
    atrial, ratio = per_record_extras(args.mitdb_dir, DS1)
    results, predictions = {}, {}
    for name, (rows, extra, by_mean) in CANDIDATES.items():
        started = time.perf_counter()
        q = replace(p, row_features=rows)
        inputs = candidate_inputs(X, atrial, extra, ratio if by_mean else None)
        proba = held_out_proba(make_binary(q, extra), make_multiclass(q, extra), inputs, y, folds)
        by_threshold = [macro_f1_nsv(y, decide(proba, t)) for t in p.threshold_grid]
        threshold = p.threshold_grid[int(np.argmax(by_threshold))]
        predictions[name] = decide(proba, threshold)
        results[name] = {"threshold": threshold, **scores_at(y, predictions[name]),
                         "seconds": round(time.perf_counter() - started, 1)}
        r = results[name]
        print(f"{name}: t={threshold} macro-F1 NSV {r['macro_f1_nsv']:.3f}  S {r['S_se']:.3f}/{r['S_ppv']:.3f}  "
              f"V {r['V_se']:.3f}/{r['V_ppv']:.3f}  ({r['seconds']} s)", flush=True)

    rng = np.random.default_rng(p.seed)
    records = np.unique(groups)
    where = {r: np.flatnonzero(groups == r) for r in records}
    wins = dict.fromkeys(CANDIDATES, 0)
    for _ in range(args.boot):
        beats = np.concatenate([where[r] for r in rng.choice(records, len(records))])
        score = {name: macro_f1_nsv(y[beats], predicted[beats]) for name, predicted in predictions.items()}
        wins[max(score, key=score.get)] += 1
    for name in CANDIDATES:
        results[name]["bootstrap_wins"] = wins[name] / args.boot

    print("\n| candidate (LOO-record CV on DS1) | threshold | macro-F1 N,S,V | S Se | S +P | V Se | V +P | "
          "bootstrap wins |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['threshold']} | {r['macro_f1_nsv']:.3f} | {r['S_se']:.1%} | {r['S_ppv']:.1%} | "
              f"{r['V_se']:.1%} | {r['V_ppv']:.1%} | {r['bootstrap_wins']:.0%} |")
    out = {"machine": platform.node(), "params": p.to_dict(), "folds": "leave one DS1 record out (22)",
           "boot": args.boot, "candidates": results}
    (ROOT / "bench" / "rhythm_select.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
