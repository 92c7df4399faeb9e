"""Label beats with a bundled model: the prediction table the CLI writes and the dashboard shows."""
from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.models import decide
from pipeline.vocabulary import CLASSES, Beats

MODEL_NAMES = {"cascade": "XGBoost cascade", "logreg": "Logistic Regression"}


def predict_table(bundle, beats: Beats, model: str = "cascade") -> pd.DataFrame:
    """One row per beat: row (1-based), predicted label and class, the five probabilities, true label if known."""
    if model not in MODEL_NAMES:
        raise ValueError(f"Unknown model '{model}': choose one of {', '.join(MODEL_NAMES)}.")
    estimator = bundle.models[model]
    proba = estimator.predict_proba(beats.X)
    # The cascade's decision is thresholded (as its predict does); LR's is the most probable class.
    predicted = decide(proba, estimator.threshold_) if model == "cascade" else np.argmax(proba, axis=1)
    table = pd.DataFrame({
        "row": np.arange(1, len(beats.X) + 1),
        "predicted_label": predicted.astype(int),
        "predicted_class": np.asarray(CLASSES)[predicted],
    })
    for i, name in enumerate(CLASSES):
        table[f"p_{name}"] = proba[:, i].round(6)
    if beats.y is not None:
        table["true_label"] = beats.y.astype(int)
    return table
