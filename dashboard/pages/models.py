"""Models page: each model's figures under either evaluation protocol, and all models compared per class."""
import functools

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from pipeline.vocabulary import CLASSES

from dashboard import inputs
from dashboard.components.cards import bundle_problem, chosen_protocol, protocol_options, section, stat_card
from dashboard.components.figures import (
    METRIC_LABELS,
    comparison_figure,
    confusion_figure,
    graph_config,
    per_class_bars,
)
from dashboard.components.recording_model import rhythm_cascade_section, score_table
from dashboard.components.urlstate import keep_in_url
from dashboard.components.wording import plural, share
from dashboard.data import BundleError, get_report
from dashboard.settings import settings

dash.register_page(__name__, path="/models", name="Models", order=1, title="Models · Heartbeat classifier")

MODELS = {
    "logreg": "Logistic Regression",
    "binary": "Binary XGBoost (normal vs abnormal)",
    "multiclass": "Multi-class XGBoost (S, V, F, Q)",
    "cascade": "XGBoost cascade",
}
END_TO_END = ("logreg", "cascade")  # five classes on every test beat: the figures to compare
STAGES = {  # the cascade's stages on their own: other tasks, other test beats, not comparable
    "binary": ("2-class accuracy", "normal vs abnormal, on all test beats"),
    "multiclass": ("accuracy on abnormal beats only", "S, V, F or Q, on the test beats that really are abnormal"),
}
COMPARED = ("logreg", "multiclass", "cascade")
FEW_BEATS = 100  # a class with fewer test or training beats than this gets a note: its figures are noise


def macro_f1_without(metrics: dict, left_out: list[str]) -> float:
    scores = [m["f1"] for cls, m in metrics["per_class"].items() if cls not in left_out]
    return sum(scores) / len(scores)


def rare_classes(protocol: dict) -> list[str]:
    """Classes with so few training or test beats that their figures are noise (Q in the inter-patient split: 8 and 7)."""
    splits = protocol["splits"]
    return [c for c in CLASSES if 0 < min(splits[s].get(c, 0) for s in splits) < FEW_BEATS]


def end_to_end_card(key: str, metrics: dict, rare: list[str]) -> dbc.Col:
    note = f"accuracy · macro-F1 {metrics['macro_f1']:.3f}"
    if rare:
        note += f", without {', '.join(rare)} {macro_f1_without(metrics, rare):.3f}"
    return dbc.Col(stat_card(MODELS[key], share(metrics["accuracy"]), note, id=f"models-card-{key}"),
                   md=6, className="mb-2")


def stage_card(key: str, metrics: dict) -> dbc.Col:
    what, on = STAGES[key]
    extra = f" · ROC AUC {metrics['roc_auc']:.3f}" if metrics.get("roc_auc") is not None else ""
    card = dbc.Card(
        dbc.CardBody([
            dbc.Badge("one stage, not end to end", color="secondary", className="mb-1"),
            html.Div(MODELS[key], className="stat-title"),
            html.Div(f"{share(metrics['accuracy'])} {what}", className="stat-value stage-value"),
            html.Div(f"{on}; macro-F1 {metrics['macro_f1']:.3f}{extra}", className="stat-note"),
        ]),
        className="stat-card stage-card h-100", id=f"models-card-{key}",
    )
    return dbc.Col(card, md=6, className="mb-2")


def few_beats_note(protocol: dict, rare: list[str]) -> html.P | None:
    splits = protocol["splits"]
    if not rare:
        return None
    words = [f"{c} has {plural(splits['train'].get(c, 0), 'training beat')} and "
             f"{plural(splits['test'].get(c, 0), 'test beat')}" for c in rare]
    return html.P(
        "; ".join(words) + f": {'its' if len(rare) == 1 else 'their'} per-class figures rest on a handful of "
        f"beats, so macro-F1 is also shown without {', '.join(rare)}.",
        className="small alert alert-light border mb-2", id="models-few-beats",
    )


def summary_cards(protocol: dict) -> html.Div:
    models, rare = protocol["models"], rare_classes(protocol)
    return html.Div([
        few_beats_note(protocol, rare),
        html.H5("End to end: five classes, every test beat", className="mt-2"),
        dbc.Row([end_to_end_card(k, models[k], rare) for k in END_TO_END if k in models]),
        html.H5("The cascade's two stages on their own", className="mt-2"),
        html.P("Each stage does a smaller task on other beats, so its accuracy is higher and cannot be "
               "compared with the end-to-end figures above.", className="small text-muted mb-2"),
        dbc.Row([stage_card(k, models[k]) for k in STAGES if k in models]),
    ])


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
    return comparison_figure({k: models[k] for k in COMPARED if k in models}, metric, MODELS)


def layout(protocol: str | None = None, model: str | None = None, normalise: str | None = None,
           metric: str | None = None, **_query):
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
                value=chosen_protocol(report, protocol),
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
                                value=model if model in MODELS else "cascade",
                            ),
                            lg=5,
                        ),
                        dbc.Col(
                            dbc.Switch(id="models-normalise", label="row-normalised", value=normalise == "1"),
                            lg=7,
                            className="d-flex justify-content-lg-end pt-2",
                        ),
                    ],
                    className="mb-2",
                ),
                dbc.Row(
                    [
                        dbc.Col(dcc.Graph(id="models-confusion", config=graph_config("confusion-matrix", zoom=False)), lg=6),
                        dbc.Col(dcc.Graph(id="models-bars", config=graph_config("per-class-scores", zoom=False)), lg=6),
                    ]
                ),
                html.Div(id="models-scores"),
                lead="Confusion matrix rows are the true class, columns the predicted one; colour is the "
                "share of the true class, so rare classes stay visible. Recall is AAMI's sensitivity (Se), "
                "precision its positive predictivity (+P).",
            ),
            section(
                "All models, class by class",
                dbc.RadioItems(
                    id="models-metric",
                    options=[{"label": label, "value": key, "input_id": f"models-metric-{key}"}
                             for key, label in METRIC_LABELS.items()],
                    value=metric if metric in METRIC_LABELS else "recall",
                    inline=True,
                    className="mb-2",
                ),
                dcc.Graph(id="models-compare", config=graph_config("models-compared", zoom=False)),
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
    return summary_cards(get_report()["protocols"][protocol])


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
    Output("models-scores", "children"),
    Input("models-protocol", "value"),
    Input("models-model", "value"),
)
def show_scores(protocol, model):
    """What the chosen model's scores meant on the protocol's test beats (Logistic Regression and the cascade)."""
    inputs.require_choice(protocol, get_report()["protocols"])
    inputs.require_choice(model, MODELS)
    reliability = get_report()["protocols"][protocol]["models"].get(model, {}).get("score_reliability")
    if not reliability:
        return None
    return [html.H6("What a score means", className="mt-3"),
            html.P("Each beat's class comes with a score (the Predict page's score column). Scores are not "
                   "probabilities: the models learnt from classes balanced by SMOTE. Below, for this protocol's test "
                   "beats, how often a beat given each class with a score in each band was that class, and how many "
                   "beats were given it so.", className="small text-muted mb-1"),
            score_table(reliability, "models-score-table")]


@callback(
    Output("models-compare", "figure"),
    Input("models-protocol", "value"),
    Input("models-metric", "value"),
)
def show_comparison(protocol, metric):
    inputs.require_choice(protocol, get_report()["protocols"])
    inputs.require_choice(metric, METRIC_LABELS)
    return compare_figure(str(settings().models_dir), protocol, metric)


keep_in_url(protocol=("models-protocol", "value"), model=("models-model", "value"),
            normalise=("models-normalise", "value"), metric=("models-metric", "value"))
