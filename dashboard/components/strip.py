"""Figure builders for a whole recording: the ECG strip with every beat's class, the R-R tachogram, one beat against its template.

Pure functions: arrays in, figure out. The page decides what window to show and
decimates the signal (dashboard/recordings.py); these only draw.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from pipeline.vocabulary import CLASS_NAMES, CLASSES

from dashboard.components.figures import _LAYOUT, ms_axis
from dashboard.components.palette import CLASS_COLOURS, rgba

PAPER_MAX_S = 12.0  # ECG-paper grid (0.2 s / 0.5 mV, minor 0.04 s / 0.1 mV) at this zoom or closer
LETTERS_MAX_S = 40.0  # class letters above the beats at this zoom or closer; coloured marks only beyond
MAX_MARKS = 3000  # beats marked in one view; beyond it only the ectopic ones are
PAPER_MAJOR, PAPER_MINOR = "rgba(231,76,60,0.45)", "rgba(231,76,60,0.15)"
# The strip and the tachogram are redrawn on every pan and zoom, so they are built as plain figure
# dicts: plotly's validated objects (and copying plotly_white into each) were most of a pan's server
# time (bench/RESULTS.md, "Recording page"). This small template gives them plotly_white's look.
_PLAIN = {"layout": {"plot_bgcolor": "white", "paper_bgcolor": "white",
                     "xaxis": {"gridcolor": "#ebf0f8", "linecolor": "#ebf0f8", "zeroline": False, "automargin": True},
                     "yaxis": {"gridcolor": "#ebf0f8", "linecolor": "#ebf0f8", "zerolinecolor": "#ebf0f8",
                               "automargin": True}}}


def _layout(**settings) -> dict:
    """A windowed plot's layout: heights come from the page (responsive graphs); a drag zooms time only."""
    return {**_LAYOUT, "template": _PLAIN, "margin": dict(l=55, r=15, t=30, b=40), "dragmode": "zoom",
            "hovermode": "closest", "legend": dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0),
            **settings}


def _picked_line(picked: float | None, window: tuple[float, float]) -> list[dict]:
    if picked is None or not window[0] <= picked <= window[1]:
        return []
    return [{"type": "line", "xref": "x", "yref": "paper", "x0": picked, "x1": picked, "y0": 0, "y1": 1,
             "line": {"color": "#555", "width": 1, "dash": "dot"}}]


def _legend_name(cls: str) -> str:
    """Short enough that the legend fits a phone on one or two lines: "S supraventricular"."""
    return f"{cls} {CLASS_NAMES[cls].split()[0].lower()}"


def _is_millivolts(unit: str) -> bool:
    return unit.strip().lower() in ("mv", "millivolt", "millivolts")


def strip_figure(
    time_s: np.ndarray,
    values: np.ndarray,
    beats: pd.DataFrame,
    window: tuple[float, float],
    *,
    unit: str = "mV",
    missed_s: Sequence[float] = (),
    extra: Sequence[bool] | None = None,
    picked: float | None = None,
) -> dict:
    """The ECG between window[0] and window[1] s, each beat marked in its class colour (and letter when zoomed in).

    As on a Holter printout, the marks run in a row above the trace, at each beat's time.
    beats: the beats in the window, with time_s, predicted_class and index (the beat's number in
    the recording, carried as customdata for clicks). extra: per beat, whether it is a detection
    the reference does not have (an x below the trace); missed_s: reference beats that were not
    detected (an open circle below the trace).
    """
    span = window[1] - window[0]
    data = [{"type": "scattergl", "x": time_s, "y": values, "mode": "lines", "line": {"color": "#222", "width": 1},
             "name": "ECG", "hoverinfo": "skip", "showlegend": False}]
    marked = beats
    if len(beats) > MAX_MARKS:
        marked = beats[beats["predicted_class"] != "N"].head(MAX_MARKS)
    top = float(np.nanmax(values)) if len(values) else 1.0
    bottom = float(np.nanmin(values)) if len(values) else 0.0
    lift = 0.15 * (top - bottom or 1.0)
    letters = span <= LETTERS_MAX_S
    for cls in CLASSES:
        these = marked[marked["predicted_class"] == cls]
        if not len(these):
            continue
        trace = {"type": "scatter", "x": these["time_s"].to_numpy(), "y": np.full(len(these), top + lift),
                 "mode": "markers+text" if letters else "markers",
                 "marker": {"color": CLASS_COLOURS[cls], "size": 9 if letters else 7, "symbol": "triangle-down"},
                 "customdata": these["index"].to_numpy(), "name": _legend_name(cls),
                 "hovertemplate": "beat %{customdata}: " + cls + " at %{x:.2f} s<extra></extra>"}
        if letters:
            trace |= {"text": [cls] * len(these), "textposition": "top center",
                      "textfont": {"color": CLASS_COLOURS[cls], "size": 13, "family": "system-ui, sans-serif"}}
        data.append(trace)
    if extra is not None and len(beats):
        flagged = beats[np.asarray(extra, dtype=bool)]
        if len(flagged):
            data.append({"type": "scatter", "x": flagged["time_s"].to_numpy(), "y": np.full(len(flagged), bottom - lift),
                         "mode": "markers", "customdata": flagged["index"].to_numpy(),
                         "marker": {"symbol": "x-thin-open", "size": 12, "color": "#111", "line": {"width": 2}},
                         "name": "extra",
                         "hovertemplate": "extra detection, beat %{customdata} at %{x:.2f} s<extra></extra>"})
    if len(missed_s):
        data.append({"type": "scatter", "x": np.asarray(missed_s), "y": np.full(len(missed_s), bottom - lift),
                     "mode": "markers", "marker": {"symbol": "circle-open", "size": 12, "color": "#111",
                                                   "line": {"width": 2}},
                     "name": "missed",
                     "hovertemplate": "missed reference beat at %{x:.2f} s<extra></extra>"})
    xaxis = {"range": list(window), "title": {"text": "time (s)"}}
    yaxis = {"title": {"text": unit or "amplitude"}, "fixedrange": True, "range": [bottom - 2 * lift, top + 2.2 * lift]}
    layout = _layout(uirevision="strip", showlegend=True, shapes=_picked_line(picked, window), xaxis=xaxis, yaxis=yaxis)
    if span <= PAPER_MAX_S and _is_millivolts(unit):
        grid = {"showgrid": True, "gridcolor": PAPER_MAJOR, "gridwidth": 1}
        minor = {"showgrid": True, "gridcolor": PAPER_MINOR}
        # Labels every second and every millivolt, as on ECG paper's heavy lines; they fit a phone too.
        xaxis |= {**grid, "dtick": 0.2, "tick0": 0, "ticklabelstep": 5, "minor": {**minor, "dtick": 0.04}}
        yaxis |= {**grid, "dtick": 0.5, "tick0": 0, "ticklabelstep": 2, "minor": {**minor, "dtick": 0.1},
                  "zeroline": False}
        layout["plot_bgcolor"] = "#fffafa"
    return {"data": data, "layout": layout}


def tachogram_figure(beats: pd.DataFrame, window: tuple[float, float], *, picked: float | None = None) -> dict:
    """Each beat's preceding R-R interval (s) against its time, coloured by class.

    beats: time_s, rr_pre_s, predicted_class, index (customdata for clicks).
    """
    data = []
    for cls in CLASSES:
        these = beats[(beats["predicted_class"] == cls) & beats["rr_pre_s"].notna()]
        if not len(these):
            continue
        data.append({"type": "scattergl", "x": these["time_s"].to_numpy(), "y": these["rr_pre_s"].to_numpy(),
                     "mode": "markers", "customdata": these["index"].to_numpy(),
                     "marker": {"color": CLASS_COLOURS[cls], "size": 5 if cls == "N" else 7},
                     "name": _legend_name(cls),
                     "hovertemplate": "beat %{customdata}: " + cls + " at %{x:.2f} s, R-R %{y:.3f} s<extra></extra>"})
    layout = _layout(uirevision="tachogram", showlegend=False, shapes=_picked_line(picked, window),
                     xaxis={"range": list(window), "title": {"text": "time (s)"}},
                     yaxis={"title": {"text": "R-R before the beat (s)"}, "fixedrange": True})
    return {"data": data, "layout": layout}


def beat_figure(row: np.ndarray, cls: str, scores: Mapping[str, float], templates: Mapping[str, Mapping],
                *, title: str) -> go.Figure:
    """One beat as the model saw it (187 values at 120 Hz, scaled 0-1) over its class's template, and its five scores."""
    fig = make_subplots(rows=1, cols=2, column_widths=[0.7, 0.3], horizontal_spacing=0.12,
                        subplot_titles=[title, "scores"])
    colour = CLASS_COLOURS.get(cls, "#333333")
    if cls in templates:
        mean, std = np.asarray(templates[cls]["mean"], float), np.asarray(templates[cls]["std"], float)
        x = ms_axis(len(mean))
        upper, lower = np.clip(mean + std, 0, 1), np.clip(mean - std, 0, 1)
        fig.add_trace(go.Scatter(x=np.concatenate([x, x[::-1]]), y=np.concatenate([upper, lower[::-1]]),
                                 fill="toself", fillcolor=rgba(colour, 0.18), line=dict(width=0), hoverinfo="skip",
                                 showlegend=False), row=1, col=1)
        fig.add_trace(go.Scatter(x=x, y=mean, line=dict(color=colour, width=2, dash="dash"),
                                 name=f"{cls} template (mean ±1 sd)",
                                 hovertemplate="%{x:.0f} ms: %{y:.3f}<extra>" + cls + " template</extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(x=ms_axis(len(row)), y=row, line=dict(color=colour, width=2.5), name="this beat",
                             hovertemplate="%{x:.0f} ms: %{y:.3f}<extra>this beat</extra>"), row=1, col=1)
    values = [float(scores[c]) for c in CLASSES]
    fig.add_trace(go.Bar(x=values, y=list(CLASSES), orientation="h", marker_color=[CLASS_COLOURS[c] for c in CLASSES],
                         text=[f"{v:.1%}" for v in values], textposition="outside", cliponaxis=False,
                         showlegend=False, hovertemplate="%{y}: %{x:.2%}<extra></extra>"), row=1, col=2)
    fig.update_layout(**_LAYOUT)
    fig.update_annotations(font_size=13)
    fig.update_xaxes(title="ms after the R peak", row=1, col=1)
    fig.update_yaxes(title="amplitude (0-1)", row=1, col=1)
    fig.update_xaxes(range=[0, 1.25], tickformat=".0%", row=1, col=2)
    fig.update_yaxes(autorange="reversed", type="category", row=1, col=2)
    return fig
