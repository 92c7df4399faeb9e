"""A candidate for the rhythm-aware cascade: prematurity against the median of the previous beats' R-R.

    .venv/bin/python bench/bench_rhythm_previous.py [--mitdb-dir /work/shared/mitdb] [--boot 300]

The served local reference (rr_pre_local and rr_post_local: the R-R over the mean of about ten intervals *centred* on
the beat) includes the beat's own interval and those after it, so in a run of premature beats, or bigeminy, the
reference shortens with them. Holter software judges a beat premature against the rhythm *before* it, with a median
so that an earlier ectopic beat does not move it. The candidate adds two inputs: pre-R-R and post-R-R over the median of
the PREVIOUS pre-R-R intervals before the beat (the first beats take what there is; the first its own). Fixed before
the run: PREVIOUS = 8, no grid.

Scored against the served cascade as it is now (served PARAMS["rhythm"], its look-alike step on each held-out record
over the inputs the candidate reads), leave one DS1 record out, pooled macro-F1 N,S,V at the best threshold of the
served grid; taken only if it wins at least 80% of 300 paired record resamples and, in every DS1 record where the
served cascade finds fewer than 20 S (or V) beats, finds at most one fewer (bench_rhythm_neighbours.guard).
No DS2 record is read.
"""
from __future__ import annotations

import numpy as np

from bench_rhythm_mean import score_candidate, verdict  # bench/ is on the path when this runs
from bench_rhythm_select import ds1_run
from pipeline.dataset import DS1
from pipeline.records import RECORD_FEATURES, read_mitdb_record, reference_beats
from pipeline.vocabulary import N_SAMPLES

PREVIOUS = 8
NAMES = ("rr_pre_previous", "rr_post_previous")


def previous_features(positions: np.ndarray) -> np.ndarray:
    """One record's R peaks -> pre- and post-R-R over the median of the PREVIOUS pre-R-R intervals before each beat."""
    rr = np.diff(positions).astype(np.float64)
    pre = np.concatenate([[rr[0]], rr])
    post = np.concatenate([rr, [rr[-1]]])
    reference = np.array([np.median(pre[max(0, i - PREVIOUS):i]) if i else pre[0] for i in range(len(pre))])
    return np.column_stack([pre / reference, post / reference])


def main() -> None:
    args, X, y, groups, folds = ds1_run(__doc__)
    extra = []
    for record in DS1:
        positions, _ = reference_beats(read_mitdb_record(args.mitdb_dir, record))
        extra.append(previous_features(positions))
    extra = np.vstack(extra)
    assert len(extra) == len(X)
    served = X[:, N_SAMPLES:]
    results, predictions = {}, {}
    for name, inputs, names in (("served", served, RECORD_FEATURES),
                                ("served + R-R over the previous beats' median",
                                 np.column_stack([served, extra]), RECORD_FEATURES + NAMES)):
        results[name], predictions[name] = score_candidate(name, X, y, groups, folds, inputs, names)
    verdict(results, predictions, y, groups, args.boot)


if __name__ == "__main__":
    main()
