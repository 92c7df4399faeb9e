"""The dashboard's colours, defined once: one per class, one per model, and neutral ones for splits and metrics."""
from __future__ import annotations

# Classes: the same hue wherever a class appears (figures, table cells, explanations).
CLASS_COLOURS = {"N": "#2c7fb8", "S": "#f28e2b", "V": "#d62728", "F": "#8e44ad", "Q": "#2ca02c"}
# Models: hues no class uses, so a model's bar is never read as a class.
MODEL_COLOURS = {"logreg": "#8c6d31", "binary": "#17becf", "multiclass": "#bcbd22", "cascade": "#393b79"}
# Train/test and the metrics are not models: greys and earth tones of their own.
SPLIT_COLOURS = {"train": "#a6a6a6", "test": "#4d4d4d"}
METRIC_COLOURS = {"precision": "#b07aa1", "recall": "#59a89c", "f1": "#7f7f7f", "fpr": "#e15759"}
# Explanations: what pushed toward the decision, and what pushed against it.
TOWARD, AGAINST = "#b2182b", "#2166ac"


def rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"
