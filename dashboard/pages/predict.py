"""Predict page: upload beats (or load the committed sample), classify them, compare with labels, and overlay beats on class templates."""
import logging
import time
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
import numpy as np
from dash import Input, Output, State, callback, dash_table, dcc, html, no_update

from pipeline.vocabulary import CLASS_NAMES, CLASSES
from pipeline.evaluate import multiclass_metrics
from pipeline.predict import MODEL_NAMES
from pipeline.validate import InputError

from dashboard.components.cards import section, stat_card
from dashboard.components.figures import CLASS_COLOURS, confusion_figure, counts_figure, overlay_figure
from dashboard.components.recording_model import needs_recording_note
from dashboard.data import BundleError, get_report
from dashboard.predictions import chosen_models, combined_table, download_csv, load_beats, predictions
from dashboard.settings import MB, SAMPLE_CSV, settings
from dashboard import inputs
from dashboard.uploads import EMPTY_FILE, StoreFull, UnknownUpload, UploadTooLarge, get_store

log = logging.getLogger(__name__)

dash.register_page(__name__, path="/predict", name="Predict", order=2, title="Predict · Heartbeat classifier")

PAGE_SIZE = 15
MAX_OVERLAY = 8
GRAPH_CONFIG = {"displaylogo": False}


def upload_card(max_bytes: int) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H5("1. Beats to classify", className="card-title"),
                html.Div(
                    html.Label(
                        [
                            html.Div("Drop a CSV file here, or click to choose one", className="fw-semibold"),
                            html.Div(
                                f"One beat per row: 187 values between 0 and 1, or 188 with the label (0-4, "
                                f"N S V F Q) last. A header row is optional. Up to {max_bytes / MB:.0f} MB.",
                                className="small text-muted",
                            ),
                            html.Span("Choose a CSV file", className="btn btn-success btn-sm mt-2"),
                        ],
                        htmlFor="upload-input",
                        className="upload-label",
                    ),
                    id="upload-zone",
                    className="upload-zone",
                    **{"data-max-bytes": str(max_bytes), "data-empty-message": EMPTY_FILE},
                ),
                dbc.Progress(id="upload-progress", value=0, className="mt-2 d-none", style={"height": "6px"}),
                html.Div(id="upload-status", className="small text-muted mt-1"),
                html.Div(
                    [
                        dbc.Button("Load the sample (50 labelled beats)", id="predict-sample", color="primary",
                                   outline=True, size="sm", className="me-2"),
                        html.A("or download it", href=dash.get_asset_url(SAMPLE_CSV.name), className="small",
                               download=SAMPLE_CSV.name),
                    ],
                    className="mt-2",
                ),
            ]
        ),
        className="h-100",
    )


def model_card() -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H5("2. Model", className="card-title"),
                dbc.RadioItems(
                    id="predict-model",
                    options=[
                        {"label": MODEL_NAMES["cascade"] + " (best)", "value": "cascade",
                         "input_id": "predict-model-cascade"},
                        {"label": MODEL_NAMES["logreg"], "value": "logreg", "input_id": "predict-model-logreg"},
                        {"label": "Both, side by side", "value": "both", "input_id": "predict-model-both"},
                    ],
                    value="cascade",
                ),
                html.P(
                    "The cascade's binary stage decides normal or abnormal; its multi-class stage names the "
                    "abnormal class.",
                    className="small text-muted mt-2 mb-0",
                ),
                needs_recording_note(),
            ]
        ),
        className="h-100",
    )


def layout(**_query):
    return html.Div(
        [
            html.H2("Classify your beats"),
            dbc.Row(
                [dbc.Col(upload_card(settings().max_upload_bytes), lg=8, className="mb-2"),
                 dbc.Col(model_card(), lg=4, className="mb-2")]
            ),
            dcc.Store(id="upload-result"),
            dcc.Store(id="predict-state"),
            dcc.Download(id="predict-download"),
            dcc.Loading(
                [
                    dbc.Alert(id="predict-message", is_open=False, className="mt-3"),
                    html.Div(id="predict-summary", className="mt-3"),
                ],
                type="default",
                delay_show=300,
            ),
            html.Div(
                [
                    dbc.Row(
                        [
                            dbc.Col(section("Beats per predicted class",
                                            dcc.Graph(id="predict-counts", config=GRAPH_CONFIG)), lg=6),
                            dbc.Col(section("Against the file's labels", html.Div(id="predict-accuracy")), lg=6),
                        ]
                    ),
                    section(
                        "Beat by beat",
                        dbc.Row(
                            [
                                dbc.Col(dcc.Dropdown(id="predict-filter", clearable=False, value="all",
                                                     options=[{"label": "All beats", "value": "all"}]), md=5),
                                dbc.Col(dbc.Button("Download predictions (CSV)", id="predict-download-button",
                                                   color="primary", size="sm"), md=7, className="text-md-end"),
                            ],
                            className="mb-2 g-2",
                        ),
                        dash_table.DataTable(
                            id="predict-table",
                            columns=[],
                            data=[],
                            page_action="custom",
                            page_current=0,
                            page_size=PAGE_SIZE,
                            row_selectable="multi",
                            selected_row_ids=[],
                            style_as_list_view=True,
                            style_table={"overflowX": "auto"},
                            style_cell={"fontFamily": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
                                        "fontSize": "0.9rem", "padding": "4px 8px"},
                            style_header={"fontWeight": "600", "backgroundColor": "#f4f6f7"},
                        ),
                        lead="Tick rows to draw them below. Probability is the model's for the class it chose.",
                    ),
                    section(
                        "Selected beats over their predicted class's template",
                        html.Div(id="predict-overlay-note", className="small text-muted"),
                        dcc.Graph(id="predict-overlay", config=GRAPH_CONFIG),
                        lead=f"Solid lines are your beats (up to {MAX_OVERLAY}); dashed lines and bands are the "
                        "mean ±1 sd of the training beats of the class each was assigned to. A beat far outside "
                        "its band deserves a second look.",
                    ),
                ],
                id="predict-results",
                hidden=True,
            ),
        ]
    )


@callback(
    Output("upload-result", "data"),
    Input("predict-sample", "n_clicks"),
    prevent_initial_call=True,
)
def load_sample(_clicks):
    """Put the committed sample into the upload store, exactly as if the user had uploaded it."""
    try:
        with open(SAMPLE_CSV, "rb") as sample:
            token = get_store().create(sample, limit=settings().max_upload_bytes, size=SAMPLE_CSV.stat().st_size)
    except FileNotFoundError:
        return {"error": f"The sample file {SAMPLE_CSV.name} is missing from assets/; upload a file instead."}
    except (UploadTooLarge, StoreFull) as error:
        return {"error": str(error)}
    return {"token": token, "filename": SAMPLE_CSV.name, "bytes": SAMPLE_CSV.stat().st_size, "nonce": time.time()}


def _message(text, color="danger"):
    return text, color, True


def _tell(text) -> None:
    """Show a sentence in the page's message box from a callback that does not output to it."""
    dash.set_props("predict-message", {"children": text, "color": "danger", "is_open": True})


def _accuracy_block(store, token, models):
    blocks = []
    for model in models:
        table = predictions(store, token, model)
        if "true_label" not in table:
            return html.P("This file has no label column (188th column), so there is nothing to compare with.",
                          className="text-muted", id="predict-no-labels")
        metrics = multiclass_metrics(table["true_label"].to_numpy(), table["predicted_label"].to_numpy())
        blocks.append(
            dbc.Col(
                [
                    stat_card(MODEL_NAMES[model], f"{metrics['accuracy']:.1%} accurate",
                              f"macro-F1 {metrics['macro_f1']:.3f} on {len(table):,} labelled beats",
                              id=f"predict-accuracy-{model}", fill=False),
                    dcc.Graph(figure=confusion_figure(metrics, normalise=False, compact=True), config=GRAPH_CONFIG,
                              id=f"predict-confusion-{model}"),
                ],
                md=12 if len(models) == 1 else 6,
            )
        )
    return dbc.Row(blocks)


def _columns(models, labelled):
    columns = [{"name": "row", "id": "row", "type": "numeric"}]
    for model in models:
        short = "cascade" if model == "cascade" else "LR"
        columns += [
            {"name": f"{short}: class", "id": f"{model}_class"},
            {"name": f"{short}: probability", "id": f"{model}_probability", "type": "numeric",
             "format": dash_table.FormatTemplate.percentage(2)},
        ]
    if labelled:
        columns.append({"name": "true class", "id": "true_class"})
        columns += [{"name": f"{'cascade' if m == 'cascade' else 'LR'}: match", "id": f"{m}_match"}
                    for m in models]
    return columns


def _filter_options(models, labelled):
    options = [{"label": "All beats", "value": "all"}]
    if labelled:
        options.append({"label": "Only beats a model got wrong", "value": "mismatch"})
    first = "cascade" if models[0] == "cascade" else "LR"
    options += [{"label": f"Predicted {c} ({CLASS_NAMES[c]}) by {first}", "value": f"class-{c}"} for c in CLASSES]
    return options


def _default_rows(table) -> list[int]:
    """One beat of each predicted class, so the overlay shows something before any row is ticked."""
    return [int(r) for r in table.drop_duplicates("predicted_class")["row"][:MAX_OVERLAY]]


@callback(
    Output("predict-message", "children"),
    Output("predict-message", "color"),
    Output("predict-message", "is_open"),
    Output("predict-summary", "children"),
    Output("predict-results", "hidden"),
    Output("predict-counts", "figure"),
    Output("predict-accuracy", "children"),
    Output("predict-table", "columns"),
    Output("predict-table", "selected_row_ids"),
    Output("predict-table", "selected_rows"),
    Output("predict-table", "page_current"),
    Output("predict-filter", "options"),
    Output("predict-filter", "value"),
    Output("predict-state", "data"),
    Input("upload-result", "data"),
    Input("predict-model", "value"),
)
def classify(upload, choice):
    """Validate and classify the upload; any problem with the file becomes a sentence on the page."""
    nothing = (no_update,) * 8 + (None,)
    try:
        upload, choice = inputs.upload_result(upload), inputs.model_choice(choice)
    except inputs.BadInput as error:
        return _message(str(error)) + (None, True) + nothing
    if not upload:
        return (None, "danger", False, None, True) + nothing
    filename = upload.get("filename", "the file")
    if "error" in upload:
        return _message(upload["error"]) + (None, True) + nothing
    store, token = get_store(), upload["token"]
    models = chosen_models(choice)
    try:
        beats = load_beats(store, token)
        table = combined_table(store, token, models)
        counts = {MODEL_NAMES[m]: predictions(store, token, m)["predicted_class"].value_counts().to_dict()
                  for m in models}
        accuracy = _accuracy_block(store, token, models)
    except InputError as error:
        return _message(f"{filename}: {error}") + (None, True) + nothing
    except UnknownUpload as error:
        return _message(str(error)) + (None, True) + nothing
    except BundleError as error:
        return _message(f"The models could not be loaded: {error}") + (None, True) + nothing
    except Exception:  # a bug, not the user's file: log it, keep the page (and the worker) alive
        log.exception("classifying upload %r failed", filename)
        return _message(
            f"Something went wrong on the server while classifying {filename}. It has been logged; "
            "try again, or try another file."
        ) + (None, True) + nothing
    labelled = beats.y is not None
    warning = (", ".join(beats.warnings), "warning", True) if beats.warnings else (None, "danger", False)
    summary = html.P(
        [html.Strong(filename), f": {len(table):,} beats", " with labels" if labelled else " without labels",
         f", classified by {' and '.join(MODEL_NAMES[m] for m in models)}.",
         " Its first row holds column names, not a beat, and was skipped." if beats.header_skipped else ""],
        id="predict-summary-text",
        className="mb-0",
    )
    state = {"token": token, "models": list(models), "labelled": labelled, "filename": filename}
    return (
        *warning,
        summary,
        False,
        counts_figure(counts),
        accuracy,
        _columns(models, labelled),
        [],
        [],
        0,
        _filter_options(models, labelled),
        "all",
        state,
    )


@callback(
    Output("predict-table", "data"),
    Output("predict-table", "page_count"),
    Output("predict-table", "style_data_conditional"),
    Input("predict-state", "data"),
    Input("predict-table", "page_current"),
    Input("predict-filter", "value"),
)
def show_page(state, page, which):
    try:
        state, page, which = inputs.predict_state(state), inputs.page_number(page), inputs.beat_filter(which)
    except inputs.BadInput as error:
        _tell(str(error))
        return [], 0, []
    if not state:
        return [], 0, []
    models = tuple(state["models"])
    try:
        table = combined_table(get_store(), state["token"], models)
    except UnknownUpload as error:
        _tell(str(error))
        return [], 0, []
    if which == "mismatch" and state["labelled"]:
        table = table[~np.logical_and.reduce([table[f"{m}_match"] for m in models])]
    elif which and which.startswith("class-"):
        table = table[table[f"{models[0]}_class"] == which.removeprefix("class-")]
    pages = max(1, -(-len(table) // PAGE_SIZE))
    page = min(page or 0, pages - 1)
    shown = table.iloc[page * PAGE_SIZE : (page + 1) * PAGE_SIZE].copy()
    shown["id"] = shown["row"]
    for model in models:
        if f"{model}_match" in shown:
            shown[f"{model}_match"] = np.where(shown[f"{model}_match"], "✓", "✗")
    style = [{"if": {"filter_query": f'{{{m}_match}} = "✗"', "column_id": f"{m}_match"},
              "color": "#c0392b", "fontWeight": "700"} for m in models]
    style += [{"if": {"filter_query": f'{{{m}_class}} = "{c}"', "column_id": f"{m}_class"},
               "color": CLASS_COLOURS[c], "fontWeight": "600"} for m in models for c in CLASSES]
    return shown.to_dict("records"), pages, style


@callback(
    Output("predict-overlay", "figure"),
    Output("predict-overlay-note", "children"),
    Input("predict-table", "selected_row_ids"),
    Input("predict-state", "data"),
)
def show_overlay(rows, state):
    try:
        state = inputs.predict_state(state)
        rows = inputs.beat_rows(rows)
    except inputs.BadInput as error:
        _tell(str(error))
        return no_update, no_update
    if not state:
        return no_update, no_update
    store, token, model = get_store(), state["token"], state["models"][0]
    try:
        beats = load_beats(store, token)
        table = predictions(store, token, model)
        rows = inputs.beat_rows(rows, len(table))
    except UnknownUpload as error:
        _tell(str(error))
        return no_update, no_update
    except inputs.BadInput as error:
        _tell(str(error))
        return no_update, no_update
    if rows:
        chosen = [int(r) for r in rows][:MAX_OVERLAY]
        note = f"Rows {', '.join(map(str, chosen))}" + (f" (the first {MAX_OVERLAY} ticked)" if len(rows) > MAX_OVERLAY else "")
    else:
        chosen = _default_rows(table)
        note = "No rows ticked: showing the first beat of each predicted class. Tick rows in the table to choose."
    selected = []
    for row in chosen:
        hit = table.iloc[row - 1]
        selected.append({
            "row": row,
            "predicted_class": hit["predicted_class"],
            "probability": float(hit[f"p_{hit['predicted_class']}"]),
            "samples": beats.X[row - 1],
        })
    return overlay_figure(selected, get_report()["templates"]), note


@callback(
    Output("predict-download", "data"),
    Input("predict-download-button", "n_clicks"),
    State("predict-state", "data"),
    prevent_initial_call=True,
)
def download(_clicks, state):
    try:
        state = inputs.predict_state(state)
    except inputs.BadInput as error:
        _tell(str(error))
        return no_update
    if not state:
        return no_update
    try:
        content = download_csv(get_store(), state["token"], tuple(state["models"]))
    except UnknownUpload as error:
        _tell(str(error))
        return no_update
    stem = Path(state["filename"]).stem or "upload"
    return dcc.send_bytes(content, f"{stem}-predictions.csv")
