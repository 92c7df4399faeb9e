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

from bench_rhythm_mean import score_candidate  # bench/ is on the path when this runs
from bench_rhythm_neighbours import guard
from bench_rhythm_select import ds1_run
from bench_rhythm_tune import WIN_SHARE, paired_wins
from pipeline.dataset import DS1
from pipeline.models import PARAMS
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
    p = PARAMS["rhythm"]
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
    served_name, name = results
    share = paired_wins(y, groups, predictions[name], predictions[served_name], args.boot, p.seed)
    failed = guard(y, groups, predictions[served_name], predictions[name])
    print("\n| inputs (LOO-record CV on DS1, look-alike step on) | threshold | macro-F1 N,S,V | S Se | S +P | V Se | V +P |")
    print("|---|---|---|---|---|---|---|")
    for label, r in results.items():
        print(f"| {label} | {r['threshold']} | {r['macro_f1_nsv']:.3f} | {r['S_se']:.1%} | {r['S_ppv']:.1%} | "
              f"{r['V_se']:.1%} | {r['V_ppv']:.1%} |")
    print(f"the candidate wins {share:.0%} of {args.boot} paired resamples; records with few ectopic beats losing more "
          f"than one: {', '.join(failed) or 'none'}: {'it passes' if share >= WIN_SHARE and not failed else 'it does not pass'}")


if __name__ == "__main__":
    main()
