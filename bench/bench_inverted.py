"""What an upside-down ECG does: beat detection and the served rhythm-aware cascade with every lead inverted.

    .venv/bin/python bench/bench_inverted.py [--mitdb-dir ../shared/mitdb] [--models models]

Electrodes swapped, or a device that records a lead with the other sign, give the same ECG times -1. The QRS
envelope the detector reads is |band-passed ECG| and the cascade's shape features are relative to the patient's
own median beat, but sleepecg's thresholding reads the signed band-passed signal, and the beat rows are min-max
normalised from the R peak. Measured, not assumed:

- detection on the 44 non-paced records, upright and inverted (EC57 scoring as bench_detect.py: gross Se / +P for
  all 44, DS1 and DS2, and the records under 99.5%);
- classify_recording (detected beats, the served bundle) on the 22 DS2 records, upright and inverted: per-class
  Se / +P, and how many beats changed class.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
from bench_detect import FS, RECORDS, read, score  # noqa: E402
from detect_grid import gross  # noqa: E402

from pipeline.bundle import load_bundle  # noqa: E402
from pipeline.dataset import DS1, DS2  # noqa: E402
from pipeline.detect import detect_beats  # noqa: E402
from pipeline.records import classify_recording, read_mitdb_record, record_model, scores_from_matrix  # noqa: E402
from pipeline.vocabulary import CLASSES  # noqa: E402


def detection(mitdb_dir: Path) -> None:
    data = {r: read(mitdb_dir, r) for r in RECORDS}
    print("| leads | all 44 Se / +P | DS1 Se / +P | DS2 Se / +P | records under 99.5% (Se/+P) |")
    print("|---|---|---|---|---|")
    for name, sign in (("upright", 1.0), ("inverted", -1.0)):
        counts = {r: score(data[r][1], detect_beats(sign * data[r][0], FS), data[r][3])[0] for r in RECORDS}
        under = [f"{r} {se:.1f}/{ppv:.1f}" for r in RECORDS for se, ppv in [gross(counts, [r])] if min(se, ppv) < 99.5]
        cells = [gross(counts, records) for records in (RECORDS, DS1, DS2)]
        print(f"| {name} | " + " | ".join(f"{se:.2f} / {ppv:.2f}" for se, ppv in cells)
              + f" | {len(under)}: {', '.join(under)} |", flush=True)


def classification(mitdb_dir: Path, models: Path) -> None:
    model = record_model(load_bundle(models, n_jobs=2, only=("rhythm",)))
    k = len(CLASSES)
    totals = {name: np.zeros((k + 1, k + 1), np.int64) for name in ("upright", "inverted")}
    same = changed = 0
    for record in DS2:
        recording = read_mitdb_record(mitdb_dir, record)
        upright = classify_recording(recording, model)
        inverted = classify_recording(dataclasses.replace(recording, signals=-recording.signals), model)
        totals["upright"] += np.asarray(upright.reference["confusion_matrix"])
        totals["inverted"] += np.asarray(inverted.reference["confusion_matrix"])
        # Beats found at the same sample both ways: did they keep their class?
        a, b = upright.table, inverted.table
        both = np.intersect1d(a["sample"], b["sample"])
        kept = (a.set_index("sample").loc[both, "predicted_class"].to_numpy()
                == b.set_index("sample").loc[both, "predicted_class"].to_numpy())
        same, changed = same + int(kept.sum()), changed + int((~kept).sum())
    print("\n| DS2, detected beats | " + " | ".join(f"{c} Se / +P" for c in "NSVF") + " | macro-F1 N,S,V |")
    print("|---|---|---|---|---|---|")
    for name, cm in totals.items():
        scores = scores_from_matrix(cm)
        cells = [f"{100 * scores['per_class'][c]['sensitivity']:.1f} / {100 * scores['per_class'][c]['positive_predictivity']:.1f}"
                 for c in "NSVF"]
        print(f"| {name} | " + " | ".join(cells) + f" | {scores['macro_f1_nsv']:.3f} |")
    print(f"\nBeats found at the same sample both ways: {same + changed:,}; "
          f"{changed:,} ({changed / (same + changed):.1%}) changed class when the leads were inverted.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mitdb-dir", type=Path, default=Path(os.environ.get("MITDB_DIR", "/work/shared/mitdb")))
    parser.add_argument("--models", type=Path, default=REPO / "models")
    args = parser.parse_args()
    detection(args.mitdb_dir)
    classification(args.mitdb_dir, args.models)


if __name__ == "__main__":
    main()
