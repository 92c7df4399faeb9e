"""The rhythm-aware cascade as the Models and Predict pages show it: its DS2 figures beside the row models, beat detection, and which models need a recording."""
from __future__ import annotations

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from pipeline.vocabulary import CLASSES

from dashboard.components.cards import section
from dashboard.components.figures import _LAYOUT, confusion_figure, graph_config
from dashboard.components.palette import METRIC_COLOURS
from dashboard.components.wording import share

ROW_MODELS = {"logreg": "Logistic Regression", "cascade": "XGBoost cascade (rows only)"}


def needs_recording_note() -> html.P:
    """For the Predict page's model choice: the rhythm-aware cascade cannot classify lone beat rows."""
    return html.P(
        ["Both classify lone beat rows. The rhythm-aware cascade needs a whole recording, because it reads each "
         "beat's R-R intervals against the patient's own rhythm: use the ", dcc.Link("Recording page", href="/record"),
         "."],
        className="small text-muted mt-2 mb-0",
        id="predict-needs-recording",
    )


def _detection(scores: dict) -> tuple[int, int, int]:
    """(reference beats, missed, extra) from a confusion matrix with the missed column and the extra row."""
    cm = scores["confusion_matrix"]
    missed = sum(row[-1] for row in cm[:-1])
    extra = sum(cm[-1][:-1])
    reference = sum(sum(row) for row in cm[:-1])
    return reference, missed, extra


def _table(recordings: dict, inter_models: dict) -> dbc.Table:
    """Se / +P per class on DS2: the row models (reference beats) and the rhythm-aware cascade (reference and detected beats)."""
    columns = [(name, inter_models[key]["per_class"], "recall", "precision", "support")
               for key, name in ROW_MODELS.items() if key in inter_models]
    columns += [("Rhythm-aware, reference beats", recordings["reference_beats"]["per_class"], "sensitivity",
                 "positive_predictivity", "reference"),
                ("Rhythm-aware, detected beats", recordings["detected_beats"]["per_class"], "sensitivity",
                 "positive_predictivity", "reference")]
    head = html.Thead([
        html.Tr([html.Th("class", rowSpan=2)] + [html.Th(name, colSpan=2, className="text-center") for name, *_ in columns]),
        html.Tr([html.Th(h) for _ in columns for h in ("Se", "+P")]),
    ])
    rows = []
    for cls in CLASSES:
        cells = [html.Td(html.Strong(cls))]
        for _, per_class, se, ppv, support in columns:
            m = per_class.get(cls)
            present = bool(m and m.get(support))  # no test beat of the class: no Se to show
            cells += [html.Td(f"{m[se]:.1%}" if present else "–"), html.Td(f"{m[ppv]:.1%}" if present else "–")]
        rows.append(html.Tr(cells))
    return dbc.Table([head, html.Tbody(rows)], size="sm", striped=True, responsive=True, id="models-rhythm-table")


def score_table(reliability: dict, id: str) -> dbc.Table:
    """For each class given and band of the score shown: how often such a beat was that class on the test beats (and
    how many); reliability: pipeline.evaluate.score_reliability's table."""
    bands = reliability["bands"]
    names = [f"{100 * lo:g}-{100 * hi:g}%" for lo, hi in zip(bands[:-1], bands[1:])]
    head = html.Thead(html.Tr([html.Th("class given")] + [html.Th(name) for name in names]))
    rows = []
    for cls, cells in reliability["classes"].items():
        rows.append(html.Tr([html.Td(html.Strong(cls))] + [
            html.Td("–" if cell["right"] is None else
                    [share(cell["right"]), html.Br(), html.Small(f"{cell['beats']:,} beats", className="text-muted")])
            for cell in cells]))
    return dbc.Table([head, html.Tbody(rows)], size="sm", striped=True, responsive=True, id=id)


def detection_figure(per_record: dict) -> go.Figure:
    """Beat detection per DS2 record: the share of reference beats found (Se) and of detections that are beats (+P)."""
    records = list(per_record)
    fig = go.Figure()
    for key, name, colour in (("detection_sensitivity", "Se", METRIC_COLOURS["recall"]),
                              ("detection_positive_predictivity", "+P", METRIC_COLOURS["precision"])):
        values = [per_record[r]["detect"][key] for r in records]
        fig.add_bar(x=records, y=values, name=name, marker_color=colour,
                    hovertemplate="record %{x}: %{y:.2%}<extra>" + name + "</extra>")
    low = min([per_record[r]["detect"][k] for r in records
               for k in ("detection_sensitivity", "detection_positive_predictivity")] + [0.95])
    fig.update_layout(**_LAYOUT, barmode="group", height=320)
    fig.update_xaxes(title="DS2 record", type="category")
    fig.update_yaxes(title="share", tickformat=".1%", range=[max(low - 0.01, 0), 1.001])
    return fig


def rhythm_cascade_section(report: dict):
    """The Models page's section on the rhythm-aware cascade, or a line saying why the bundle has none."""
    recordings = report.get("recordings")
    if not recordings or not recordings.get("available"):
        reason = (recordings or {}).get("reason", "This bundle was trained without the raw MIT-BIH records.")
        return section("Rhythm-aware cascade (whole recordings)", html.P(reason, className="text-muted"),
                       id="models-rhythm")
    inter = report["protocols"].get("inter", {})
    inter_models = inter.get("models", {}) if inter.get("available") else {}
    reference, missed, extra = _detection(recordings["detected_beats"])
    found = reference - missed
    return section(
        "Rhythm-aware cascade (whole recordings)",
        html.P(
            [f"Trained on {recordings.get('trained_on', 'the DS1 records')}; tuned by {recordings.get('tuned_on', '')}. "
             f"Tested on {recordings.get('tested_on', 'the DS2 records')}. ",
             html.Span(f"Beat detection on DS2: {found:,} of {reference:,} reference beats found "
                       f"(Se {found / max(reference, 1):.2%}), {extra:,} extra detections "
                       f"(+P {found / max(found + extra, 1):.2%}).", id="models-rhythm-detection")],
            className="text-muted",
        ),
        _table(recordings, inter_models),
        dbc.Row(
            [
                dbc.Col(dcc.Graph(figure=detection_figure(recordings["per_record"]), config=graph_config("beat-detection-per-record"),
                                  id="models-rhythm-detection-figure"), lg=7),
                dbc.Col(dcc.Graph(figure=confusion_figure(recordings["detected_beats"], normalise=False, compact=True),
                                  config=graph_config("rhythm-cascade-confusion", zoom=False),
                                  id="models-rhythm-confusion"), lg=5),
            ]
        ),
        *([html.H6("What a score means", className="mt-3"),
            html.P("Each beat's class comes with a score (the p_ columns of the download). Scores are not probabilities: "
                   "the model learnt from classes balanced by SMOTE, and a patient it never saw is unlike those it learnt "
                   "from. Below, for the DS2 beats as detected, how often a beat given each class with a score in each "
                   "band was that class, and how many beats were given it so.", className="small text-muted mb-1"),
            score_table(recordings["score_reliability"], "models-rhythm-scores")] if "score_reliability" in recordings else []),
        lead="The fourth model reads each beat's R-R intervals and the rhythm's irregularity relative to the "
        "patient's own rhythm, and its shape against the patient's median beat, so it classifies beats of a "
        "whole recording (the Recording page), not lone rows. Beside it, the row "
        "models on the same DS2 patients (inter-patient protocol, reference beats). With detected beats, a "
        "missed beat counts against its class's Se and an extra detection against the +P of the class it got.",
        id="models-rhythm",
    )
