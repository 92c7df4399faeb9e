"""A candidate for the rhythm-aware cascade: the shape of each beat on the recording's second lead.

    .venv/bin/python bench/bench_rhythm_second_lead.py [--mitdb-dir /work/shared/mitdb] [--boot 300]

The served cascade reads one lead (MLII). de Chazal et al. 2004 read both MIT-BIH leads, and an ectopic
beat's shape in V1 (the usual second lead) differs from the patient's normal beats where MLII may not. The
candidate adds the six morphology features (pipeline.rhythm.morphology_features: correlation, difference
and slopes against the recording's median beat) computed the same way on rows cut from the second lead at
the same R peaks. A recording of one lead (most CSV and EDF files users bring) would keep today's
one-lead cascade, so that one would be served beside it, not replaced.

Scored as bench_rhythm_tune scores a setting (leave one DS1 record out, served PARAMS["rhythm"], pooled
macro-F1 N,S,V at the best threshold); the same rule, fixed before the run: served only if it beats the
served inputs in at least 80% of 300 paired record resamples. DS1 only: no DS2 record is read.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from pipeline.dataset import DS1, cut_rows  # noqa: E402
from pipeline.models import PARAMS  # noqa: E402
from pipeline.recording import to_model_rate  # noqa: E402
from pipeline.records import MODEL_RATE, RECORD_FEATURES, read_mitdb_record, reference_beats  # noqa: E402
from pipeline.rhythm import MORPHOLOGY_FEATURE_NAMES, morphology_features  # noqa: E402

from bench_rhythm_select import ds1_run  # noqa: E402  (bench/ is on the path when this runs)
from bench_rhythm_tune import WIN_SHARE, paired_wins, score  # noqa: E402

SECOND_LEAD_NAMES = tuple(f"lead2_{name}" for name in MORPHOLOGY_FEATURE_NAMES)


def second_lead_features(recording) -> np.ndarray:
    """The six morphology features on the lead that is not the chosen one, rows cut at the reference beats."""
    other = next(i for i in range(recording.signals.shape[1]) if i != recording.lead)
    positions, _ = reference_beats(recording)
    starts = np.round(positions * (MODEL_RATE / recording.fs)).astype(np.int64)
    to_next = np.append(np.diff(starts), np.diff(starts)[-1])
    lengths = np.clip(-((-2 * to_next) // 5), 2, None)  # as records.beat_inputs cuts the chosen lead's rows
    rows = cut_rows(to_model_rate(recording.signals[:, other], recording.fs), starts, lengths)
    return morphology_features(rows)


def main() -> None:
    args, X, y, groups, folds = ds1_run(__doc__)
    p = PARAMS["rhythm"]
    second = np.vstack([second_lead_features(read_mitdb_record(args.mitdb_dir, record)) for record in DS1])
    both = np.hstack([X, second])
    extra = RECORD_FEATURES + SECOND_LEAD_NAMES

    served, served_predicted = score(p, X, y, folds)
    candidate, candidate_predicted = score(p, both, y, folds, extra)
    for name, r in (("served inputs (MLII)", served), ("served + second lead", candidate)):
        print(f"{name}: t={r['threshold']} macro-F1 NSV {r['macro_f1_nsv']:.3f}  S {r['S_se']:.3f}/{r['S_ppv']:.3f}"
              f"  V {r['V_se']:.3f}/{r['V_ppv']:.3f}  ({r['seconds']} s)", flush=True)
    share = paired_wins(y, groups, candidate_predicted, served_predicted, args.boot, p.seed)
    print(f"the second lead wins {share:.0%} of {args.boot} paired resamples: "
          f"{'serve it' if share >= WIN_SHARE else 'keep the served inputs'}")


if __name__ == "__main__":
    main()
