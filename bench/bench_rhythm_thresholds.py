"""A candidate decision rule for the rhythm-aware cascade: a threshold per class instead of one on P(abnormal).

    .venv/bin/python bench/bench_rhythm_thresholds.py [--mitdb-dir /work/shared/mitdb]

The served rule calls a beat abnormal when P(abnormal) >= one threshold and then names the likeliest abnormal class.
One threshold trades S against V: the candidate calls the abnormal class c with the largest p_c / t_c when that is
at least 1, with t_S and t_V each on a grid (0.30-0.95 by 0.05) and t_F = t_Q = 0.9. Two thresholds chosen on the
same beats they are scored on flatter the rule with more of them, so both rules are scored *nested*: for each DS1
record, each rule's thresholds are chosen on the other 21 records' held-out probabilities (served PARAMS["rhythm"],
leave one DS1 record out, the look-alike step on) by macro-F1 N,S,V, and applied to that record; the pooled result
is compared. The candidate would need to beat the served rule nested. No DS2 record is read.
"""
from __future__ import annotations

import numpy as np

from bench_rhythm_mean import with_look_alikes  # bench/ is on the path when this runs
from bench_rhythm_select import ds1_run, scores_at
from pipeline.models import PARAMS, decide, held_out_proba, macro_f1_nsv, make_binary, make_multiclass
from pipeline.records import RECORD_FEATURES
from pipeline.vocabulary import N_SAMPLES

CLASS_GRID = np.round(np.arange(0.30, 0.951, 0.05), 2)
RARE_THRESHOLD = 0.9  # F and Q


def per_class(proba: np.ndarray, t_s: float, t_v: float) -> np.ndarray:
    """The abnormal class with the largest p_c / t_c if that is at least 1, else N."""
    ratio = proba[:, 1:] / np.array([t_s, t_v, RARE_THRESHOLD, RARE_THRESHOLD])
    return np.where(ratio.max(axis=1) >= 1, ratio.argmax(axis=1) + 1, 0)


def main() -> None:
    args, X, y, groups, folds = ds1_run(__doc__)
    p = PARAMS["rhythm"]
    proba = held_out_proba(make_binary(p, RECORD_FEATURES), make_multiclass(p, RECORD_FEATURES), X, y, folds)
    proba = with_look_alikes(proba, X[:, N_SAMPLES:], groups)
    pairs = [(t_s, t_v) for t_s in CLASS_GRID for t_v in CLASS_GRID]
    single, double = np.zeros(len(y), dtype=int), np.zeros(len(y), dtype=int)
    for record in np.unique(groups):
        fit, test = groups != record, groups == record
        t = max(p.threshold_grid, key=lambda t: macro_f1_nsv(y[fit], decide(proba[fit], t)))
        t_s, t_v = max(pairs, key=lambda pair: macro_f1_nsv(y[fit], per_class(proba[fit], *pair)))
        single[test], double[test] = decide(proba[test], t), per_class(proba[test], t_s, t_v)
        print(f"{record}: one threshold {t}; per class S {t_s}, V {t_v}", flush=True)
    same_beats = max(macro_f1_nsv(y, per_class(proba, *pair)) for pair in pairs)
    print(f"\n(chosen on the beats they are scored on: per class {same_beats:.3f}, one threshold "
          f"{max(macro_f1_nsv(y, decide(proba, t)) for t in p.threshold_grid):.3f})")
    print("\n| rule (thresholds chosen on the other 21 DS1 records) | macro-F1 N,S,V | S Se | S +P | V Se | V +P | beats called F or Q |")
    print("|---|---|---|---|---|---|---|")
    for name, predicted in (("one threshold on P(abnormal) (served)", single), ("a threshold per class", double)):
        r = scores_at(y, predicted)
        print(f"| {name} | {r['macro_f1_nsv']:.3f} | {r['S_se']:.1%} | {r['S_ppv']:.1%} | {r['V_se']:.1%} | "
              f"{r['V_ppv']:.1%} | {int(np.sum(predicted >= 3))} |")


if __name__ == "__main__":
    main()
