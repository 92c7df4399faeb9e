"""The look-alike step's two settings, K and its weight, chosen nested on DS1 against the served ones.

    .venv/bin/python bench/bench_rhythm_look_alike_grid.py [--mitdb-dir /work/shared/mitdb] [--boot 300]

The served step (bench_rhythm_neighbours.py) averages each beat with its mutual look-alikes among its K = 10 nearest,
half its own at most (weight 0.5): both were fixed before that run, with no grid. This bench asks whether another
setting would have done better on DS1, fixed before its run: K in (5, 10, 20) x weight in (0.25, 0.5, 0.75), the
served cascade's held-out probabilities from the 22 leave-one-DS1-record-out folds (served PARAMS["rhythm"]). Each
setting with its threshold is chosen *nested*: for each DS1 record, the (K, weight, threshold) with the best macro-F1
N,S,V on the other 21 records, applied to that record; the served step is scored the same way with only its
threshold chosen so. A setting other than the served one is taken only if the nested grid beats the nested served
step in at least 80% of 300 paired record resamples. No DS2 record is read.
"""
from __future__ import annotations

import itertools

import numpy as np

from bench_rhythm_select import ds1_run, scores_at  # bench/ is on the path when this runs
from bench_rhythm_tune import WIN_SHARE, paired_wins
from pipeline.models import PARAMS, average_look_alikes, decide, held_out_proba, macro_f1_nsv, make_binary, make_multiclass
from pipeline.records import RECORD_FEATURES
from pipeline.vocabulary import N_SAMPLES

KS = (5, 10, 20)
WEIGHTS = (0.25, 0.5, 0.75)


def main() -> None:
    args, X, y, groups, folds = ds1_run(__doc__)
    p = PARAMS["rhythm"]
    proba = held_out_proba(make_binary(p, RECORD_FEATURES), make_multiclass(p, RECORD_FEATURES), X, y, folds)
    features = X[:, N_SAMPLES:]
    settings = list(itertools.product(KS, WEIGHTS))
    averaged = {s: average_look_alikes(proba, features, s[0], s[1], groups) for s in settings}
    served = (p.look_alikes, p.look_alike_weight)
    records = np.unique(groups)
    # Each setting's macro-F1 on each "other 21 records" set at each threshold: one pass over the grid per record.
    nested_grid, nested_served = np.zeros(len(y), dtype=int), np.zeros(len(y), dtype=int)
    chosen = []
    for record in records:
        fit, test = groups != record, groups == record
        scores = {(s, t): macro_f1_nsv(y[fit], decide(averaged[s][fit], t)) for s in settings for t in p.threshold_grid}
        (s, t) = max(scores, key=scores.get)
        t_served = max(p.threshold_grid, key=lambda t: scores[(served, t)])
        nested_grid[test] = decide(averaged[s][test], t)
        nested_served[test] = decide(averaged[served][test], t_served)
        chosen.append(f"{record}: K {s[0]}, weight {s[1]}, threshold {t} (served: threshold {t_served})")
        print(chosen[-1], flush=True)
    print("\n| setting (LOO-record CV on DS1; settings and threshold chosen on the other 21 records) | macro-F1 N,S,V "
          "| S Se | S +P | V Se | V +P |")
    print("|---|---|---|---|---|---|")
    for name, predicted in ((f"served (K {served[0]}, weight {served[1]})", nested_served),
                            ("K and weight from the grid", nested_grid)):
        r = scores_at(y, predicted)
        print(f"| {name} | {r['macro_f1_nsv']:.3f} | {r['S_se']:.1%} | {r['S_ppv']:.1%} | {r['V_se']:.1%} | "
              f"{r['V_ppv']:.1%} |")
    share = paired_wins(y, groups, nested_grid, nested_served, args.boot, p.seed)
    print(f"the grid wins {share:.0%} of {args.boot} paired resamples: "
          f"{'take the setting the grid picks on all 22' if share >= WIN_SHARE else 'the served setting stays'}")
    print("\nnot nested (each setting at its best threshold on all 22 records):")
    for s in settings:
        best = max(macro_f1_nsv(y, decide(averaged[s], t)) for t in p.threshold_grid)
        print(f"  K {s[0]}, weight {s[1]}: {best:.3f}")


if __name__ == "__main__":
    main()
