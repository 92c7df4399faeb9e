"""The training report (models/report.json) as typed, versioned objects: what every figure is and what it was tuned and tested on."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import numpy as np

REPORT_VERSION = 2


class ReportError(ValueError):
    """report.json is not a report this code can read; the message says what to do."""


@dataclass(frozen=True)
class ClassMetrics:
    precision: float  # +P
    recall: float  # Se
    f1: float
    support: int
    fpr: float


@dataclass(frozen=True)
class Metrics:
    """One model on one test set: accuracy, macro-F1, confusion matrix (rows true, columns predicted), per class."""

    labels: list[str]
    n: int
    accuracy: float
    macro_f1: float
    confusion_matrix: list[list[int]]
    per_class: dict[str, ClassMetrics]
    roc_auc: float | None = None  # binary stage only
    threshold: float | None = None  # binary stage only
    score_reliability: dict | None = None  # what each class's score meant on these beats (evaluate.score_reliability)

    @classmethod
    def from_dict(cls, d: dict) -> Metrics:
        return cls(**{**_known(cls, d), "per_class": {k: ClassMetrics(**v) for k, v in d["per_class"].items()}})


@dataclass(frozen=True)
class Protocol:
    """One evaluation protocol: what was trained, tuned and tested on what, and every model's metrics."""

    title: str
    available: bool
    reason: str = ""  # why not available
    trained_on: str = ""
    tuned_on: str = ""
    tested_on: str = ""
    splits: dict[str, dict[str, int]] = field(default_factory=dict)
    threshold: float | None = None
    models: dict[str, Metrics] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> Protocol:
        return cls(**{**_known(cls, d), "models": {k: Metrics.from_dict(v) for k, v in d.get("models", {}).items()}})


@dataclass(frozen=True)
class Report:
    version: int
    created: str
    classes: list[str]
    params: dict
    dataset: dict
    templates: dict[str, dict]
    protocols: dict[str, Protocol]
    recordings: dict = field(default_factory=dict)  # beat detection and the rhythm-aware cascade on records

    @classmethod
    def from_dict(cls, d: dict) -> Report:
        if not isinstance(d, dict) or d.get("version") != REPORT_VERSION:
            found = d.get("version", "none") if isinstance(d, dict) else "none"
            raise ReportError(f"report.json has version {found}, this code reads version {REPORT_VERSION}: "
                              "retrain the bundle (python -m pipeline train) or evaluate it again (python -m pipeline evaluate).")
        try:
            return cls(**{**_known(cls, d), "protocols": {k: Protocol.from_dict(v) for k, v in d["protocols"].items()}})
        except (KeyError, TypeError) as exc:
            raise ReportError(f"report.json is incomplete ({exc}): retrain the bundle.") from None

    def to_dict(self) -> dict:
        return asdict(self)


def _known(cls, d: dict) -> dict:
    """The fields of cls found in d; a missing required field raises TypeError in the constructor."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in d.items() if k in names}


def new_patient_note(recordings: dict) -> str | None:
    """How far a recording's class counts can be trusted, as one sentence: the rhythm-aware cascade's Se and +P for
    S, V and F on the test patients with detected beats (the report's "recordings" section); None without one."""
    try:
        per_class = recordings["detected_beats"]["per_class"]
        patients = len(recordings["records"]["test"])
    except (KeyError, TypeError):
        return None
    found = "; ".join(f"{per_class[c]['sensitivity']:.0%} of {c} beats (of its {c} calls "
                      f"{per_class[c]['positive_predictivity']:.0%} were right)" for c in ("S", "V", "F") if c in per_class)
    from pipeline.dataset import PACED

    paced = set(PACED) & set(recordings["records"].get("train", []))
    unpaced = "" if paced else " It learnt from no paced recording: paced beats come out as N or V, almost never Q."
    return (f"on {patients} patient{'s' if patients != 1 else ''} it was not trained on (MIT-BIH DS2, beats found by "
            "the detector) the model found "
            f"{found}. Few or no S or F beats does not mean there are none.{unpaced}")


def share(fraction: float) -> str:
    """A share as a percentage that never rounds a small one to 0% or a large one to 100%."""
    if fraction <= 0 or fraction >= 1:
        return f"{fraction:.0%}"
    if fraction < 0.0001:
        return "<0.01%"
    if fraction > 0.9999:
        return ">99.99%"
    if fraction < 0.01 or fraction > 0.99:
        return f"{fraction:.2%}"
    return f"{fraction:.1%}"


MIN_BAND_BEATS = 20  # fewer test beats in a score band than this say too little about it


def score_band(bands, scores) -> np.ndarray:
    """The band of each score: a band holds its lower edge, and the last one its upper edge too (a score of 1)."""
    return np.clip(np.searchsorted(bands, scores, side="right") - 1, 0, len(bands) - 2)


def score_meaning(recordings: dict, cls: str, score: float) -> str | None:
    """What a beat the rhythm-aware cascade gave class `cls` at `score` meant on the test patients, as one sentence
    (the report's recordings.score_reliability, measured on detected beats); None without one."""
    try:
        patients = len(recordings["records"]["test"])
    except (KeyError, TypeError):
        return None
    return _band_sentence(recordings.get("score_reliability"), cls, score,
                          f"On {patients} patients it was not trained on (MIT-BIH DS2)")


def row_score_meaning(metrics: Metrics | None, cls: str, score: float) -> str | None:
    """The same for a row model, from its metrics on the intra-patient test split; None without a table."""
    return _band_sentence(metrics.score_reliability if metrics else None, cls, score,
                          "On the test split (beats it never saw, of the patients it was trained on, so the "
                          "best case)")


def _band_sentence(reliability: dict | None, cls: str, score: float, opening: str) -> str | None:
    try:
        bands, rows = reliability["bands"], reliability["classes"][cls]
    except (KeyError, TypeError):
        return None
    band = int(score_band(bands, score))
    row = rows[band]
    scores = f"a score of {100 * bands[band]:g}-{100 * bands[band + 1]:g}%"
    if row["beats"] < MIN_BAND_BEATS:
        return (f"{opening}, only {row['beats']} beats were called {cls} with {scores}: too few to say how often such "
                "a call is right.")
    return (f"{opening}, beats it called {cls} with {scores} were {cls} in {share(row['right'])} of cases "
            f"({row['beats']:,} beats): a score is not a probability.")
