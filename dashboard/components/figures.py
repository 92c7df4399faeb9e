"""Plotly figure builders: pure functions of report entries and prediction tables."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from pipeline.vocabulary import CLASS_NAMES, CLASSES, ROW_RATE_HZ

from dashboard.components.wording import share
from dashboard.components.palette import (
    AGAINST,
    CLASS_COLOURS,
    METRIC_COLOURS,
    MODEL_COLOURS,
    SPLIT_COLOURS,
    TOWARD,
    rgba,
)

METRIC_LABELS = {"precision": "Precision (+P)", "recall": "Recall (Se)", "f1": "F1", "fpr": "False-positive rate"}
_LAYOUT = dict(
    template="plotly_white",
    margin=dict(l=50, r=20, t=50, b=45),
    font=dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size=13),
    # Legends under the plot: the modebar (top right) never covers them, and they wrap on a phone.
    legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0),
)
MS_PER_SAMPLE = 1000.0 / ROW_RATE_HZ


def graph_config(filename: str, *, zoom: bool = True) -> dict:
    """dcc.Graph's config: no cloud sharing of the user's beats, downloads named after the figure.

    Box and lasso select do nothing on these figures; zoom=False also drops zoom and pan (bar charts, heatmaps).
    """
    remove = ["sendChartToCloud", "sendDataToCloud", "select2d", "lasso2d"]
    if not zoom:
        remove += ["zoom2d", "pan2d", "zoomIn2d", "zoomOut2d", "autoScale2d"]
    return {
        "displaylogo": False,
        "showSendToCloud": False,
        "showEditInChartStudio": False,
        "modeBarButtonsToRemove": remove,
        "toImageButtonOptions": {"filename": filename, "format": "png"},
    }


def ms_axis(n: int) -> np.ndarray:
    """Sample numbers of a 120 Hz row as milliseconds after the R peak."""
    return np.arange(n) * MS_PER_SAMPLE


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
    for key in ("precision", "recall", "f1"):
        values = [metrics["per_class"][lab][key] for lab in labels]
        fig.add_bar(
            name=METRIC_LABELS[key],
            x=labels,
            y=values,
            hovertemplate="%{x}: %{y:.3f}<extra>" + METRIC_LABELS[key] + "</extra>",
            marker_color=METRIC_COLOURS[key],
        )
    fig.update_layout(**_LAYOUT, title=title or None, barmode="group", height=400)
    fig.update_yaxes(range=[0, 1.05], title="score")
    fig.update_xaxes(title="Class", type="category")
    return fig


def comparison_figure(models: Mapping[str, Mapping], metric: str, names: Mapping[str, str]) -> go.Figure:
    """One metric per class, one bar per model (keyed as in the report); a model without a class gets no bar there."""
    fig = go.Figure()
    for key, metrics in models.items():
        per_class = metrics["per_class"]
        xs = [c for c in CLASSES if c in per_class]
        values = [per_class[c][metric] for c in xs]
        fig.add_bar(
            name=names[key],
            x=xs,
            y=values,
            text=[f"{v:.2f}" for v in values],
            textposition="outside",
            marker_color=MODEL_COLOURS[key],
        )
    fig.update_layout(**_LAYOUT, barmode="group", height=430)
    upper = 1.12 if metric != "fpr" else None
    fig.update_yaxes(title=METRIC_LABELS[metric], range=[0, upper] if upper else None)
    fig.update_xaxes(title="Class", type="category", categoryorder="array", categoryarray=list(CLASSES))
    return fig


def distribution_figure(splits: Mapping[str, Mapping[str, int]], *, log_scale: bool) -> go.Figure:
    """Beats per class in each split, labelled with count and share."""
    fig = go.Figure()
    for split, counts in splits.items():
        total = sum(counts.values()) or 1
        values = [counts.get(c, 0) for c in CLASSES]
        fig.add_bar(
            name=f"{split} ({total:,} beats)",
            x=list(CLASSES),
            y=values,
            text=[f"{v:,}<br>{share(v / total)}" for v in values],
            textposition="outside",
            cliponaxis=False,
            marker_color=SPLIT_COLOURS.get(split, "#7f7f7f"),
            hovertemplate="%{x}: %{y:,} beats<extra>" + split + "</extra>",
        )
    fig.update_layout(**_LAYOUT, barmode="group", height=420)
    fig.update_xaxes(
        title="Class", type="category", tickvals=list(CLASSES),
        ticktext=[f"{c}<br>{CLASS_NAMES.get(c, c)}" for c in CLASSES],
    )
    if log_scale:
        # From 1 beat up: the default range starts near the smallest bar, which then looks empty.
        top = max(max(c.values(), default=1) for c in splits.values())
        fig.update_yaxes(title="beats (log scale)", type="log", range=[0, np.log10(max(top, 1)) + 0.6])
    else:
        fig.update_yaxes(title="beats")
    return fig


def _band(fig, mean, std, colour, name) -> None:
    """A class template: its mean (dashed) and a ±1 sd band clipped to [0, 1], where beats live."""
    mean, std = np.asarray(mean, dtype=float), np.asarray(std, dtype=float)
    x = ms_axis(len(mean))
    upper, lower = np.clip(mean + std, 0, 1), np.clip(mean - std, 0, 1)
    fig.add_scatter(x=np.concatenate([x, x[::-1]]), y=np.concatenate([upper, lower[::-1]]), fill="toself",
                    fillcolor=rgba(colour, 0.18), line=dict(width=0), hoverinfo="skip", name=f"{name} ±1 sd",
                    showlegend=False)
    fig.add_scatter(x=x, y=mean, line=dict(color=colour, width=2, dash="dash"), name=f"{name} template",
                    showlegend=False, hovertemplate="%{x:.0f} ms: %{y:.3f}<extra>" + name + " template</extra>")


def _beat_axes(fig, height: int) -> go.Figure:
    # No title inside: on a narrow panel the modebar would cover it; pages put it above the figure.
    fig.update_layout(**{**_LAYOUT, "margin": dict(l=45, r=10, t=30, b=40)}, height=height, showlegend=False)
    fig.update_xaxes(title="ms after the R peak", range=[0, ms_axis(188)[-1]], showgrid=False)
    fig.update_yaxes(title="amplitude", range=[-0.02, 1.02])
    return fig


def template_figure(cls: str, template: Mapping) -> go.Figure:
    """One class's mean training beat with a ±1 sd band: one small figure per class, so each wraps on a phone."""
    fig = go.Figure()
    _band(fig, template["mean"], template["std"], CLASS_COLOURS[cls], cls)
    return _beat_axes(fig, 230)


def beat_figure(beat: Mapping, template: Mapping | None) -> go.Figure:
    """One beat (solid) over the template of the class it was given: a panel of the Predict page's overlay.

    `beat`: row (1-based), predicted_class, samples.
    """
    cls = beat["predicted_class"]
    colour = CLASS_COLOURS.get(cls, "#333333")
    fig = go.Figure()
    if template is not None:
        _band(fig, template["mean"], template["std"], colour, cls)
    samples = np.asarray(beat["samples"])
    fig.add_scatter(x=ms_axis(len(samples)), y=samples, name=f"row {beat['row']}", line=dict(color=colour, width=2.5),
                    hovertemplate="%{x:.0f} ms: %{y:.3f}<extra>row " + str(beat["row"]) + "</extra>")
    return _beat_axes(fig, 230)


def explanation_figure(samples, explanation, stage: str, template: Mapping | None) -> go.Figure:
    """The beat with the stretches that pushed a stage's decision shaded: red toward it, blue against.

    stage: "abnormal" (the binary stage) or "class" (the multi-class stage). The waveform
    stretches shade the whole height; the QRS-slope stretches a strip along the bottom; rhythm
    features that sit at a point (the next R peak, the row's end) get a line.
    """
    reasons = explanation.abnormal_reasons if stage == "abnormal" else explanation.class_reasons
    strongest = max((abs(r.weight) for r in reasons), default=0) or 1
    fig = go.Figure()
    for reason in reasons:
        if reason.span is None or abs(reason.weight) < 0.05 * strongest:
            continue
        colour = rgba(TOWARD if reason.weight > 0 else AGAINST, 0.08 + 0.4 * abs(reason.weight) / strongest)
        x0, x1 = ms_axis(reason.span[1] + 1)[[reason.span[0], reason.span[1]]]
        if reason.key.startswith("wave "):
            fig.add_vrect(x0=x0, x1=x1, fillcolor=colour, line_width=0, layer="below")
        elif reason.key.startswith("slope "):
            fig.add_shape(type="rect", x0=x0, x1=x1, y0=-0.02, y1=0.08, fillcolor=colour, line_width=0, layer="below")
        else:
            fig.add_vline(x=x0, line=dict(color=colour, width=3, dash="dot"))
    cls = explanation.predicted_class
    if template is not None:
        _band(fig, template["mean"], template["std"], CLASS_COLOURS[cls], cls)
    samples = np.asarray(samples)
    fig.add_scatter(x=ms_axis(len(samples)), y=samples, line=dict(color="#222222", width=2.5), name="this beat",
                    hovertemplate="%{x:.0f} ms: %{y:.3f}<extra>this beat</extra>")
    return _beat_axes(fig, 300)


def counts_figure(counts: Mapping[str, Mapping[str, int]], names: Mapping[str, str]) -> go.Figure:
    """Beats per predicted class, one bar group per model (keyed as in the report); one model: class colours."""
    fig = go.Figure()
    for model, per_class in counts.items():
        values = [per_class.get(c, 0) for c in CLASSES]
        fig.add_bar(
            name=names[model],
            x=list(CLASSES),
            y=values,
            text=[f"{v:,}" for v in values],
            textposition="outside",
            cliponaxis=False,
            marker_color=[CLASS_COLOURS[c] for c in CLASSES] if len(counts) == 1 else MODEL_COLOURS[model],
        )
    fig.update_layout(**_LAYOUT, barmode="group", height=340, showlegend=len(counts) > 1)
    fig.update_xaxes(title="Predicted class", type="category", tickvals=list(CLASSES), ticktext=list(CLASSES))
    fig.update_yaxes(title="beats")
    return fig
