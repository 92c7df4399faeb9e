"""A candidate for the rhythm-aware cascade's V beats: the whole QRS, centred on R, against the patient's median beat.

    .venv/bin/python bench/bench_rhythm_template.py [--mitdb-dir /work/shared/mitdb] [--boot 300]

The served shape features read the beat's Kaggle row, which starts at the R peak: the QRS's onset, where a wide
ventricular beat departs most from the patient's normal ones, is not in it. Template matching, the classic way
Holter software sorts beats, compares the whole complex with the patient's usual one. This candidate adds two
features read off the 360 Hz signal from 100 ms before R to 150 ms after, the level of its first 20 ms removed:
the correlation with the recording's median window, and the root-mean-square difference from it over the median
window's peak-to-peak amplitude. Fixed before the run; scored as bench_rhythm_tune scores a setting (leave one DS1
record out, served PARAMS["rhythm"], pooled macro-F1 N,S,V at the best threshold) beside the served inputs, and
served only if it beats them in at least 80% of 300 paired record resamples. DS1 only.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from pipeline.dataset import DS1  # noqa: E402
from pipeline.models import PARAMS  # noqa: E402
from pipeline.recording import to_model_rate  # noqa: E402
from pipeline.records import MODEL_RATE, RECORD_FEATURES, read_mitdb_record, reference_beats  # noqa: E402

from bench_rhythm_select import ds1_run  # noqa: E402  (bench/ is on the path when this runs)
from bench_rhythm_tune import WIN_SHARE, paired_wins, score  # noqa: E402

TEMPLATE_FEATURE_NAMES = ("template_corr", "template_rms_rel")


def template_features(signal: np.ndarray, r_samples: np.ndarray, fs: float) -> np.ndarray:
    before, after = int(0.1 * fs), int(0.15 * fs)
    padded = np.pad(np.asarray(signal, np.float32), (before, after), mode="edge")
    windows = sliding_window_view(padded, before + after)[np.clip(r_samples, 0, len(signal) - 1)]
    windows = windows - windows[:, :int(0.02 * fs)].mean(axis=1, keepdims=True)
    template = np.median(windows, axis=0)
    a = windows - windows.mean(axis=1, keepdims=True)
    b = template - template.mean()
    denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum())
    corr = np.divide(a @ b, denominator, out=np.zeros(len(a), np.float32), where=denominator > 0)
    rms = np.sqrt(((windows - template) ** 2).mean(axis=1)) / max(float(np.ptp(template)), 1e-6)
    return np.column_stack([corr, rms]).astype(np.float32)


def main() -> None:
    args, X, y, groups, folds = ds1_run(__doc__)
    p = PARAMS["rhythm"]
    extra = []
    for record in DS1:
        recording = read_mitdb_record(args.mitdb_dir, record)
        positions, _ = reference_beats(recording)
        starts = np.round(positions * (MODEL_RATE / recording.fs)).astype(np.int64)
        extra.append(template_features(to_model_rate(recording.signal, recording.fs), starts, MODEL_RATE))
    served, served_predicted = score(p, X, y, folds)
    candidate, candidate_predicted = score(p, np.hstack([X, np.vstack(extra)]), y, folds,
                                           RECORD_FEATURES + TEMPLATE_FEATURE_NAMES)
    for name, r in (("served inputs", served), ("served inputs + the centred QRS against the median beat", candidate)):
        print(f"{name}: t={r['threshold']} macro-F1 NSV {r['macro_f1_nsv']:.3f}  S {r['S_se']:.3f}/{r['S_ppv']:.3f}"
              f"  V {r['V_se']:.3f}/{r['V_ppv']:.3f}  ({r['seconds']} s)")
    share = paired_wins(y, groups, candidate_predicted, served_predicted, args.boot, p.seed)
    print(f"the candidate wins {share:.0%} of {args.boot} paired resamples: "
          f"{'serve it' if share >= WIN_SHARE else 'keep the served inputs'}")


if __name__ == "__main__":
    main()
