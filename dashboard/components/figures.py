"""Plotly figure builders: pure functions of report entries and prediction tables."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from pipeline.vocabulary import CLASS_NAMES, CLASSES

CLASS_COLOURS = {"N": "#2c7fb8", "S": "#f28e2b", "V": "#d62728", "F": "#8e44ad", "Q": "#2ca02c"}
MODEL_COLOURS = ["#2c3e50", "#18bc9c", "#3498db", "#e67e22"]
METRIC_LABELS = {"precision": "Precision (+P)", "recall": "Recall (Se)", "f1": "F1", "fpr": "False-positive rate"}
_LAYOUT = dict(
    template="plotly_white",
    margin=dict(l=50, r=20, t=50, b=45),
    font=dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size=13),
    legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1),
)


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def class_label(cls: str) -> str:
    return f"{cls} ({CLASS_NAMES.get(cls, cls)})"


def confusion_figure(metrics: Mapping, *, normalise: bool, title: str = "", compact: bool = False) -> go.Figure:
    """Heatmap of a report's confusion matrix, rows = true class; row-normalised when asked."""
    labels = list(metrics["labels"])
    counts = np.asarray(metrics["confusion_matrix"], dtype=float)
    if normalise:
        totals = counts.sum(axis=1, keepdims=True)
        values = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
        text = [[f"{v:.1%}" for v in row] for row in values]
        colour_title = "share of true class"
    else:
        values = counts
        text = [[f"{int(v):,}" for v in row] for row in values]
        colour_title = "beats"
    # Colour by the row share in both views, so the tiny classes (F) stay readable next to N.
    totals = counts.sum(axis=1, keepdims=True)
    shade = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    fig = go.Figure(
        go.Heatmap(
            z=shade,
            x=labels,
            y=labels,
            text=text,
            texttemplate="%{text}",
            customdata=values,
            hovertemplate="true %{y}, predicted %{x}: %{text}<extra></extra>",
            colorscale="Blues",
            zmin=0,
            zmax=1,
            colorbar=dict(title=dict(text="row share"), tickformat=".0%"),
            showscale=not compact,
        )
    )
    fig.update_layout(**_LAYOUT, title=title or None, height=300 if compact else 380)
    fig.update_xaxes(title="Predicted class", side="bottom", type="category")
    fig.update_yaxes(title="True class", autorange="reversed", type="category")
    fig.update_layout(meta={"values": colour_title})
    return fig


def per_class_bars(metrics: Mapping, *, title: str = "") -> go.Figure:
    """Grouped precision / recall / F1 bars, one group per class."""
    labels = list(metrics["labels"])
    fig = go.Figure()
    for i, key in enumerate(("precision", "recall", "f1")):
        values = [metrics["per_class"][lab][key] for lab in labels]
        fig.add_bar(
            name=METRIC_LABELS[key],
            x=labels,
            y=values,
            hovertemplate="%{x}: %{y:.3f}<extra>" + METRIC_LABELS[key] + "</extra>",
            marker_color=MODEL_COLOURS[i],
        )
    fig.update_layout(**_LAYOUT, title=title or None, barmode="group", height=380)
    fig.update_yaxes(range=[0, 1.05], title="score")
    fig.update_xaxes(title="Class", type="category")
    return fig


def comparison_figure(models: Mapping[str, Mapping], metric: str) -> go.Figure:
    """One metric per class, one bar per model; a model without a class gets no bar there."""
    fig = go.Figure()
    for i, (name, metrics) in enumerate(models.items()):
        per_class = metrics["per_class"]
        xs = [c for c in CLASSES if c in per_class]
        values = [per_class[c][metric] for c in xs]
        fig.add_bar(
            name=name,
            x=xs,
            y=values,
            text=[f"{v:.2f}" for v in values],
            textposition="outside",
            marker_color=MODEL_COLOURS[i % len(MODEL_COLOURS)],
        )
    fig.update_layout(**_LAYOUT, barmode="group", height=400)
    upper = 1.12 if metric != "fpr" else None
    fig.update_yaxes(title=METRIC_LABELS[metric], range=[0, upper] if upper else None)
    fig.update_xaxes(title="Class", type="category", categoryorder="array", categoryarray=list(CLASSES))
    return fig


def distribution_figure(splits: Mapping[str, Mapping[str, int]], *, log_scale: bool) -> go.Figure:
    """Beats per class in each split, labelled with count and share."""
    fig = go.Figure()
    for i, (split, counts) in enumerate(splits.items()):
        total = sum(counts.values()) or 1
        values = [counts.get(c, 0) for c in CLASSES]
        fig.add_bar(
            name=f"{split} ({total:,} beats)",
            x=list(CLASSES),
            y=values,
            text=[f"{v:,}<br>{v / total:.1%}" for v in values],
            textposition="outside",
            cliponaxis=False,
            marker_color=MODEL_COLOURS[i],
            hovertemplate="%{x}: %{y:,} beats<extra>" + split + "</extra>",
        )
    fig.update_layout(**_LAYOUT, barmode="group", height=420)
    fig.update_xaxes(
        title="Class", type="category", tickvals=list(CLASSES),
        ticktext=[f"{c}<br>{CLASS_NAMES.get(c, c)}" for c in CLASSES],
    )
    fig.update_yaxes(title="beats" + (" (log scale)" if log_scale else ""), type="log" if log_scale else "linear")
    return fig


def _band(fig, x, mean, std, colour, name, *, row=None, col=None, showlegend=True):
    mean, std = np.asarray(mean), np.asarray(std)
    where = dict(row=row, col=col) if row else {}
    fig.add_trace(
        go.Scatter(
            x=np.concatenate([x, x[::-1]]),
            y=np.concatenate([mean + std, (mean - std)[::-1]]),
            fill="toself",
            fillcolor=_rgba(colour, 0.18),
            line=dict(width=0),
            hoverinfo="skip",
            name=f"{name} ±1 sd",
            legendgroup=name,
            showlegend=False,
        ),
        **where,
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=mean,
            line=dict(color=colour, width=2, dash="dash"),
            name=f"{name} template mean ±1 sd",
            legendgroup=name,
            showlegend=showlegend,
            hovertemplate="sample %{x}: %{y:.3f}<extra>" + name + " mean</extra>",
        ),
        **where,
    )


def templates_figure(templates: Mapping[str, Mapping]) -> go.Figure:
    """Each class's mean training beat with a ±1 sd band, side by side."""
    present = [c for c in CLASSES if c in templates]
    fig = make_subplots(
        rows=1,
        cols=len(present),
        shared_yaxes=True,
        subplot_titles=[f"{class_label(c)}<br>n = {templates[c]['n']:,}" for c in present],
        horizontal_spacing=0.02,
    )
    for i, cls in enumerate(present, start=1):
        mean = np.asarray(templates[cls]["mean"])
        _band(fig, np.arange(len(mean)), mean, templates[cls]["std"], CLASS_COLOURS[cls], cls, row=1, col=i,
              showlegend=False)
    fig.update_layout(**{**_LAYOUT, "margin": dict(l=50, r=20, t=70, b=45)}, height=330, showlegend=False)
    fig.update_annotations(font_size=12)
    fig.update_xaxes(title="sample", showgrid=False)
    fig.update_yaxes(title="amplitude (0-1)", row=1, col=1)
    return fig


def overlay_figure(beats: Sequence[Mapping], templates: Mapping[str, Mapping]) -> go.Figure:
    """Selected beats over their predicted class's template (mean ±1 sd), coloured by class.

    Each item of `beats`: row (1-based), predicted_class, probability, samples.
    """
    fig = go.Figure()
    drawn: set[str] = set()
    for beat in beats:
        cls = beat["predicted_class"]
        if cls not in drawn and cls in templates:
            mean = np.asarray(templates[cls]["mean"])
            _band(fig, np.arange(len(mean)), mean, templates[cls]["std"], CLASS_COLOURS[cls], cls)
            drawn.add(cls)
    dashes = ["solid", "dot", "dashdot", "longdash"]
    seen: dict[str, int] = {}
    for beat in beats:
        cls = beat["predicted_class"]
        k = seen[cls] = seen.get(cls, -1) + 1
        samples = np.asarray(beat["samples"])
        fig.add_scatter(
            x=np.arange(len(samples)),
            y=samples,
            name=f"row {beat['row']}: {cls} ({beat['probability']:.0%})",
            line=dict(color=CLASS_COLOURS.get(cls, "#333"), width=2.5, dash=dashes[k % len(dashes)]),
            hovertemplate="sample %{x}: %{y:.3f}<extra>row " + str(beat["row"]) + "</extra>",
        )
    fig.update_layout(**{**_LAYOUT, "legend": dict(orientation="v", x=1.01, y=1, xanchor="left")}, height=420)
    fig.update_xaxes(title="sample")
    fig.update_yaxes(title="amplitude (0-1)")
    return fig


def counts_figure(counts: Mapping[str, Mapping[str, int]]) -> go.Figure:
    """Beats per predicted class, one bar group per model."""
    fig = go.Figure()
    for i, (model, per_class) in enumerate(counts.items()):
        values = [per_class.get(c, 0) for c in CLASSES]
        fig.add_bar(
            name=model,
            x=list(CLASSES),
            y=values,
            text=[f"{v:,}" for v in values],
            textposition="outside",
            cliponaxis=False,
            marker_color=[CLASS_COLOURS[c] for c in CLASSES] if len(counts) == 1 else MODEL_COLOURS[i],
        )
    fig.update_layout(**_LAYOUT, barmode="group", height=320, showlegend=len(counts) > 1)
    fig.update_xaxes(title="Predicted class", type="category", tickvals=list(CLASSES), ticktext=list(CLASSES))
    fig.update_yaxes(title="beats")
    return fig
