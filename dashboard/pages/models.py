"""Models page: each model's figures under either evaluation protocol, and all models compared per class."""
import functools

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from dashboard import inputs
from dashboard.components.cards import (
    bundle_problem,
    first_available,
    percent,
    protocol_options,
    section,
    stat_card,
)
from dashboard.components.figures import METRIC_LABELS, comparison_figure, confusion_figure, per_class_bars
from dashboard.components.recording_model import rhythm_cascade_section
from dashboard.data import BundleError, get_report
from dashboard.settings import settings

dash.register_page(__name__, path="/models", name="Models", order=1, title="Models · Heartbeat classifier")

MODELS = {
    "logreg": "Logistic Regression",
    "binary": "Binary XGBoost (normal vs abnormal)",
    "multiclass": "Multi-class XGBoost (S, V, F, Q)",
    "cascade": "XGBoost cascade",
}
MODEL_NOTES = {
    "logreg": "all test beats, five classes",
    "binary": "all test beats, normal vs abnormal",
    "multiclass": "true abnormal test beats only",
    "cascade": "all test beats, end to end",
}
COMPARED = ("logreg", "multiclass", "cascade")


def summary_cards(models: dict) -> dbc.Row:
    cols = []
    for key, name in MODELS.items():
        metrics = models.get(key)
        if metrics is None:
            continue
        extra = f" · ROC AUC {metrics['roc_auc']:.3f}" if metrics.get("roc_auc") is not None else ""
        cols.append(
            dbc.Col(
                stat_card(
                    name,
                    f"{percent(metrics['accuracy'])} · F1 {metrics['macro_f1']:.3f}",
                    f"accuracy · macro-F1{extra}; {MODEL_NOTES[key]}",
                    id=f"models-card-{key}",
                ),
                md=6,
                xl=3,
                className="mb-2",
            )
        )
    return dbc.Row(cols)


@functools.lru_cache(maxsize=64)
def model_figures(models_dir: str, protocol: str, model: str, normalise: bool):
    # Built once per process from the report, never by re-running models (models_dir keys the cache).
    metrics = get_report()["protocols"][protocol]["models"][model]
    return (
        confusion_figure(metrics, normalise=normalise),
        per_class_bars(metrics),
    )


@functools.lru_cache(maxsize=32)
def compare_figure(models_dir: str, protocol: str, metric: str):
    models = get_report()["protocols"][protocol]["models"]
    return comparison_figure({MODELS[k]: models[k] for k in COMPARED if k in models}, metric)


def layout(**_query):
    try:
        report = get_report()
    except BundleError as error:
        return bundle_problem(error)
    return html.Div(
        [
            html.H2("How well the models do"),
            html.P(
                "Every figure here comes from the evaluation stored in the model bundle's report, measured on "
                "held-out test beats. Pick the protocol: intra-patient splits beats at random, so the same "
                "people appear in training and test; inter-patient trains on one set of people (DS1) and tests "
                "on others (DS2), which is how a model meets a new patient.",
                className="text-muted",
            ),
            dbc.RadioItems(
                id="models-protocol",
                options=protocol_options(report, "models-protocol"),
                value=first_available(report),
                inline=True,
                className="mb-3 protocol-switch",
            ),
            html.Div(id="models-summary"),
            section(
                "One model in detail",
                dbc.Row(
                    [
                        dbc.Col(
                            dbc.Select(
                                id="models-model",
                                options=[{"label": name, "value": key} for key, name in MODELS.items()],
                                value="cascade",
                            ),
                            lg=5,
                        ),
                        dbc.Col(
                            dbc.Switch(id="models-normalise", label="row-normalised", value=False),
                            lg=7,
                            className="d-flex justify-content-lg-end pt-2",
                        ),
                    ],
                    className="mb-2",
                ),
                dbc.Row(
                    [
                        dbc.Col(dcc.Graph(id="models-confusion", config={"displaylogo": False}), lg=6),
                        dbc.Col(dcc.Graph(id="models-bars", config={"displaylogo": False}), lg=6),
                    ]
                ),
                lead="Confusion matrix rows are the true class, columns the predicted one; colour is the "
                "share of the true class, so rare classes stay visible. Recall is AAMI's sensitivity (Se), "
                "precision its positive predictivity (+P).",
            ),
            section(
                "All models, class by class",
                dbc.RadioItems(
                    id="models-metric",
                    options=[{"label": label, "value": key} for key, label in METRIC_LABELS.items()],
                    value="recall",
                    inline=True,
                    className="mb-2",
                ),
                dcc.Graph(id="models-compare", config={"displaylogo": False}),
                lead="The multi-class model only sees beats that really are abnormal, so it has no N bar and "
                "its figures are an upper bound; the cascade's are end to end. The binary model's "
                "normal/abnormal figures are in its own view above.",
            ),
            rhythm_cascade_section(report),
        ]
    )


@callback(
    Output("models-summary", "children"),
    Input("models-protocol", "value"),
)
def show_summary(protocol):
    inputs.require_choice(protocol, get_report()["protocols"])
    return summary_cards(get_report()["protocols"][protocol]["models"])


@callback(
    Output("models-confusion", "figure"),
    Output("models-bars", "figure"),
    Input("models-protocol", "value"),
    Input("models-model", "value"),
    Input("models-normalise", "value"),
)
def show_model(protocol, model, normalise):
    inputs.require_choice(protocol, get_report()["protocols"])
    inputs.require_choice(model, MODELS)
    return model_figures(str(settings().models_dir), protocol, model, bool(normalise))


@callback(
    Output("models-compare", "figure"),
    Input("models-protocol", "value"),
    Input("models-metric", "value"),
)
def show_comparison(protocol, metric):
    inputs.require_choice(protocol, get_report()["protocols"])
    inputs.require_choice(metric, METRIC_LABELS)
    return compare_figure(str(settings().models_dir), protocol, metric)
