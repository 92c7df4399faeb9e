"""Short recordings: does the look-alike step need a minimum number of beats? Leave one DS1 record out, excerpts.

    .venv/bin/python bench/bench_rhythm_short.py [--mitdb-dir /work/shared/mitdb] [--boot 300]

The look-alike step averages each beat's probabilities with those of its mutual look-alikes (each among the other's
K = 10 nearest) in its recording. It was chosen on half-hour DS1 records (1,500-3,000 beats). In a recording of a
few beats the rule degenerates: with 11 beats every beat is among every other's 10 nearest, so every beat takes half
of the mean of all the others. A 10-second, 12-lead ECG of MIT-BIH record 119 (two V beats among eleven) came back
all N: the V beats' P(abnormal) fell from 0.999 to 0.64, under the threshold. The issue's recordings start at 10 s,
and the CSV reader takes an Apple Watch's 30-second ECG.

Fixed before the run, on DS1 only (no DS2 record is read):

- 22 folds: the served cascade (PARAMS["rhythm"], the served threshold) fitted on the other 21 DS1 records' whole
  reference beats, as training does; the held-out record cut into non-overlapping excerpts of 10, 30 and 60 s from
  its start, each a recording of its own (its reference beats' inputs computed from the excerpt alone; excerpts with
  under 3 beats are left out, as classify-record refuses them);
- rules: the step as served (on every excerpt); skipped in a recording of fewer than N beats, N = 21, 31 or 61
  (2K+1 and more); never. No half-hour record has fewer than 1,500 beats, so none of these changes the step there;
- scored: pooled macro-F1 N,S,V over all excerpts, and S, V Se/+P per excerpt length;
- the best rule replaces the served one only if it beats it in at least 80% of 300 paired resamples of the 22
  records (bench_rhythm_tune.paired_wins), pooled over all excerpt lengths; among rules within 0.002 of the best,
  the smallest N.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bench_rhythm_select import scores_at  # bench/ is on the path when this runs
from bench_rhythm_tune import WIN_SHARE, paired_wins
from pipeline.bundle import load_bundle
from pipeline.dataset import DS1
from pipeline.models import PARAMS, Cascade, average_look_alikes, decide, make_binary, make_multiclass
from pipeline.records import (RECORD_FEATURES, RECORD_MODEL, beat_inputs, read_mitdb_record, record_inputs,
                              reference_beats)

ROOT = Path(__file__).resolve().parent.parent
LENGTHS_S = (10, 30, 60)
RULES = {"as served (always)": 0, "not under 21 beats": 21, "not under 31 beats": 31, "not under 61 beats": 61,
         "never": None}


def excerpts(mitdb_dir, record) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The record cut into excerpts of each length: every reference beat's inputs computed from its excerpt alone,
    its label, its excerpt's id and the excerpt's length."""
    recording = read_mitdb_record(mitdb_dir, record)
    positions, labels = reference_beats(recording)
    fs = int(recording.fs)
    inputs, y, ids, lengths = [], [], [], []
    for length in LENGTHS_S:
        for start in range(0, len(recording.signal) - length * fs + 1, length * fs):
            inside = (positions >= start) & (positions < start + length * fs)
            if inside.sum() < 3:
                continue
            signal = recording.signal[start:start + length * fs]
            inputs.append(beat_inputs(signal, recording.fs, positions[inside] - start))
            y.append(labels[inside])
            ids.append(np.full(inside.sum(), len(ids)))
            lengths.append(np.full(inside.sum(), length))
    return np.vstack(inputs), np.concatenate(y), np.concatenate(ids), np.concatenate(lengths)


def with_rule(proba: np.ndarray, features: np.ndarray, ids: np.ndarray, min_beats: int | None) -> np.ndarray:
    """The look-alike step on each excerpt with at least min_beats beats (None: on none)."""
    if min_beats is None:
        return proba
    counts = np.bincount(ids)
    on = counts[ids] >= min_beats
    out = proba.copy()
    p = PARAMS["rhythm"]
    out[on] = average_look_alikes(proba[on], features[on], p.look_alikes, p.look_alike_weight, ids[on])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb-dir", default="/work/shared/mitdb")
    parser.add_argument("--boot", type=int, default=300)
    args = parser.parse_args()
    p = PARAMS["rhythm"]
    threshold = load_bundle(ROOT / "models", only=(RECORD_MODEL,)).models[RECORD_MODEL].threshold_
    X, y, groups = record_inputs(args.mitdb_dir, DS1)
    predicted = {name: [] for name in RULES}
    truth, records, lengths = [], [], []
    for record in DS1:
        train = groups != record
        cascade = Cascade(make_binary(p, RECORD_FEATURES), make_multiclass(p, RECORD_FEATURES), threshold=threshold)
        cascade.fit(X[train], y[train])
        inputs, labels, ids, excerpt_lengths = excerpts(args.mitdb_dir, record)
        features = cascade.feature_matrix(inputs)
        own = cascade.own_proba(features)
        for name, min_beats in RULES.items():
            predicted[name].append(decide(with_rule(own, features, ids, min_beats), threshold))
        truth.append(labels)
        records.append(np.full(len(labels), record))
        lengths.append(excerpt_lengths)
        print(f"record {record}: {len(np.unique(ids))} excerpts, {len(labels):,} beats", flush=True)
    truth, records, lengths = np.concatenate(truth), np.concatenate(records), np.concatenate(lengths)
    predicted = {name: np.concatenate(given) for name, given in predicted.items()}

    print(f"\nthreshold {threshold}; DS1 records held out one at a time; excerpts of {', '.join(map(str, LENGTHS_S))} s")
    print("\n| look-alike step (LOO-record CV on DS1, excerpts) | excerpts | macro-F1 N,S,V | S Se | S +P | V Se | V +P |")
    print("|---|---|---|---|---|---|---|")
    scores = {}
    for name, given in predicted.items():
        for length in (*LENGTHS_S, None):
            part = slice(None) if length is None else lengths == length
            r = scores_at(truth[part], given[part])
            if length is None:
                scores[name] = r["macro_f1_nsv"]
            print(f"| {name} | {'all' if length is None else f'{length} s'} | {r['macro_f1_nsv']:.3f} | "
                  f"{r['S_se']:.1%} | {r['S_ppv']:.1%} | {r['V_se']:.1%} | {r['V_ppv']:.1%} |")
    best_score = max(scores.values())
    served = "as served (always)"
    ranked = [name for name in RULES if name != served and scores[name] >= best_score - 0.002]
    best = ranked[0] if ranked else served
    if best == served:
        print("\nthe served rule is the best: it stays")
        return
    share = paired_wins(truth, records, predicted[best], predicted[served], args.boot, p.seed)
    print(f"\nbest: {best} (macro-F1 {scores[best]:.3f} against {scores[served]:.3f}); it wins {share:.0%} of "
          f"{args.boot} paired record resamples: {'serve it' if share >= WIN_SHARE else 'the served rule stays'}")


if __name__ == "__main__":
    main()
