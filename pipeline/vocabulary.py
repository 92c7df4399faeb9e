"""The words every stage shares: the AAMI classes, the beat row's shape and the container of beats."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CLASSES = ("N", "S", "V", "F", "Q")
CLASS_NAMES = {
    "N": "Normal",
    "S": "Supraventricular ectopic",
    "V": "Ventricular ectopic",
    "F": "Fusion",
    "Q": "Unknown / paced",
}
NORMAL = 0
ABNORMAL_CLASSES = np.array([1, 2, 3, 4])  # S V F Q, the multi-class stage's 0..3

# AAMI EC57 grouping of the MIT-BIH beat symbols, as in the Kaggle CSVs.
AAMI = {
    **dict.fromkeys("NLRej", 0),
    **dict.fromkeys("AaJS", 1),
    **dict.fromkeys("VE", 2),
    "F": 3,
    **dict.fromkeys("/fQ", 4),
}

N_SAMPLES = 187  # values in one Kaggle-format beat row (120 Hz, zero-padded)
ROW_RATE_HZ = 120.0
FEATURES = [f"x{i}" for i in range(N_SAMPLES)]  # the beat table's sample columns


@dataclass
class Beats:
    """Beat rows ready for a model: X (n, 187) float32 in [0, 1], labels 0..4 when known."""

    X: np.ndarray
    y: np.ndarray | None = None
    warnings: list[str] = field(default_factory=list)
    header_skipped: bool = False  # the user's file began with column names, skipped (pipeline.validate)


def class_counts(labels) -> dict[str, int]:
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=len(CLASSES))
    return {c: int(n) for c, n in zip(CLASSES, counts)}
