"""A candidate for the rhythm-aware cascade: R-R over the record's mean R-R, beside (or instead of) over its median.

    .venv/bin/python bench/bench_rhythm_mean.py [--mitdb-dir /work/shared/mitdb] [--boot 300]

The issue's quick try (DS1 -> DS2, untuned) divided R-R intervals by the record's own *mean*, as Mondejar-Guerra et
al. (2019) normalise theirs; the served cascade divides four R-R features (bench_rhythm_select.RR_BY_MEDIAN) by the
record's *median*. A mean is pulled up by long pauses and a median is not, so the two references differ most in
records with pauses or many ectopic beats. The second selection round tried the mean *instead of* the median (with
its settings, before the third round and the look-alike step) and it lost; the mean *beside* the median was never
tried. Both are scored here against the served cascade as it is now (served PARAMS["rhythm"], its look-alike step
on each held-out record), fixed before the run:

- candidates: the served 19 inputs plus the four R-R features over the record's mean (23 inputs; the look-alike
  search reads all 23); the served inputs with the four over the mean instead of the median (19);
- scored as bench_rhythm_neighbours scores the served cascade (leave one DS1 record out, pooled macro-F1 N,S,V at
  the best threshold of the served grid, after the look-alike step);
- the better candidate is served only if it beats the served cascade in at least 80% of 300 paired record resamples
  and, in every DS1 record where the served cascade finds fewer than 20 S (or V) beats, finds at most one fewer
  (bench_rhythm_neighbours.guard). No DS2 record is read.
"""
from __future__ import annotations

import numpy as np

from bench_rhythm_neighbours import best_threshold, guard  # bench/ is on the path when this runs
from bench_rhythm_select import RR_BY_MEDIAN, ds1_run, per_record_extras, scores_at
from bench_rhythm_tune import WIN_SHARE, paired_wins
from pipeline.dataset import DS1
from pipeline.models import PARAMS, average_look_alikes, held_out_proba, make_binary, make_multiclass
from pipeline.records import RECORD_FEATURES
from pipeline.vocabulary import N_SAMPLES


def with_look_alikes(proba: np.ndarray, features: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The served fourth step on each held-out record, over the inputs the candidate's boosters read."""
    p = PARAMS["rhythm"]
    return average_look_alikes(proba, features, p.look_alikes, p.look_alike_weight, groups)


def score_candidate(name: str, X, y, groups, folds, inputs: np.ndarray, names: tuple[str, ...]) -> tuple[dict, np.ndarray]:
    """One candidate's inputs (the columns after the row) scored on the DS1 folds with the served settings and
    look-alike step, at its best threshold on the served grid: its figures and its held-out predictions."""
    p = PARAMS["rhythm"]
    proba = held_out_proba(make_binary(p, names), make_multiclass(p, names),
                           np.column_stack([X[:, :N_SAMPLES], inputs]).astype(np.float32), y, folds)
    threshold, predicted = best_threshold(y, with_look_alikes(proba, inputs, groups), p.threshold_grid)
    r = {"threshold": threshold, **scores_at(y, predicted)}
    print(f"{name}: t={threshold} macro-F1 NSV {r['macro_f1_nsv']:.3f}  S {r['S_se']:.3f}/{r['S_ppv']:.3f}"
          f"  V {r['V_se']:.3f}/{r['V_ppv']:.3f}", flush=True)
    return r, predicted


def verdict(results: dict, predictions: dict, y, groups, boot: int) -> None:
    """The served cascade (the first entry) and one candidate (the second): their table, and whether the candidate
    passes the rule (WIN_SHARE of the paired record resamples) and the guard (guard())."""
    served_name, name = results
    share = paired_wins(y, groups, predictions[name], predictions[served_name], boot, PARAMS["rhythm"].seed)
    failed = guard(y, groups, predictions[served_name], predictions[name])
    print("\n| inputs (LOO-record CV on DS1, look-alike step on) | threshold | macro-F1 N,S,V | S Se | S +P | V Se | V +P |")
    print("|---|---|---|---|---|---|---|")
    for label, r in results.items():
        print(f"| {label} | {r['threshold']} | {r['macro_f1_nsv']:.3f} | {r['S_se']:.1%} | {r['S_ppv']:.1%} | "
              f"{r['V_se']:.1%} | {r['V_ppv']:.1%} |")
    print(f"the candidate wins {share:.0%} of {boot} paired resamples; records with few ectopic beats losing more "
          f"than one: {', '.join(failed) or 'none'}: {'it passes' if share >= WIN_SHARE and not failed else 'it does not pass'}")


def main() -> None:
    args, X, y, groups, folds = ds1_run(__doc__)
    p = PARAMS["rhythm"]
    _, median_over_mean = per_record_extras(args.mitdb_dir, DS1)
    served = X[:, N_SAMPLES:]
    by_median = [RECORD_FEATURES.index(name) for name in RR_BY_MEDIAN]
    over_mean = served[:, by_median] * median_over_mean[:, None]
    instead = served.copy()
    instead[:, by_median] = over_mean
    candidates = {
        "served (R-R over the median, look-alikes)": (served, RECORD_FEATURES),
        "served + R-R over the record's mean": (
            np.column_stack([served, over_mean]), RECORD_FEATURES + tuple(f"{n}_mean" for n in RR_BY_MEDIAN)),
        "R-R over the record's mean instead of the median": (instead, RECORD_FEATURES),
    }
    results, predictions = {}, {}
    for name, (inputs, names) in candidates.items():
        results[name], predictions[name] = score_candidate(name, X, y, groups, folds, inputs, names)
    served_name, *others = candidates
    best = max(others, key=lambda name: results[name]["macro_f1_nsv"])
    print("\n| inputs (LOO-record CV on DS1, look-alike step on) | threshold | macro-F1 N,S,V | S Se | S +P | V Se | V +P "
          "| wins | records with few ectopic beats losing some |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        share = failed = ""
        if name != served_name:
            share = f"{paired_wins(y, groups, predictions[name], predictions[served_name], args.boot, p.seed):.0%}"
            failed = ", ".join(guard(y, groups, predictions[served_name], predictions[name])) or "none"
        print(f"| {name} | {r['threshold']} | {r['macro_f1_nsv']:.3f} | {r['S_se']:.1%} | {r['S_ppv']:.1%} | "
              f"{r['V_se']:.1%} | {r['V_ppv']:.1%} | {share} | {failed} |")
    share = paired_wins(y, groups, predictions[best], predictions[served_name], args.boot, p.seed)
    passes = share >= WIN_SHARE and not guard(y, groups, predictions[served_name], predictions[best])
    print(f"the better candidate, {best}, {'passes' if passes else 'does not pass'} (it needs {WIN_SHARE:.0%} of the "
          f"paired resamples and no record with few ectopic beats losing more than one)")


if __name__ == "__main__":
    main()
