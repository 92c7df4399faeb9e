"""A candidate for the rhythm-aware cascade: the patient's reference R-R as an upper percentile, not the median.

    .venv/bin/python bench/bench_rhythm_reference.py [--mitdb-dir /work/shared/mitdb] [--boot 300]

The served cascade divides four R-R features (pre, post, the local and the five-minute average:
bench_rhythm_select.RR_BY_MEDIAN) by the recording's median R-R, taken for the patient's sinus rhythm. When
ectopic beats are frequent (bigeminy, runs, or a patient whose premature beats are most of the record) the
median is pulled towards their short intervals, and a premature beat no longer looks premature. Premature
beats come early and pauses come late, so the sinus rhythm sits above the median: an upper percentile of the
recording's R-R intervals is a reference that frequent premature beats move less. The idea came from the
served cascade's errors on DS2's record 232 (bench/RESULTS.md); the choice is made on DS1 alone, by the rule
of the earlier rounds, fixed before the run:

- candidates: the four features divided by the 75th, or the 90th, percentile of the recording's R-R instead of
  its median; and the served features with the four divided by the 90th percentile added beside them;
- scored as bench_rhythm_tune scores a setting (leave one DS1 record out, served PARAMS["rhythm"], pooled
  macro-F1 N,S,V at the best threshold of the served grid);
- the best candidate is served only if it beats the served cascade in at least 80% of 300 paired record
  resamples. No DS2 record is read.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from pipeline.dataset import DS1  # noqa: E402
from pipeline.models import PARAMS, make_binary, make_multiclass  # noqa: E402
from pipeline.records import RECORD_FEATURES, read_mitdb_record, reference_beats  # noqa: E402
from pipeline.vocabulary import N_SAMPLES  # noqa: E402

from bench_rhythm_select import RR_BY_MEDIAN, ds1_run  # noqa: E402  (bench/ is on the path when this runs)
from bench_rhythm_stages import cascade_score  # noqa: E402
from bench_rhythm_tune import WIN_SHARE, paired_wins  # noqa: E402

PERCENTILES = (75, 90)


def median_over_percentile(mitdb_dir, records, q: float) -> np.ndarray:
    """Per beat: its record's median R-R / the q-th percentile of its R-R (what turns x / median into x / percentile)."""
    out = []
    for record in records:
        positions, _ = reference_beats(read_mitdb_record(mitdb_dir, record))
        rr = np.diff(positions)
        out.append(np.full(len(positions), np.median(rr) / np.percentile(rr, q)))
    return np.concatenate(out)


def main() -> None:
    args, X, y, groups, folds = ds1_run(__doc__)
    p = PARAMS["rhythm"]
    served = X[:, N_SAMPLES:]  # the 19 served inputs, in RECORD_FEATURES order (no row samples)
    by_median = [RECORD_FEATURES.index(name) for name in RR_BY_MEDIAN]
    inputs, names = {"served": served}, {"served": RECORD_FEATURES}
    for q in PERCENTILES:
        moved = served.copy()
        moved[:, by_median] *= median_over_percentile(args.mitdb_dir, DS1, q)[:, None]
        inputs[f"R-R over the {q}th percentile"] = moved
        if q == 90:
            names_90 = tuple(f"{name}_p90" for name in RR_BY_MEDIAN)
            inputs["served + R-R over the 90th percentile"] = np.column_stack([served, moved[:, by_median]])
            names["served + R-R over the 90th percentile"] = RECORD_FEATURES + names_90
    results, predictions = {}, {}
    for name, columns in inputs.items():
        features = names.get(name, RECORD_FEATURES)
        results[name], predictions[name] = cascade_score(
            make_binary(p, features), make_multiclass(p, features), np.column_stack([X[:, :N_SAMPLES], columns]),
            y, folds, p.threshold_grid)
        r = results[name]
        print(f"{name}: t={r['threshold']} macro-F1 NSV {r['macro_f1_nsv']:.3f}  S {r['S_se']:.3f}/{r['S_ppv']:.3f}"
              f"  V {r['V_se']:.3f}/{r['V_ppv']:.3f}  ({r['seconds']} s)", flush=True)
    print("\n| inputs (LOO-record CV on DS1) | threshold | macro-F1 N,S,V | S Se | S +P | V Se | V +P | wins |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        share = "" if name == "served" else (
            f"{paired_wins(y, groups, predictions[name], predictions['served'], args.boot, p.seed):.0%}")
        print(f"| {name} | {r['threshold']} | {r['macro_f1_nsv']:.3f} | {r['S_se']:.1%} | {r['S_ppv']:.1%} | "
              f"{r['V_se']:.1%} | {r['V_ppv']:.1%} | {share} |")
    print(f"(a candidate is served only if it wins at least {WIN_SHARE:.0%} of the paired resamples)")


if __name__ == "__main__":
    main()
