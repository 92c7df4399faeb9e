"""Data page: where the beats come from, how the classes are distributed, and what each class looks like."""
import functools

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from pipeline.vocabulary import CLASS_NAMES, CLASSES

from dashboard import inputs
from dashboard.components.cards import bundle_problem, chosen_protocol, protocol_options, section
from dashboard.components.figures import class_label, distribution_figure, graph_config, template_figure
from dashboard.components.urlstate import keep_in_url
from dashboard.components.wording import share
from dashboard.data import BundleError, get_report, protocol_title, training_beats
from dashboard.settings import settings

dash.register_page(__name__, path="/", name="Data", order=0, title="Data · Heartbeat classifier")

SOURCES = {
    "mitdb": "the MIT-BIH Arrhythmia Database records, segmented into beats by this project's pipeline",
    "kaggle": "the Kaggle “ECG Heartbeat Categorization” CSVs (Kachuee et al., 2018), themselves cut from MIT-BIH",
}


def class_table(report: dict, protocol: str) -> dbc.Table:
    splits = report["protocols"][protocol]["splits"]
    header = html.Thead(html.Tr([html.Th("Class"), *[html.Th(f"{s} beats", className="text-end") for s in splits],
                                 *[html.Th(f"{s} share", className="text-end") for s in splits]]))
    totals = {s: sum(c.values()) or 1 for s, c in splits.items()}
    rows = [
        html.Tr(
            [
                html.Td(f"{cls}: {CLASS_NAMES[cls]}"),
                *[html.Td(f"{splits[s].get(cls, 0):,}", className="text-end") for s in splits],
                *[html.Td(share(splits[s].get(cls, 0) / totals[s]), className="text-end") for s in splits],
            ]
        )
        for cls in CLASSES
    ]
    return dbc.Table([header, html.Tbody(rows)], size="sm", striped=True, className="mb-0", id="data-class-table")


@functools.lru_cache(maxsize=4)
def class_templates(models_dir: str) -> dbc.Row:
    # Built once per process from the report (models_dir keys the cache). One figure per class, in
    # columns that wrap: five subplots side by side overlap their titles on a phone.
    templates = get_report()["templates"]
    return dbc.Row(
        [dbc.Col([html.Div([html.Strong(class_label(cls)), html.Br(),
                            html.Span(f"{templates[cls]['n']:,} training beats", className="text-muted")],
                           className="panel-title small"),
                  dcc.Graph(id=f"data-template-{cls}", figure=template_figure(cls, templates[cls]),
                            config=graph_config(f"template-{cls}"))], xs=12, sm=6, lg=4, xl=True, className="mb-2")
         for cls in CLASSES if cls in templates],
        id="data-templates", className="g-2",
    )


def trained_on(report: dict) -> str:
    """Which beats the served models saw: the training split of each protocol, never the whole database."""
    parts = [f"**{training_beats(report, key):,} beats** ({protocol_title(report, key)}, its training split)"
             for key, protocol in report["protocols"].items() if protocol.get("available")]
    return "; the ".join(parts)


def layout(protocol: str | None = None, log: str | None = None, **_query):
    try:
        report = get_report()
    except BundleError as error:
        return bundle_problem(error)
    dataset = report["dataset"]
    source = SOURCES.get(dataset.get("source"), dataset.get("source", "unknown"))
    return html.Div(
        [
            html.H2("The beats"),
            dcc.Markdown(
                f"""
The beats come from {source}: **{dataset['rows']:,} beats** in all. The models the dashboard serves were
trained on {trained_on(report)}; the rest of each protocol's beats are its test set.

The [MIT-BIH Arrhythmia Database](https://physionet.org/content/mitdb/1.0.0/) holds 48 half-hour,
two-lead ambulatory ECG recordings from 47 people, sampled at 360 Hz, with every beat annotated by
two cardiologists (Moody & Mark, *IEEE Eng Med Biol* 2001). It is distributed by
[PhysioNet](https://physionet.org/) (Goldberger et al., *Circulation* 2000) under the Open Data
Commons Attribution License v1.0. Beats are grouped into the five AAMI EC57 classes: **N** normal and
bundle-branch-block beats, **S** supraventricular ectopic, **V** ventricular ectopic, **F** fusion of
ventricular and normal, **Q** paced or unclassifiable. Each beat is 187 samples scaled to \\[0, 1\\], the
layout of the Kaggle CSVs the dashboard also accepts.
""",
                link_target="_blank",
            ),
            section(
                "Class distribution",
                dbc.Row(
                    [
                        dbc.Col(
                            dbc.RadioItems(
                                id="data-protocol",
                                options=protocol_options(report, "data-protocol"),
                                value=chosen_protocol(report, protocol),
                                inline=True,
                            ),
                            md=9,
                        ),
                        dbc.Col(dbc.Switch(id="data-log", label="log scale", value=log == "1"), md=3,
                                className="d-flex justify-content-md-end"),
                    ],
                    className="mb-2",
                ),
                dcc.Graph(id="data-distribution", config=graph_config("class-distribution", zoom=False)),
                html.Div(id="data-class-table-wrap", className="table-responsive"),
                lead=(
                    "N dominates and F is tiny: a model can score high accuracy while missing the rare classes, "
                    "which is why the Models page shows per-class recall and macro-F1."
                ),
            ),
            section(
                "What a beat of each class looks like",
                class_templates(str(settings().models_dir)),
                lead="Mean of the training beats of each class (dashed), with a band of ±1 standard deviation "
                "(clipped to the 0-1 range beats live in). Time runs from the beat's R peak: a row is 187 samples "
                "at 120 Hz, 1.56 s.",
            ),
        ]
    )


@callback(
    Output("data-distribution", "figure"),
    Output("data-class-table-wrap", "children"),
    Input("data-protocol", "value"),
    Input("data-log", "value"),
)
def show_distribution(protocol, log_scale):
    report = get_report()
    inputs.require_choice(protocol, report["protocols"])
    return (
        distribution_figure(report["protocols"][protocol]["splits"], log_scale=bool(log_scale)),
        class_table(report, protocol),
    )


keep_in_url(protocol=("data-protocol", "value"), log=("data-log", "value"))
