"""The rhythm-aware cascade's hyperparameters, tuned by leave-one-record-out CV on DS1 only.

    .venv/bin/python bench/bench_rhythm_tune.py [--mitdb-dir /work/shared/mitdb] [--boot 300]

bench/bench_rhythm_select.py chose the served inputs (rhythm + morphology + irregularity, no row
samples) with the XGBoost settings bench/bench_rhythm.py had tuned for the first round's inputs
(187 row samples and more). This round tunes the settings for the inputs now served, in two steps,
on the 22 DS1 records alone (no DS2 record is read):

1. the binary stage (normal vs abnormal): trees x depth x learning rate in four shapes, from few deep
   trees to many shallow ones; min_child_weight 1 or 20 (a leaf must hold more beats, so a rule has to
   hold for more than one patient's handful); colsample_bytree 0.3 or 0.8; the SMOTE ratio 0.5 or 1.0
   (abnormal beats oversampled to half or all of the normal ones): 32 settings, the multi-class stage
   as served;
2. the multi-class stage (which abnormal class), under the binary stage step 1 chose: four shapes x
   min_child_weight 1 or 20: 8 settings.

Each setting is scored as bench_rhythm_select scores a candidate: both stages fitted on 21 records per
fold (SMOTE inside), the held-out record predicted, macro-F1 over N, S, V of the pooled held-out
predictions at the setting's best threshold on the served grid. The rule, fixed before the run: the
best setting replaces the served one only if it beats it in at least 80% of 300 bootstrap resamples
of the 22 records (the same resamples for both, so the comparison is paired); otherwise the served
one stays. Results: bench/rhythm_tune.json.
"""
from __future__ import annotations

import itertools
import json
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from pipeline.models import (PARAMS, decide, held_out_proba, macro_f1_nsv,  # noqa: E402
                             make_binary, make_multiclass)
from pipeline.records import RECORD_FEATURES  # noqa: E402

from bench_rhythm_select import ds1_run, scores_at  # noqa: E402  (bench/ is on the path when this file runs)

SHAPES = ((100, 6, 0.2), (300, 3, 0.1), (300, 6, 0.05), (200, 10, 0.1))  # trees, depth, learning rate
MULTICLASS_SHAPES = ((60, 4, 0.2), (200, 4, 0.1), (200, 6, 0.1), (100, 3, 0.2))
WIN_SHARE = 0.8  # a setting replaces the served one only if it wins this share of the paired bootstrap


def binary_settings(served):
    for (trees, depth, rate), weight, columns, ratio in itertools.product(SHAPES, (1.0, 20.0), (0.3, 0.8), (0.5, 1.0)):
        booster = replace(served.binary, n_estimators=trees, max_depth=depth, learning_rate=rate,
                          min_child_weight=weight, colsample_bytree=columns)
        yield (f"binary {trees} trees, depth {depth}, rate {rate}, min_child_weight {weight:g}, "
               f"colsample {columns}, SMOTE ratio {ratio}"), replace(served, binary=booster, binary_smote_ratio=ratio)


def multiclass_settings(base):
    for (trees, depth, rate), weight in itertools.product(MULTICLASS_SHAPES, (1.0, 20.0)):
        booster = replace(base.multiclass, n_estimators=trees, max_depth=depth, learning_rate=rate,
                          min_child_weight=weight)
        yield (f"multi-class {trees} trees, depth {depth}, rate {rate}, min_child_weight {weight:g}",
               replace(base, multiclass=booster))


def score(p, X, y, folds, extra=RECORD_FEATURES) -> tuple[dict, np.ndarray]:
    """Leave-one-record-out scores of the cascade with settings p on X's extra columns, and its predictions."""
    started = time.perf_counter()
    proba = held_out_proba(make_binary(p, extra), make_multiclass(p, extra), X, y, folds)
    by_threshold = [macro_f1_nsv(y, decide(proba, t)) for t in p.threshold_grid]
    threshold = p.threshold_grid[int(np.argmax(by_threshold))]
    predicted = decide(proba, threshold)
    return {"threshold": threshold, **scores_at(y, predicted), "seconds": round(time.perf_counter() - started, 1)}, predicted


def paired_wins(y, groups, challenger, served, boot: int, seed: int) -> float:
    """The share of record bootstrap resamples in which the challenger's macro-F1 N,S,V beats the served one's."""
    rng = np.random.default_rng(seed)
    records = np.unique(groups)
    where = {r: np.flatnonzero(groups == r) for r in records}
    wins = 0
    for _ in range(boot):
        beats = np.concatenate([where[r] for r in rng.choice(records, len(records))])
        wins += macro_f1_nsv(y[beats], challenger[beats]) > macro_f1_nsv(y[beats], served[beats])
    return wins / boot


def compare_signal_features(doc: str, names: tuple[str, ...], features_of, label: str) -> None:
    """A candidate that adds features read off each DS1 record's signal at the model rate (features_of(signal,
    R-peak samples, rate) -> (n_beats, len(names))), scored beside the served inputs on the same folds and rule."""
    from pipeline.dataset import DS1
    from pipeline.recording import to_model_rate
    from pipeline.records import MODEL_RATE, read_mitdb_record, reference_beats

    args, X, y, groups, folds = ds1_run(doc)
    p = PARAMS["rhythm"]
    extra = []
    for record in DS1:
        recording = read_mitdb_record(args.mitdb_dir, record)
        positions, _ = reference_beats(recording)
        starts = np.round(positions * (MODEL_RATE / recording.fs)).astype(np.int64)
        extra.append(features_of(to_model_rate(recording.signal, recording.fs), starts, MODEL_RATE))
    served, served_predicted = score(p, X, y, folds)
    candidate, candidate_predicted = score(p, np.hstack([X, np.vstack(extra)]), y, folds, RECORD_FEATURES + names)
    for name, r in (("served inputs", served), (f"served inputs + {label}", candidate)):
        print(f"{name}: t={r['threshold']} macro-F1 NSV {r['macro_f1_nsv']:.3f}  S {r['S_se']:.3f}/{r['S_ppv']:.3f}"
              f"  V {r['V_se']:.3f}/{r['V_ppv']:.3f}  ({r['seconds']} s)")
    share = paired_wins(y, groups, candidate_predicted, served_predicted, args.boot, p.seed)
    print(f"the candidate wins {share:.0%} of {args.boot} paired resamples: "
          f"{'serve it' if share >= WIN_SHARE else 'keep the served inputs'}")


def main() -> None:
    args, X, y, groups, folds = ds1_run(__doc__)
    served = PARAMS["rhythm"]
    results, predictions = {}, {}

    def run(name, p):
        results[name], predictions[name] = score(p, X, y, folds)
        r = results[name]
        print(f"{name}: t={r['threshold']} macro-F1 NSV {r['macro_f1_nsv']:.3f}  S {r['S_se']:.3f}/{r['S_ppv']:.3f}"
              f"  V {r['V_se']:.3f}/{r['V_ppv']:.3f}  ({r['seconds']} s)", flush=True)

    settings = dict(binary_settings(served))
    for name, p in settings.items():
        run(name, p)
    served_name = next(name for name, p in settings.items() if p == served)
    best_binary = max(settings, key=lambda name: results[name]["macro_f1_nsv"])
    step2 = dict(multiclass_settings(settings[best_binary]))
    for name, p in step2.items():
        run(f"{best_binary}; {name}", p)
    best = max(results, key=lambda name: results[name]["macro_f1_nsv"])
    share = paired_wins(y, groups, predictions[best], predictions[served_name], args.boot, served.seed)
    chosen = best if share >= WIN_SHARE else served_name
    print(f"\nserved: {served_name}\nbest: {best}\nwins {share:.0%} of {args.boot} paired resamples -> "
          f"{'replace the served settings' if chosen == best else 'keep the served settings'}")
    params = {**settings, **{f"{best_binary}; {n}": p for n, p in step2.items()}}
    out = {"machine": platform.node(), "folds": "leave one DS1 record out (22)", "boot": args.boot,
           "served": served_name, "best": best, "best_wins_paired": share, "win_share_needed": WIN_SHARE,
           "chosen": chosen, "chosen_params": params[chosen].to_dict(), "settings": results}
    (ROOT / "bench" / "rhythm_tune.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
