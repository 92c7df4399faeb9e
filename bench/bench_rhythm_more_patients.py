"""How far more training patients go: each DS2 record classified by a cascade trained on DS1 and the other 21 DS2
records. A diagnostic, not a DS1 -> DS2 figure, and nothing is chosen from it.

    .venv/bin/python bench/bench_rhythm_more_patients.py [--mitdb-dir /work/shared/mitdb]

On DS2 the served cascade finds 8% of S beats, and one patient holds most of them (232, whose S beats are its usual
rhythm); DS1 has no patient like it. The likeliest next step the report names is training on more varied patients
(other PhysioNet arrhythmia databases, which this machine cannot download). MIT-BIH can ask the question on its own
44 non-paced records: each DS2 record is classified by the served settings (PARAMS["rhythm"], the served threshold
and look-alike step, all chosen on DS1) trained on

- DS1 only (the served model's training beats; refitted here so both arms are fitted the same way), and
- DS1 and the other 21 DS2 records (22 fits, one per held-out DS2 record),

at the reference beat positions. If the other DS2 patients teach the cascade what 232's or 222's S beats look like,
the second arm finds more of them; if not, more patients of MIT-BIH's kind do not help those two, and only patients
like them would. The served model stays the one trained on DS1, which is what the report's DS2 figures describe.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bench_rhythm_select import scores_at  # bench/ is on the path when this runs
from pipeline.bundle import load_bundle
from pipeline.dataset import DS1, DS2
from pipeline.models import PARAMS, average_look_alikes, decide, held_out_proba, make_binary, make_multiclass
from pipeline.records import RECORD_FEATURES, RECORD_MODEL, record_inputs

ROOT = Path(__file__).resolve().parent.parent
MANY_S = 20  # records with at least this many S beats get their own line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb-dir", default="/work/shared/mitdb")
    args = parser.parse_args()
    p = PARAMS["rhythm"]
    threshold = load_bundle(ROOT / "models", only=(RECORD_MODEL,)).models[RECORD_MODEL].threshold_
    X, y, groups = record_inputs(args.mitdb_dir, list(DS1) + list(DS2))
    X = X.astype(np.float32)
    test = np.isin(groups, DS2)
    features = X[:, -len(RECORD_FEATURES):]
    arms = {
        "DS1 only (as served)": [(np.flatnonzero(~test), np.flatnonzero(test))],
        "DS1 + the other 21 DS2 records": [(np.flatnonzero(groups != r), np.flatnonzero(groups == r)) for r in DS2],
    }
    print(f"threshold {threshold} (the served cascade's, chosen on DS1); reference beat positions; "
          f"{int(test.sum()):,} DS2 beats", flush=True)
    predicted = {}
    for name, folds in arms.items():
        proba = held_out_proba(make_binary(p, RECORD_FEATURES), make_multiclass(p, RECORD_FEATURES), X, y, folds)
        proba = average_look_alikes(proba, features, p.look_alikes, p.look_alike_weight, groups)
        predicted[name] = decide(proba[test], threshold)
        r = scores_at(y[test], predicted[name])
        print(f"{name}: macro-F1 NSV {r['macro_f1_nsv']:.3f}  S {r['S_se']:.1%} / {r['S_ppv']:.1%}  "
              f"V {r['V_se']:.1%} / {r['V_ppv']:.1%}", flush=True)

    truth, records = y[test], groups[test]
    print("\n| trained on (each DS2 record held out) | macro-F1 N,S,V | S Se | S +P | V Se | V +P |")
    print("|---|---|---|---|---|---|")
    for name, given in predicted.items():
        r = scores_at(truth, given)
        print(f"| {name} | {r['macro_f1_nsv']:.3f} | {r['S_se']:.1%} | {r['S_ppv']:.1%} | {r['V_se']:.1%} | "
              f"{r['V_ppv']:.1%} |")
    print("\n| record | S beats | " + " | ".join(f"S Se, {name}" for name in predicted) + " |")
    print("|---|---|" + "---|" * len(predicted))
    for record in DS2:
        here = (records == record) & (truth == 1)
        if here.sum() >= MANY_S:
            found = " | ".join(f"{np.mean(given[here] == 1):.1%}" for given in predicted.values())
            print(f"| {record} | {int(here.sum()):,} | {found} |")


if __name__ == "__main__":
    main()
