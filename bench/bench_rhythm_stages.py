"""Three candidates for the rhythm-aware cascade's stages, from its errors on DS1's held-out records and from physiology.

    .venv/bin/python bench/bench_rhythm_stages.py [--mitdb-dir /work/shared/mitdb] [--boot 300]

With the served inputs and settings, leave one DS1 record out, the cascade calls 61 beats Q and none of
them is Q (DS1 holds 8 Q beats, which SMOTE multiplies into a class the trees learn), and it calls 197 V
beats S. Three changes, fixed before the run:

- "no Q": the Q beats are left out of training, so the cascade never says Q (the served model is
  trained on DS1, which has no paced record; README says a paced recording is not called Q);
- "row samples in the multi-class stage": that stage also reads the beat's 187 row samples (its
  shape), which were dropped from both stages in the second round for what they did to S detection;
  the binary stage is unchanged;
- "monotone binary stage": the binary stage's P(abnormal) may only rise as a beat comes earlier against the
  patient's rhythm (pre-R-R over the median, the local and the five-minute average), as its pause after it
  lengthens (post/pre), and as its shape departs from the patient's median beat (QRS and beat correlation,
  QRS difference): XGBoost's monotone_constraints, so that the trees cannot learn a patient's own wiggles.

Scored as bench_rhythm_tune scores a setting (served PARAMS["rhythm"], pooled macro-F1 N,S,V at the best
threshold); the same rule: a candidate is served only if it beats the served cascade in at least 80% of
300 paired record resamples. DS1 only: no DS2 record is read.
"""
from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from pipeline.models import PARAMS, decide, held_out_proba, macro_f1_nsv, make_binary, make_multiclass  # noqa: E402
from pipeline.records import RECORD_FEATURES  # noqa: E402
from pipeline.vocabulary import CLASSES  # noqa: E402

from bench_rhythm_select import ds1_run, scores_at  # noqa: E402  (bench/ is on the path when this runs)
from bench_rhythm_tune import WIN_SHARE, paired_wins  # noqa: E402

Q = CLASSES.index("Q")
# +1: P(abnormal) may only rise with the feature; -1: only fall; features not named are free.
MONOTONE = {"rr_pre_rel": -1, "rr_pre_local": -1, "rr_pre_long": -1, "rr_post_pre": 1,
            "morph_corr_qrs": -1, "morph_corr_beat": -1, "morph_rms_qrs": 1}


def cascade_score(binary, multiclass, X, y, folds, threshold_grid):
    started = time.perf_counter()
    proba = held_out_proba(binary, multiclass, X, y, folds)
    by_threshold = [macro_f1_nsv(y, decide(proba, t)) for t in threshold_grid]
    threshold = threshold_grid[int(np.argmax(by_threshold))]
    predicted = decide(proba, threshold)
    return {"threshold": threshold, **scores_at(y, predicted), "called_Q": int(np.sum(predicted == Q)),
            "seconds": round(time.perf_counter() - started, 1)}, predicted


def main() -> None:
    args, X, y, groups, folds = ds1_run(__doc__)
    p = PARAMS["rhythm"]
    binary, multiclass = make_binary(p, RECORD_FEATURES), make_multiclass(p, RECORD_FEATURES)
    runs = {
        "served": (binary, multiclass, folds),
        "no Q": (binary, multiclass, [(train[y[train] != Q], held_out) for train, held_out in folds]),
        "row samples in the multi-class stage": (
            binary, make_multiclass(replace(p, row_features=True), RECORD_FEATURES), folds),
        "monotone binary stage": (
            make_binary(p, RECORD_FEATURES).set_params(
                xgb__monotone_constraints=tuple(MONOTONE.get(name, 0) for name in RECORD_FEATURES)),
            multiclass, folds),
    }
    results, predictions = {}, {}
    for name, (b, m, f) in runs.items():
        results[name], predictions[name] = cascade_score(b, m, X, y, f, p.threshold_grid)
        r = results[name]
        print(f"{name}: t={r['threshold']} macro-F1 NSV {r['macro_f1_nsv']:.3f}  S {r['S_se']:.3f}/{r['S_ppv']:.3f}"
              f"  V {r['V_se']:.3f}/{r['V_ppv']:.3f}  called Q {r['called_Q']}  ({r['seconds']} s)", flush=True)
    for name in list(runs)[1:]:
        share = paired_wins(y, groups, predictions[name], predictions["served"], args.boot, p.seed)
        print(f"{name} wins {share:.0%} of {args.boot} paired resamples: "
              f"{'serve it' if share >= WIN_SHARE else 'keep the served cascade'}")


if __name__ == "__main__":
    main()
