"""Predict page: upload beats (or load the committed sample), classify them, compare with labels, see each ticked beat over its class template, and why the cascade chose a beat's class."""
import logging
import time
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dash_table, dcc, html, no_update

from pipeline.evaluate import multiclass_metrics
from pipeline.predict import MODEL_NAMES
from pipeline.report import row_score_meaning
from pipeline.validate import InputError
from pipeline.vocabulary import CLASS_NAMES, CLASSES

from dashboard import inputs
from dashboard.components.cards import section, stat_card, upload_zone
from dashboard.components.explanation import explanation_view
from dashboard.components.figures import beat_figure, confusion_figure, counts_figure, graph_config
from dashboard.components.palette import CLASS_COLOURS
from dashboard.components.recording_model import needs_recording_note
from dashboard.components.urlstate import keep_in_url
from dashboard.components.wording import plural, share
from dashboard.data import BundleError, get_bundle, get_report, protocol_title, templates
from dashboard.predictions import (
    chosen_models,
    combined_table,
    download_csv,
    explain_row,
    filtered,
    load_beats,
    predictions,
)
from dashboard.settings import MB, SAMPLE_CSV, settings
from dashboard.uploads import EMPTY_FILE, StoreFull, UnknownUpload, UploadTooLarge, get_store

log = logging.getLogger(__name__)

dash.register_page(__name__, path="/predict", name="Predict", order=2, title="Predict · Heartbeat classifier")

PAGE_SIZE = 15
MAX_OVERLAY = 8
SHORT_NAMES = {"cascade": "cascade", "logreg": "LR"}
MODEL_CHOICES = ("cascade", "logreg", "both")
SESSION = {"persistence": True, "persistence_type": "session"}


def upload_card(max_bytes: int) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H5("1. Beats to classify", className="card-title"),
                upload_zone(
                    "upload", "Drop a CSV file here, or click to choose one",
                    f"One beat per row: 187 values between 0 and 1, or 188 with the label (0-4, N S V F Q) last. "
                    f"A header row is optional. Up to {max_bytes / MB:.0f} MB.",
                    "Choose a CSV file", "Choose a CSV file of beats to classify", max_bytes, EMPTY_FILE),
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


def new_patient_note() -> str:
    """The test figures the user should expect on a person the models never saw (inter-patient), when the report has them."""
    try:
        report = get_report()
    except BundleError:
        return ""
    inter = report["protocols"].get("inter", {})
    if not inter.get("available"):
        return ""
    figures = "; ".join(f"{MODEL_NAMES[m]} {share(inter['models'][m]['accuracy'])} accurate, macro-F1 "
                        f"{inter['models'][m]['macro_f1']:.2f}" for m in MODEL_NAMES if m in inter["models"])
    return (f"On beats of a person the models never saw ({protocol_title(report, 'inter')}): {figures}. "
            "Beats of people in the training data score far higher, so a high accuracy on your file "
            "says little about a new patient.")


def model_card(choice: str) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H5("2. Model", className="card-title"),
                dbc.RadioItems(
                    id="predict-model",
                    options=[
                        {"label": MODEL_NAMES["cascade"], "value": "cascade", "input_id": "predict-model-cascade"},
                        {"label": MODEL_NAMES["logreg"], "value": "logreg", "input_id": "predict-model-logreg"},
                        {"label": "Both, side by side", "value": "both", "input_id": "predict-model-both"},
                    ],
                    value=choice,
                    **SESSION,
                ),
                html.P(
                    "The cascade's binary stage decides normal or abnormal; its multi-class stage names the "
                    "abnormal class.",
                    className="small text-muted mt-2 mb-1",
                ),
                html.P(new_patient_note(), className="small mb-0", id="predict-new-patient"),
                needs_recording_note(),
            ]
        ),
        className="h-100",
    )


def layout(model: str | None = None, filter: str | None = None, **_query):  # noqa: A002 (the URL's word)
    return html.Div(
        [
            html.H2("Classify your beats"),
            dbc.Row(
                [dbc.Col(upload_card(settings().max_upload_bytes), lg=8, className="mb-2"),
                 dbc.Col(model_card(model if model in MODEL_CHOICES else "cascade"), lg=4, className="mb-2")]
            ),
            # The results stay for the browser tab's session: leaving the page and coming back shows them again.
            dcc.Store(id="upload-result", storage_type="session"),
            dcc.Store(id="predict-ticked", storage_type="session"),
            dcc.Store(id="predict-state"),
            # The filter a link asks for: the dropdown drops a value it has no option for yet (before results).
            dcc.Store(id="predict-filter-asked", data=filter),
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
                                            dcc.Graph(id="predict-counts",
                                                      config=graph_config("beats-per-class", zoom=False))), lg=6),
                            dbc.Col(section("Against the file's labels", html.Div(id="predict-accuracy")), lg=6),
                        ]
                    ),
                    section(
                        "Beat by beat",
                        dbc.Row(
                            [
                                dbc.Col(dcc.Dropdown(id="predict-filter", clearable=False, value=filter or "all",
                                                     options=[{"label": "All beats", "value": "all"}],
                                                     searchable=False, **SESSION), md=6),
                                dbc.Col(dbc.Button("Download predictions (CSV)", id="predict-download-button",
                                                   color="primary", size="sm"), md=6, className="text-md-end"),
                            ],
                            className="mb-2 g-2",
                        ),
                        html.P("The table is wider than the screen: swipe it sideways to see every column.",
                               className="scroll-hint small text-muted mb-1", id="predict-scroll-hint"),
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
                        lead="Tick rows to draw them below and to explain them; ticks stay when you change page. "
                        "Score is the model's output for the class it chose: a ranking, not a probability (the "
                        "models learnt from classes balanced by SMOTE or class weights).",
                    ),
                    section(
                        "Ticked beats over their class's template",
                        html.Div(id="predict-overlay-note", className="small text-muted mb-2"),
                        html.Div(id="predict-overlay"),
                        lead=f"One panel per beat (up to {MAX_OVERLAY}): your beat as a solid line; the dashed line "
                        "and band are the mean ±1 sd of the training beats of the class it was given. A beat far "
                        "outside its band deserves a second look.",
                    ),
                    section(
                        "Why this class",
                        dbc.Row(dbc.Col(dcc.Dropdown(id="predict-explain-row", clearable=False, searchable=False,
                                                     placeholder="Tick a row to explain it"), md=6),
                                className="mb-2"),
                        html.Div(id="predict-explain"),
                        lead="The XGBoost cascade's two decisions for one beat, and which parts of the beat pushed "
                        "each: red toward the decision, blue against it.",
                        id="predict-explain-section",
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
                    stat_card(MODEL_NAMES[model], f"{share(metrics['accuracy'])} accurate",
                              f"macro-F1 {metrics['macro_f1']:.3f} on {plural(len(table), 'labelled beat')}",
                              id=f"predict-accuracy-{model}", fill=False),
                    dcc.Graph(figure=confusion_figure(metrics, normalise=False, compact=True),
                              config=graph_config(f"confusion-{model}", zoom=False), id=f"predict-confusion-{model}"),
                ],
                md=12 if len(models) == 1 else 6,
            )
        )
    return dbc.Row(blocks)


def _columns(models, labelled):
    columns = [{"name": "row", "id": "row", "type": "numeric"}]
    for model in models:
        short = SHORT_NAMES[model]
        columns += [
            {"name": f"{short}: class", "id": f"{model}_class"},
            {"name": f"{short}: score", "id": f"{model}_probability_text"},
        ]
    if labelled:
        columns.append({"name": "true class", "id": "true_class"})
        columns += [{"name": f"{SHORT_NAMES[m]}: match", "id": f"{m}_match"} for m in models]
    return columns


def _filter_options(models, labelled):
    options = [{"label": "All beats", "value": "all"}]
    if labelled:
        options.append({"label": "Only beats a model got wrong", "value": "mismatch"})
    options += [{"label": f"Predicted {c} ({CLASS_NAMES[c]}) by {MODEL_NAMES[m]}", "value": f"class-{m}-{c}"}
                for m in models for c in CLASSES]
    return options


@callback(
    Output("predict-message", "children"),
    Output("predict-message", "color"),
    Output("predict-message", "is_open"),
    Output("predict-summary", "children"),
    Output("predict-results", "hidden"),
    Output("predict-state", "data"),
    Input("upload-result", "data"),
    Input("predict-model", "value"),
)
def classify(upload, choice):
    """Validate and classify the upload; any problem with the file becomes a sentence on the page."""
    try:
        upload, choice = inputs.upload_result(upload), inputs.model_choice(choice)
    except inputs.BadInput as error:
        return *_message(str(error)), None, True, None
    if not upload:
        return None, "danger", False, None, True, None
    filename = upload.get("filename", "the file")
    if "error" in upload:
        return *_message(upload["error"]), None, True, None
    store, token = get_store(), upload["token"]
    models = chosen_models(choice)
    try:
        beats = load_beats(store, token)
        for model in models:
            predictions(store, token, model)
    except InputError as error:
        return *_message(f"{filename}: {error}"), None, True, None
    except UnknownUpload as error:
        return *_message(str(error)), None, True, None
    except BundleError as error:
        return *_message(f"The models could not be loaded: {error}"), None, True, None
    except Exception:  # a bug, not the user's file: log it, keep the page (and the worker) alive
        log.exception("classifying upload %r failed", filename)
        return *_message(
            f"Something went wrong on the server while classifying {filename}. It has been logged; "
            "try again, or try another file."
        ), None, True, None
    labelled = beats.y is not None
    warning = (", ".join(beats.warnings), "warning", True) if beats.warnings else (None, "danger", False)
    summary = html.P(
        [html.Strong(filename), f": {plural(len(beats.X), 'beat')}", " with labels" if labelled else " without labels",
         f", classified by {' and '.join(MODEL_NAMES[m] for m in models)}.",
         " Its first row holds column names, not a beat, and was skipped." if beats.header_skipped else ""],
        id="predict-summary-text",
        className="mb-0",
    )
    state = {"token": token, "models": list(models), "labelled": labelled, "filename": filename}
    return *warning, summary, False, state


@callback(
    Output("predict-counts", "figure"),
    Output("predict-accuracy", "children"),
    Output("predict-table", "columns"),
    Output("predict-filter", "options"),
    Output("predict-filter", "value"),
    Input("predict-state", "data"),
    State("predict-filter", "value"),
    State("predict-filter-asked", "data"),
)
def show_results(state, which, asked):
    try:
        state = inputs.predict_state(state)
    except inputs.BadInput as error:
        _tell(str(error))
        return no_update, no_update, no_update, no_update, no_update
    if not state:
        return no_update, no_update, no_update, no_update, no_update
    store, token, models = get_store(), state["token"], tuple(state["models"])
    try:
        counts = {m: predictions(store, token, m)["predicted_class"].value_counts().to_dict() for m in models}
        accuracy = _accuracy_block(store, token, models)
    except UnknownUpload as error:
        _tell(str(error))
        return no_update, no_update, no_update, no_update, no_update
    options = _filter_options(models, state["labelled"])
    offered = {o["value"] for o in options}
    keep = next((v for v in (which, asked) if v in offered and v != "all"), "all")
    return counts_figure(counts, MODEL_NAMES), accuracy, _columns(models, state["labelled"]), options, keep


def ticked_rows(ticked: dict | None, state: dict | None) -> list[int]:
    """The ticked rows of the upload shown: ticks are kept with their upload's token, so a new file starts with none."""
    if isinstance(ticked, dict) and state and ticked.get("token") == state.get("token"):
        return inputs.beat_rows(ticked.get("rows"))
    return []


@callback(
    Output("predict-table", "data"),
    Output("predict-table", "page_count"),
    Output("predict-table", "page_current"),
    Output("predict-table", "style_data_conditional"),
    Output("predict-table", "selected_row_ids"),
    Output("predict-table", "selected_rows"),
    Output("predict-download-button", "children"),
    Input("predict-state", "data"),
    Input("predict-table", "page_current"),
    Input("predict-filter", "value"),
    State("predict-ticked", "data"),
)
def show_page(state, page, which, ticked):
    try:
        state, page, which = inputs.predict_state(state), inputs.page_number(page), inputs.beat_filter(which)
    except inputs.BadInput as error:
        _tell(str(error))
        state = None
    if not state:
        return [], 0, 0, [], [], [], "Download predictions (CSV)"
    models = tuple(state["models"])
    try:
        table = combined_table(get_store(), state["token"], models)
    except UnknownUpload as error:
        _tell(str(error))
        return [], 0, 0, [], [], [], "Download predictions (CSV)"
    total = len(table)
    table = filtered(table, which, models)
    pages = max(1, -(-len(table) // PAGE_SIZE))
    page = min(page or 0, pages - 1)
    shown = table.iloc[page * PAGE_SIZE : (page + 1) * PAGE_SIZE].copy()
    shown["id"] = shown["row"]
    for model in models:
        shown[f"{model}_probability_text"] = [share(p) for p in shown[f"{model}_probability"]]
        if f"{model}_match" in shown:
            shown[f"{model}_match"] = ["✓" if hit else "✗" for hit in shown[f"{model}_match"]]
    style = [{"if": {"filter_query": f'{{{m}_match}} = "✗"', "column_id": f"{m}_match"},
              "color": "#b93222", "fontWeight": "700"} for m in models]
    style += [{"if": {"filter_query": f'{{{m}_class}} = "{c}"', "column_id": f"{m}_class"},
               "color": CLASS_COLOURS[c], "fontWeight": "600"} for m in models for c in CLASSES]
    label = (f"Download all {plural(total, 'beat')} (CSV)" if len(table) == total
             else f"Download the {plural(len(table), 'beat')} the filter shows (CSV)")
    # The checkboxes follow selected_rows (indices on this page), not the ids: set both.
    ticked = ticked_rows(ticked, state)
    on_page = [i for i, row in enumerate(shown["row"]) if row in ticked]
    return shown.to_dict("records"), pages, page, style, ticked, on_page, label


@callback(
    Output("predict-ticked", "data"),
    Input("predict-table", "selected_row_ids"),
    State("predict-table", "data"),
    State("predict-ticked", "data"),
    State("predict-state", "data"),
    prevent_initial_call=True,
)
def remember_ticks(selected, page_rows, ticked, state):
    """Ticks by beat (row number), across pages: the table only knows the ticks of the page it shows."""
    try:
        state = inputs.predict_state(state)
        before, selected = ticked_rows(ticked, state), inputs.beat_rows(selected)
    except inputs.BadInput as error:
        _tell(str(error))
        return no_update
    if not state:
        return no_update
    on_page = {row["id"] for row in page_rows or []}
    selected = [int(r) for r in selected or [] if r in on_page]
    kept = [r for r in before if r not in on_page or r in selected]
    merged = kept + [r for r in selected if r not in kept]
    return {"token": state["token"], "rows": merged} if merged != before else no_update


def _default_rows(table) -> list[int]:
    """One beat of each predicted class, so the overlay shows something before any row is ticked."""
    return [int(r) for r in table.drop_duplicates("predicted_class")["row"][:MAX_OVERLAY]]


def _panel_title(row, tables, models) -> str:
    parts = []
    for model in models:
        hit = tables[model].iloc[row - 1]
        cls = hit["predicted_class"]
        parts.append(f"{SHORT_NAMES[model] + ' ' if len(models) > 1 else ''}{cls} {share(float(hit[f'p_{cls}']))}")
    return f"row {row}: " + " · ".join(parts)


@callback(
    Output("predict-overlay", "children"),
    Output("predict-overlay-note", "children"),
    Output("predict-explain-row", "options"),
    Output("predict-explain-row", "value"),
    Input("predict-ticked", "data"),
    Input("predict-state", "data"),
    State("predict-explain-row", "value"),
)
def show_overlay(ticked, state, explained):
    try:
        state = inputs.predict_state(state)
        ticked = ticked_rows(ticked, state)
    except inputs.BadInput as error:
        _tell(str(error))
        return no_update, no_update, no_update, no_update
    if not state:
        return no_update, no_update, no_update, no_update
    store, token, models = get_store(), state["token"], tuple(state["models"])
    try:
        beats = load_beats(store, token)
        tables = {m: predictions(store, token, m) for m in models}
        ticked = inputs.beat_rows(ticked, len(beats.X))
    except UnknownUpload as error:
        _tell(str(error))
        return no_update, no_update, no_update, no_update
    except inputs.BadInput as error:
        _tell(str(error))
        return no_update, no_update, no_update, no_update
    first = models[0]  # the cascade whenever it is shown: its class picks the template
    if ticked:
        chosen = ticked[:MAX_OVERLAY]
        note = f"Rows {', '.join(map(str, chosen))}" + (
            f" (the first {MAX_OVERLAY} of {len(ticked)} ticked)" if len(ticked) > MAX_OVERLAY else "") + "."
    else:
        chosen = _default_rows(tables[first])
        note = "No rows ticked: showing the first beat of each predicted class. Tick rows in the table to choose."
    if len(models) > 1:
        note += f" Each panel shows the template of the class the {MODEL_NAMES[first]} gave; both models' classes are in its title."
    panels = []
    for row in chosen:
        cls = tables[first].iloc[row - 1]["predicted_class"]
        beat = {"row": row, "predicted_class": cls, "samples": beats.X[row - 1]}
        panels.append(dbc.Col([html.Div(_panel_title(row, tables, models), className="panel-title small fw-semibold"),
                               dcc.Graph(figure=beat_figure(beat, templates().get(cls)),
                                         config=graph_config(f"row-{row}-over-{cls}-template"),
                                         id=f"predict-overlay-row-{row}", className="overlay-panel")],
                              xs=12, sm=6, xl=3))
    options = [{"label": f"Row {r}", "value": r} for r in (ticked or chosen)]
    # A new tick is explained at once; otherwise the beat being explained stays while it is on offer.
    if ticked and (dash.ctx.triggered_id == "predict-ticked" or explained not in ticked):
        value = ticked[-1]
    else:
        value = explained if explained in chosen else chosen[0]
    return dbc.Row(panels, className="g-2"), note, options, value


@callback(
    Output("predict-explain", "children"),
    Input("predict-explain-row", "value"),
    State("predict-state", "data"),
)
def show_explanation(row, state):
    try:
        state = inputs.predict_state(state)
    except inputs.BadInput as error:
        _tell(str(error))
        return no_update
    if not state or not row:
        return None
    store, token = get_store(), state["token"]
    try:
        [row] = inputs.beat_rows([row], len(load_beats(store, token).X))
        explanation = explain_row(store, token, row)
        samples = load_beats(store, token).X[row - 1]
        cls = explanation.predicted_class
        table = predictions(store, token, "cascade")
        score = float(table.loc[table["row"] == row, f"p_{cls}"].iloc[0])
    except UnknownUpload as error:
        _tell(str(error))
        return no_update
    except inputs.BadInput as error:
        _tell(str(error))
        return no_update
    meaning = row_score_meaning(get_bundle().report.protocols["intra"].models.get("cascade"), cls, score)
    return explanation_view(explanation, samples, templates(), id="predict-explain", subject=f"Row {row}",
                            model="the XGBoost cascade", filename=f"row-{row}",
                            meaning=f"Score {share(score)}. {meaning}" if meaning else None)


@callback(
    Output("predict-download", "data"),
    Input("predict-download-button", "n_clicks"),
    State("predict-state", "data"),
    State("predict-filter", "value"),
    prevent_initial_call=True,
)
def download(_clicks, state, which):
    try:
        state, which = inputs.predict_state(state), inputs.beat_filter(which)
    except inputs.BadInput as error:
        _tell(str(error))
        return no_update
    if not state:
        return no_update
    store, token, models = get_store(), state["token"], tuple(state["models"])
    try:
        table = combined_table(store, token, models)
        kept = filtered(table, which, models)
        rows = None if len(kept) == len(table) else kept["row"].tolist()
        content = download_csv(store, token, models, rows)
    except UnknownUpload as error:
        _tell(str(error))
        return no_update
    stem = Path(state["filename"]).stem or "upload"
    suffix = "" if rows is None else f"-{which}"
    return dcc.send_bytes(content, f"{stem}-predictions{suffix}.csv")


keep_in_url(model=("predict-model", "value"), filter=("predict-filter", "value"))
