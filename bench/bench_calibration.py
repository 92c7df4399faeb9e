"""What the rhythm-aware cascade's probabilities mean on new patients: how often a beat given a class at a score is that class.

    .venv/bin/python bench/bench_calibration.py [--mitdb-dir /work/shared/mitdb] [--models models]

Every beat comes out with p_N ... p_Q, and the pages show the predicted class's one as "probability". The binary
stage learnt from abnormal beats oversampled by SMOTE to as many as the normal ones, and the threshold (0.80 on
P(abnormal)) was chosen for macro-F1, so these numbers are scores, not frequencies, unless measured to be. For the
served bundle's rhythm-aware cascade (trained on DS1 only) on the 22 DS2 records, beats as detected and matched to
the reference as EC57 does (an extra detection is wrong whatever its class): for each class the cascade gave, the
beats in bands of the score it showed, and the share whose reference class it is (the band's +P). Also the same for
the 22 leave-one-DS1-record-out folds (held-out probabilities, served settings), the patients the choices were made
on. Nothing here chooses anything; it measures.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from pipeline.bundle import load_bundle  # noqa: E402
from pipeline.dataset import DS1, DS2  # noqa: E402
from pipeline.evaluate import score_reliability  # noqa: E402
from pipeline.models import (PARAMS, average_look_alikes, decide, held_out_proba, make_binary,  # noqa: E402
                             make_multiclass)
from pipeline.records import (RECORD_FEATURES, class_scores, classify_recording, read_mitdb_record, record_inputs,  # noqa: E402
                              record_model, reference_of_beats)
from pipeline.rhythm import ds1_folds  # noqa: E402



def ds2_detected(mitdb_dir: Path, model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every detected DS2 beat: the class given, the score shown for it, and its matched reference class (-1: none)."""
    given, shown, truth = [], [], []
    for record in DS2:
        recording = read_mitdb_record(mitdb_dir, record)
        table = classify_recording(recording, model).table
        given.append(table["predicted_label"].to_numpy())
        shown.append(class_scores(table))
        truth.append(reference_of_beats(recording, table["sample"].to_numpy()))
    return np.concatenate(given), np.concatenate(shown), np.concatenate(truth)


def ds1_held_out(mitdb_dir: Path, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X, y, groups = record_inputs(mitdb_dir, DS1)
    p = PARAMS["rhythm"]
    proba = held_out_proba(make_binary(p, RECORD_FEATURES), make_multiclass(p, RECORD_FEATURES), X, y,
                           ds1_folds(groups, len(DS1)))
    if p.look_alikes:  # as the served cascade does within each recording
        proba = average_look_alikes(proba, X[:, -len(RECORD_FEATURES):], p.look_alikes, p.look_alike_weight, groups)
    predicted = decide(proba, threshold)
    return predicted, proba[np.arange(len(proba)), predicted], y


def table(title: str, given: np.ndarray, shown: np.ndarray, truth: np.ndarray) -> None:
    """pipeline.records.score_reliability's table (the report's), with each class's beats in all bands beside it."""
    reliability = score_reliability(given, shown, truth)
    bands = reliability["bands"]
    names = [f"{lo:.2f}-{hi:.2f}" for lo, hi in zip(bands[:-1], bands[1:])]
    print(f"\n{title}\n\n| class given | {' | '.join(names)} | all |\n|---|{'---|' * (len(names) + 1)}")
    for label, (name, cells) in enumerate(reliability["classes"].items()):
        mine = given == label
        if mine.any():
            row = " | ".join("–" if c["right"] is None else f"{c['right']:.1%} ({c['beats']:,})" for c in cells)
            print(f"| {name} | {row} | {float(np.mean(truth[mine] == label)):.1%} ({int(mine.sum()):,}) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb-dir", type=Path, default=Path(os.environ.get("MITDB_DIR", "/work/shared/mitdb")))
    parser.add_argument("--models", type=Path, default=ROOT / "models")
    args = parser.parse_args()
    model = record_model(load_bundle(args.models, n_jobs=os.cpu_count() or 1, only=("rhythm",)))
    print(f"served threshold {model.threshold_:g}")
    table("DS2, detected beats, the served bundle (trained on DS1)", *ds2_detected(args.mitdb_dir, model))
    table("DS1, each record held out once (served settings)", *ds1_held_out(args.mitdb_dir, model.threshold_))


if __name__ == "__main__":
    main()
