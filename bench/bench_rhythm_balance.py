"""How the rhythm-aware cascade's stages balance the classes: SMOTE (served), class weights, or nothing.

    .venv/bin/python bench/bench_rhythm_balance.py [--mitdb-dir /work/shared/mitdb] [--boot 300]

Issue 8 lists "SMOTE ratio or class weights" among the choices to make on DS1. The third round
(bench_rhythm_tune.py) chose the binary stage's SMOTE ratio (0.5 or 1.0) for the served inputs; weights
instead of SMOTE were compared only in the first round, for its 250 inputs (bench_rhythm.py). Three
candidates, fixed before the run:

- "weights": no SMOTE in either stage; each training beat weighted by n / (classes x its class's count)
  in that fold ("balanced"), so every class weighs the same in the trees' loss;
- "SMOTE binary, weights multi-class": the served binary stage; the multi-class stage weighted instead of
  SMOTE, which grows DS1's 8 Q beats into thousands;
- "nothing": neither SMOTE nor weights; the binary stage's threshold is still chosen on the held-out beats.

Scored as bench_rhythm_tune scores a setting (leave one DS1 record out, served PARAMS["rhythm"] otherwise,
pooled macro-F1 N,S,V at the best threshold of the served grid); a candidate is served only if it beats the
served cascade in at least 80% of 300 paired record resamples. No DS2 record is read.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from pipeline.models import PARAMS, make_binary, make_multiclass  # noqa: E402
from pipeline.records import RECORD_FEATURES  # noqa: E402

from bench_rhythm_select import ds1_run  # noqa: E402  (bench/ is on the path when this runs)
from bench_rhythm_stages import cascade_score  # noqa: E402
from bench_rhythm_tune import WIN_SHARE, paired_wins  # noqa: E402


class Balanced(ClassifierMixin, BaseEstimator):
    """An XGBoost classifier fitted with balanced sample weights, computed on the beats it is fitted on."""

    def __init__(self, estimator=None):
        self.estimator = estimator

    def fit(self, X, y):
        counts = np.bincount(y)
        weights = len(y) / (np.count_nonzero(counts) * counts[y])
        self.estimator_ = clone(self.estimator).fit(X, y, sample_weight=weights)
        self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)


def without_smote(stage, weighted: bool):
    stage = clone(stage)
    booster = stage.named_steps["xgb"]
    return stage.set_params(smote="passthrough", xgb=Balanced(booster) if weighted else booster)


def main() -> None:
    args, X, y, groups, folds = ds1_run(__doc__)
    p = PARAMS["rhythm"]
    binary, multiclass = make_binary(p, RECORD_FEATURES), make_multiclass(p, RECORD_FEATURES)
    runs = {
        "served (SMOTE in both stages)": (binary, multiclass),
        "weights": (without_smote(binary, True), without_smote(multiclass, True)),
        "SMOTE binary, weights multi-class": (binary, without_smote(multiclass, True)),
        "nothing": (without_smote(binary, False), without_smote(multiclass, False)),
    }
    results, predictions = {}, {}
    for name, (b, m) in runs.items():
        results[name], predictions[name] = cascade_score(b, m, X, y, folds, p.threshold_grid)
        r = results[name]
        print(f"{name}: t={r['threshold']} macro-F1 NSV {r['macro_f1_nsv']:.3f}  S {r['S_se']:.3f}/{r['S_ppv']:.3f}"
              f"  V {r['V_se']:.3f}/{r['V_ppv']:.3f}  called Q {r['called_Q']}  ({r['seconds']} s)", flush=True)
    served = next(iter(runs))
    print("\n| balancing (LOO-record CV on DS1) | threshold | macro-F1 N,S,V | S Se | S +P | V Se | V +P | "
          "beats called Q | wins |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        share = "" if name == served else (
            f"{paired_wins(y, groups, predictions[name], predictions[served], args.boot, p.seed):.0%}")
        print(f"| {name} | {r['threshold']} | {r['macro_f1_nsv']:.3f} | {r['S_se']:.1%} | {r['S_ppv']:.1%} | "
              f"{r['V_se']:.1%} | {r['V_ppv']:.1%} | {r['called_Q']} | {share} |")
    print(f"(a candidate is served only if it wins at least {WIN_SHARE:.0%} of the paired resamples)")


if __name__ == "__main__":
    main()
