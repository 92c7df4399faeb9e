"""A candidate for the rhythm-aware cascade: each beat's probabilities averaged with its look-alikes' in the same recording.

    .venv/bin/python bench/bench_rhythm_neighbours.py [--mitdb-dir /work/shared/mitdb] [--boot 300]

Every served input is relative to the patient's own rhythm and median beat, yet each beat is still classified
alone. A patient's ventricular beats from one focus look alike, and so do their premature atrial beats in shape
and timing, so a beat the trees call N among ten look-alikes they call V is more likely a missed V than a lone
one, and a lone V call among N look-alikes more likely a false one. The candidate, applied after the cascade on
each recording's beats alone (no label of the held-out patient is read; it needs only the recording, as the
served cascade does): the 19 served inputs standardised within the recording (mean 0, sd 1 each), each beat's
K nearest other beats there (Euclidean), and its five probabilities replaced by (1 - ALPHA) x its own + ALPHA x
the mean of its neighbours'. K = 10 and ALPHA = 0.5, fixed before the run (no grid). Scored as the other DS1
candidates: the served cascade's held-out probabilities from the 22 leave-one-DS1-record-out folds (served
PARAMS["rhythm"], SMOTE inside each fold), the smoothing applied to each held-out record, macro-F1 N,S,V pooled at
the best threshold on the served grid for each; served only if it beats the served cascade in at least 80% of 300
paired record resamples. DS1 only: no DS2 record is read.

Second candidate, added after the first's run (which won 96% of the resamples) showed where it loses on DS1: a beat
with few look-alikes in its recording (an isolated premature beat) is averaged with beats that do not look like it,
so it needs about half of its ten nearest beats abnormal to stay abnormal (records 101, 112 and 205 lost all their
S beats). "Weighted": each neighbour weighs exp(-(d / h)^2), h the recording's median distance to a beat's K-th
neighbour, the neighbours' mean is weighted so, and ALPHA is scaled by the mean weight, so a beat whose nearest
beats are far keeps its own probabilities and one in a tight cluster is averaged as in the first candidate. K and
ALPHA as above; the same rule against the served cascade. The per-record table shows the beats each finds.

Third candidate, added after the second's run (76%): "mutual". Beat j counts as beat i's look-alike only if each is
among the other's K nearest (mutual nearest neighbours, the usual guard against a lone point attaching to a dense
cluster), and ALPHA is scaled by the share of i's K nearest that are mutual: an isolated premature beat, whose nearest
beats are normal ones with nearer normal neighbours of their own, keeps its own probabilities; a beat in a cluster is
averaged as in the first candidate. No new parameter. Fixed before its run, with a guard written down after the
first's harm: served only if it wins at least 80% of the paired resamples AND, in every DS1 record where the served
cascade finds fewer than 20 S (or V) beats, it finds at most one fewer.
"""
from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors

from bench_rhythm_select import ds1_run, scores_at  # bench/ is on the path when this runs
from bench_rhythm_tune import WIN_SHARE, paired_wins
from pipeline.models import (PARAMS, average_look_alikes, decide, held_out_proba, macro_f1_nsv, make_binary,
                             make_multiclass)
from pipeline.records import RECORD_FEATURES

K = 10
ALPHA = 0.5


def smoothed(proba: np.ndarray, features: np.ndarray) -> np.ndarray:
    """One recording's probabilities averaged with those of each beat's K look-alikes in that recording."""
    spread = features.std(axis=0)
    z = (features - features.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    k = min(K, len(z) - 1)
    _, neighbours = NearestNeighbors(n_neighbors=k + 1).fit(z).kneighbors(z)
    return (1 - ALPHA) * proba + ALPHA * proba[neighbours[:, 1:]].mean(axis=1)


def weighted(proba: np.ndarray, features: np.ndarray) -> np.ndarray:
    """The same, each neighbour weighed by how close it is, so a beat with no close look-alike keeps its own."""
    spread = features.std(axis=0)
    z = (features - features.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    k = min(K, len(z) - 1)
    distance, neighbours = NearestNeighbors(n_neighbors=k + 1).fit(z).kneighbors(z)
    distance, neighbours = distance[:, 1:], neighbours[:, 1:]
    w = np.exp(-(distance / max(float(np.median(distance[:, -1])), 1e-12)) ** 2)
    mean = (w[:, :, None] * proba[neighbours]).sum(axis=1) / np.maximum(w.sum(axis=1), 1e-12)[:, None]
    alpha = ALPHA * w.mean(axis=1)[:, None]
    return (1 - alpha) * proba + alpha * mean


def mutual(proba: np.ndarray, features: np.ndarray) -> np.ndarray:
    """The first candidate's average over look-alikes that are mutual nearest neighbours, ALPHA scaled by their share:
    served since its run, so this is the pipeline's own function (it was written here first, the same way)."""
    return average_look_alikes(proba, features, K, ALPHA)


def guard(y: np.ndarray, groups: np.ndarray, served: np.ndarray, candidate: np.ndarray) -> list[str]:
    """Records where the served cascade finds fewer than 20 S (or V) beats and the candidate more than one fewer."""
    failed = []
    for record in np.unique(groups):
        mine = groups == record
        for label, name in ((1, "S"), (2, "V")):
            before = int(np.sum(mine & (y == label) & (served == label)))
            after = int(np.sum(mine & (y == label) & (candidate == label)))
            if before < 20 and after < before - 1:
                failed.append(f"{record} {name} {before} -> {after}")
    return failed


def best_threshold(y: np.ndarray, proba: np.ndarray, grid) -> tuple[float, np.ndarray]:
    scores = [macro_f1_nsv(y, decide(proba, t)) for t in grid]
    threshold = grid[int(np.argmax(scores))]
    return threshold, decide(proba, threshold)


def main() -> None:
    args, X, y, groups, folds = ds1_run(__doc__)
    p = PARAMS["rhythm"]
    extra = RECORD_FEATURES
    proba = held_out_proba(make_binary(p, extra), make_multiclass(p, extra), X, y, folds)
    features = X[:, -len(RECORD_FEATURES):]
    after, near, both = np.empty_like(proba), np.empty_like(proba), np.empty_like(proba)
    for record in np.unique(groups):
        beats = np.flatnonzero(groups == record)
        after[beats] = smoothed(proba[beats], features[beats])
        near[beats] = weighted(proba[beats], features[beats])
        both[beats] = mutual(proba[beats], features[beats])
    results = {}
    for name, q in (("without look-alikes (served before)", proba), (f"{K} look-alikes averaged in", after),
                    ("weighted by closeness", near), ("mutual look-alikes (served since)", both)):
        threshold, predicted = best_threshold(y, q, p.threshold_grid)
        results[name] = predicted
        r = scores_at(y, predicted)
        print(f"{name}: t={threshold} macro-F1 NSV {r['macro_f1_nsv']:.3f}  S {r['S_se']:.3f}/{r['S_ppv']:.3f}"
              f"  V {r['V_se']:.3f}/{r['V_ppv']:.3f}")
    served, *candidates = results.values()
    for name, candidate in zip(list(results)[1:], candidates):
        share = paired_wins(y, groups, candidate, served, args.boot, p.seed)
        failed = guard(y, groups, served, candidate)
        print(f"{name} wins {share:.0%} of {args.boot} paired resamples against the cascade without; records with few "
              f"ectopic beats where it finds more than one fewer: {', '.join(failed) or 'none'}: "
              f"{'it passes' if share >= WIN_SHARE and not failed else 'it does not pass'}")
    print("\nrecord: S beats, found without / averaged / weighted / mutual; false S calls (same order); "
          "V beats, found (same); false V calls (same)")
    for record in np.unique(groups):
        mine = groups == record
        line = [str(record)]
        for label in (1, 2):
            found = [int(np.sum(mine & (y == label) & (q == label))) for q in results.values()]
            false = [int(np.sum(mine & (y != label) & (q == label))) for q in results.values()]
            line.append(f"{'SV'[label - 1]} {int(np.sum(mine & (y == label)))}: {'/'.join(map(str, found))}, "
                        f"false {'/'.join(map(str, false))}")
        print("  ".join(line))


if __name__ == "__main__":
    main()
