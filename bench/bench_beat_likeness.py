"""Where pipeline.records.MIN_BEAT_LIKENESS comes from: how alike the beats found in real ECG and in noise are.

    .venv/bin/python bench/bench_beat_likeness.py [--mitdb-dir /work/shared/mitdb]

The detector finds peaks in anything, so a recording of noise, or a lead that is not an ECG, comes back
with "beats". What tells them apart is whether the beats look alike: the median, over the beats found, of
each QRS's correlation with the recording's median beat (the morph_corr_qrs feature). Measured here on
detected beats: every whole MIT-BIH record (48), each one-minute stretch of them (cut into separate
recordings, so the median beat is the minute's own), and ten minutes of synthetic non-ECG signals at 360 Hz.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from pipeline.dataset import ALL_RECORDS  # noqa: E402
from pipeline.detect import detect_beats  # noqa: E402
from pipeline.records import MIN_BEAT_LIKENESS, beat_inputs, read_mitdb_record  # noqa: E402
from pipeline.rhythm import MORPHOLOGY_FEATURE_NAMES, morphology_features  # noqa: E402
from pipeline.vocabulary import N_SAMPLES  # noqa: E402

QRS = MORPHOLOGY_FEATURE_NAMES.index("morph_corr_qrs")


def likeness(rows: np.ndarray) -> float:
    return float(np.median(morphology_features(rows)[:, QRS]))


def detected_rows(signals: np.ndarray, fs: float, lead: int) -> tuple[np.ndarray, np.ndarray]:
    positions = detect_beats(signals, fs, lead)
    return positions, beat_inputs(signals[:, lead], fs, positions, snap=True)[:, :N_SAMPLES]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb-dir", default="/work/shared/mitdb")
    args = parser.parse_args()
    whole, minutes = [], []
    for record in ALL_RECORDS:
        recording = read_mitdb_record(args.mitdb_dir, record)
        positions, rows = detected_rows(recording.signals, recording.fs, recording.lead)
        whole.append((likeness(rows), record))
        minute = (positions / recording.fs // 60).astype(int)
        minutes += [(likeness(rows[minute == m]), f"{record} minute {m}") for m in np.unique(minute)
                    if np.sum(minute == m) >= 20]
    whole.sort()
    minutes.sort()
    print(f"whole records (48): lowest {', '.join(f'{r} {v:.2f}' for v, r in whole[:3])}")
    below = [f"{r} {v:.2f}" for v, r in minutes if v < MIN_BEAT_LIKENESS]
    print(f"one-minute stretches ({len(minutes)}): 1st percentile {minutes[len(minutes) // 100][0]:.2f}; "
          f"{len(below)} below {MIN_BEAT_LIKENESS}: {', '.join(below)}")
    fs, rng = 360.0, np.random.default_rng(1)
    t = np.arange(int(600 * fs)) / fs
    synthetic = {"white noise": rng.normal(size=t.size), "brown noise": np.cumsum(rng.normal(size=t.size)),
                 "0.3 Hz sine + noise": np.sin(2 * np.pi * 0.3 * t) + 0.1 * rng.normal(size=t.size),
                 "50 Hz mains hum + noise": np.sin(2 * np.pi * 50 * t) + 0.2 * rng.normal(size=t.size),
                 "1.2 Hz square wave": np.sign(np.sin(2 * np.pi * 1.2 * t)),
                 "1 Hz sine (periodic: not caught)": np.sin(2 * np.pi * t)}
    for name, signal in synthetic.items():
        positions, rows = detected_rows(signal[:, None], fs, 0)
        print(f"{name}: {len(positions):,} 'beats', likeness {likeness(rows):.2f}")


if __name__ == "__main__":
    main()
