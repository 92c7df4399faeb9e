"""A candidate for the rhythm-aware cascade: beat shapes against the patient's median *non-premature* beat.

    .venv/bin/python bench/bench_rhythm_normal_template.py [--mitdb-dir /work/shared/mitdb] [--boot 300]

The six served shape features (pipeline.rhythm.morphology_features) compare each beat with the recording's median
row over all its beats, taken for the patient's normal beat. Where ectopic beats are many (DS1's 106: a quarter of
its beats are V, most in bigeminy; on its held-out fold 142 of its 520 V beats are called S) the median is a blend.
Holter software builds the patient's normal template from beats that are not premature. The candidate takes the
median row over the beats whose pre-R-R is at least PREMATURE of the local average R-R (served feature
rr_pre_local), all beats if fewer than MIN_BEATS are, and computes the same six features against it, in place of
the served six. Fixed before the run (no grid): PREMATURE = 0.9, MIN_BEATS = 10.

Scored against the served cascade as it is now (served PARAMS["rhythm"], its look-alike step on each held-out record
over the inputs the candidate reads), leave one DS1 record out, pooled macro-F1 N,S,V at the best threshold of the
served grid; served only if it wins at least 80% of 300 paired record resamples and, in every DS1 record where the
served cascade finds fewer than 20 S (or V) beats, finds at most one fewer (bench_rhythm_neighbours.guard).
No DS2 record is read.
"""
from __future__ import annotations

import numpy as np

from bench_rhythm_mean import score_candidate, verdict  # bench/ is on the path when this runs
from bench_rhythm_select import ds1_run
from pipeline.records import RECORD_FEATURES
from pipeline.rhythm import MORPHOLOGY_FEATURE_NAMES, morphology_features
from pipeline.vocabulary import N_SAMPLES

PREMATURE = 0.9
MIN_BEATS = 10


def normal_template_inputs(X: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The served 19 inputs with the six shape features taken against each record's median non-premature beat."""
    out = X[:, N_SAMPLES:].copy()
    shape = [RECORD_FEATURES.index(name) for name in MORPHOLOGY_FEATURE_NAMES]
    pre_local = X[:, N_SAMPLES + RECORD_FEATURES.index("rr_pre_local")]
    for record in np.unique(groups):
        beats = np.flatnonzero(groups == record)
        reference = pre_local[beats] >= PREMATURE
        if reference.sum() < MIN_BEATS:
            reference = None
        out[np.ix_(beats, shape)] = morphology_features(X[beats, :N_SAMPLES], reference)
    return out


def main() -> None:
    args, X, y, groups, folds = ds1_run(__doc__)
    served = X[:, N_SAMPLES:]
    shape = [RECORD_FEATURES.index(name) for name in MORPHOLOGY_FEATURE_NAMES]
    first = groups == groups[0]  # the served six, recomputed over all of a record's beats, are the served columns
    assert np.allclose(morphology_features(X[first, :N_SAMPLES]), served[np.ix_(first, shape)], atol=1e-5)
    candidates = {"served (shapes against the median beat)": served,
                  "shapes against the median non-premature beat": normal_template_inputs(X, groups)}
    results, predictions = {}, {}
    for name, inputs in candidates.items():
        results[name], predictions[name] = score_candidate(name, X, y, groups, folds, inputs, RECORD_FEATURES)
    verdict(results, predictions, y, groups, args.boot)
    print("\nrecord: V beats found served / candidate, V called S, false V; S beats found, false S")
    for record in np.unique(groups):
        mine = groups == record
        cells = []
        for q in predictions.values():
            cells.append(f"V {int(np.sum(mine & (y == 2) & (q == 2)))} (as S {int(np.sum(mine & (y == 2) & (q == 1)))}, "
                         f"false {int(np.sum(mine & (y != 2) & (q == 2)))}) S {int(np.sum(mine & (y == 1) & (q == 1)))} "
                         f"(false {int(np.sum(mine & (y != 1) & (q == 1)))})")
        print(f"{record} of V {int(np.sum(mine & (y == 2)))} S {int(np.sum(mine & (y == 1)))}: " + " | ".join(cells))


if __name__ == "__main__":
    main()
