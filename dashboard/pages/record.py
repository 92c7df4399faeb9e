"""Recording page: upload a whole ECG (or load the sample), see every beat classified on the strip, its rhythm, and the reference."""
from __future__ import annotations

import logging
import time
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import Input, Output, State, callback, ctx, dash_table, dcc, html, no_update
from dash.exceptions import PreventUpdate

from pipeline.records import RecordError, class_scores
from pipeline.report import new_patient_note, score_meaning
from pipeline.recording import RecordingError
from pipeline.vocabulary import CLASS_NAMES, CLASSES

from dashboard import inputs
from dashboard.components.cards import section, upload_zone
from dashboard.components.explanation import explanation_view
from dashboard.components.figures import confusion_figure, graph_config
from dashboard.components.palette import CLASS_COLOURS
from dashboard.components.strip import beat_figure, strip_figure, tachogram_figure
from dashboard.data import BundleError, get_report
from dashboard.recordings import (analyse, beat_row, beat_table, download_csv, explain_beat, is_stored, look_alike_beats,
                                  reference_marks, stored_features, stored_meta, strip_window)
from dashboard.settings import ASSETS_DIR, MB, settings
from dashboard.uploads import UnknownUpload, UploadTooLarge, get_store

log = logging.getLogger(__name__)

dash.register_page(__name__, path="/record", name="Recording", order=2.5, title="Recording · Heartbeat classifier")

SAMPLE_DIR = ASSETS_DIR / "sample_recording"
SAMPLE_FILES = ("200.hea", "200.dat", "200.atr")
BUCKETS = 2000  # min/max pairs a strip view may hold: more than a wide screen has pixels
PICK_HALF_S = 5.0  # a picked beat is shown in a 10 s strip: ECG paper, one beat per second or so
MAX_TACHOGRAM = 20000  # beats drawn in one tachogram view; beyond it N beats are thinned, ectopic ones kept
PAGE_SIZE = 12
MAX_JUMPS = 500


def upload_card(max_bytes: int) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H5("1. A recording", className="card-title"),
                upload_zone(
                    "record", "Drop a recording here, or click to choose its files",
                    "WFDB: the .hea with its .dat (and .atr, for the comparison with the reference beats), chosen "
                    "together, or a .zip of them. Or one EDF/EDF+ file, or a CSV with a header row, a time column "
                    "and one column per lead (PhysioNet's and an Apple Watch's CSV exports are read as they are). "
                    f"Up to {max_bytes / MB:.0f} MB a file.",
                    "Choose files", "Choose the recording's files to classify", max_bytes,
                    "the file is empty: choose the recording's files again."),
                html.Div(id="record-upload-status", className="small text-muted mt-1"),
                dbc.Button("Load the sample: 5 minutes of MIT-BIH record 200, with its annotations",
                           id="record-sample", color="primary", outline=True, size="sm", className="mt-2"),
            ]
        ),
        className="h-100",
    )


def options_card() -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H5("2. Options", className="card-title"),
                dbc.Label("Lead", html_for="record-lead", className="small mb-1"),
                dcc.Dropdown(id="record-lead", clearable=False, placeholder="MLII, or the first ECG lead"),
                dbc.Label("Sampling rate (Hz), only for a CSV without a time column", html_for="record-fs",
                          className="small mt-2 mb-1"),
                dbc.Input(id="record-fs", type="number", min=100, max=1000, step="any", debounce=True,
                          placeholder="e.g. 250", size="sm"),
                dbc.Switch(id="record-invert", value=False, className="small mt-2 mb-0",
                           label="Turn the lead upside down (its R waves point down: electrodes swapped)"),
                html.P("Beats are found by the pipeline's detector and classified by the rhythm-aware cascade, "
                       "which uses each beat's R-R intervals relative to the recording's own rhythm and judges "
                       "beats that look alike together.",
                       className="small text-muted mt-2 mb-0"),
            ]
        ),
        className="h-100",
    )


def layout(**_query):
    return html.Div(
        [
            html.H2("Classify a whole recording"),
            dbc.Row([dbc.Col(upload_card(settings().max_upload_bytes), lg=8, className="mb-2"),
                     dbc.Col(options_card(), lg=4, className="mb-2")]),
            dcc.Store(id="record-files"),
            dcc.Store(id="record-state"),
            dcc.Store(id="record-pick"),
            dcc.Store(id="record-window"),
            dcc.Download(id="record-download"),
            dcc.Loading(dbc.Alert(id="record-message", is_open=False, className="mt-3"), type="default",
                        delay_show=300),
            html.Div(
                [
                    html.Div(id="record-summary", className="mt-3"),
                    section(
                        "The strip",
                        dbc.Button("Whole recording", id="record-whole", size="sm", color="secondary",
                                   outline=True, className="mb-1"),
                        dcc.Graph(id="record-strip", config=graph_config("recording-strip"), responsive=True, style={"height": "340px"}),
                        dcc.Graph(id="record-tachogram", config=graph_config("recording-tachogram"), responsive=True,
                                  style={"height": "230px"}),
                        lead="Drag across either plot to zoom in time, double-click for the whole recording; "
                        "the two stay on the same stretch. Each beat is marked in its class's colour, with its "
                        "letter when zoomed in (ECG paper grid: 0.2 s and 0.5 mV). The lower plot is the R-R "
                        "interval before each beat: premature beats drop below the rhythm. Click a beat to see "
                        "it below. With reference annotations, an x under the trace is an extra detection and an "
                        "open circle a reference beat that was missed.",
                    ),
                    section(
                        "One beat",
                        html.Div(
                            [
                                dbc.Label("Beat number", html_for="record-goto", className="small mb-0 me-2"),
                                dbc.Input(id="record-goto", type="number", min=1, step=1, debounce=True, size="sm",
                                          placeholder="e.g. 12", style={"maxWidth": "8rem"}),
                                dbc.FormFeedback(id="record-goto-feedback", type="invalid"),
                            ],
                            className="d-flex flex-wrap align-items-center mb-2",
                        ),
                        html.Div(id="record-beat-text", className="small"),
                        dcc.Graph(id="record-beat", config=graph_config("recording-beat", zoom=False), responsive=True, style={"height": "340px"}),
                        dcc.Loading(html.Div(id="record-explain"), type="default", delay_show=300),
                        lead="Type a beat's number and press Enter, or click a beat on the strip or in the table. "
                        "The beat as the model saw it (its row: 120 Hz, scaled to 0-1) over the mean ±1 sd "
                        "of the training beats of the class it was given; below it, why the cascade gave it "
                        "that class, its R-R intervals included.",
                    ),
                    section(
                        "Every beat",
                        dbc.Row(
                            [
                                dbc.Col(dbc.RadioItems(id="record-filter", value="all", inline=True,
                                                       options=[{"label": "All beats", "value": "all"}]), md=8),
                                dbc.Col(dbc.Button("Download the beat table (CSV)", id="record-download-button",
                                                   color="primary", size="sm"), md=4, className="text-md-end"),
                            ],
                            className="mb-2 g-2",
                        ),
                        dash_table.DataTable(
                            id="record-table",
                            columns=[
                                {"name": "beat", "id": "index", "type": "numeric"},
                                {"name": "time (s)", "id": "time_s", "type": "numeric"},
                                {"name": "R-R before (s)", "id": "rr_pre_s", "type": "numeric"},
                                {"name": "class", "id": "predicted_class"},
                                {"name": "score", "id": "score", "type": "numeric",
                                 "format": dash_table.FormatTemplate.percentage(1)},
                            ],
                            data=[],
                            page_action="custom",
                            page_current=0,
                            page_size=PAGE_SIZE,
                            style_as_list_view=True,
                            style_table={"overflowX": "auto"},
                            style_cell={"fontFamily": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
                                        "fontSize": "0.9rem", "padding": "4px 8px", "cursor": "pointer"},
                            style_header={"fontWeight": "600", "backgroundColor": "#f4f6f7", "whiteSpace": "normal", "height": "auto"},
                            style_data_conditional=[
                                {"if": {"filter_query": f'{{predicted_class}} = "{c}"', "column_id": "predicted_class"},
                                 "color": CLASS_COLOURS[c], "fontWeight": "700"} for c in CLASSES
                            ],
                        ),
                        lead="Click a row to see that beat on the strip. The download is the table "
                        "`python -m pipeline classify-record` writes for this file.",
                    ),
                    html.Div(_no_reference(), id="record-reference"),
                ],
                id="record-results",
                hidden=True,
            ),
        ]
    )


# ---------------------------------------------------------------- getting the files in


@callback(Output("record-files", "data"), Input("record-sample", "n_clicks"),
          prevent_initial_call=True)
def load_sample(_clicks):
    """Put the committed sample recording's files into the upload store, exactly as an upload would."""
    store, files = get_store(), []
    try:
        for name in SAMPLE_FILES:
            path = SAMPLE_DIR / name
            with open(path, "rb") as sample:
                token = store.create(sample, limit=settings().max_upload_bytes, size=path.stat().st_size)
            files.append({"token": token, "filename": name})
    except FileNotFoundError:
        return {"error": f"The sample recording is missing from {SAMPLE_DIR.name}/; upload a recording instead."}
    except UploadTooLarge as error:
        return {"error": str(error)}
    return {"files": files, "nonce": time.time()}


def _message(text: str, color: str = "danger"):
    return text, color, True


def _trust_note() -> html.P | None:
    """How far the counts can be trusted (the report's figures on patients the model never saw), so that a
    recording with no S beat called is not read as one without S beats."""
    try:
        note = new_patient_note(get_report().get("recordings"))
    except BundleError:
        return None
    if not note:
        return None
    return html.P([html.Strong("How far to trust these counts: "), note + " ",
                   dcc.Link("The Models page", href="/models"), " has the figures."],
                  className="small text-muted mt-2 mb-0", id="record-trust")


def _summary(meta: dict) -> html.Div:
    """The Holter-style summary as text: beats found, beats per class, heart rate, ectopic rate, runs."""
    s = meta["summary"]
    minutes = meta["duration_s"] / 60
    per_hour = s.get("ectopic_per_hour", {})
    counts = [html.Span([html.Strong(f"{c} {s['counts'].get(c, 0):,}", style={"color": CLASS_COLOURS[c]}),
                         f" {CLASS_NAMES[c].lower()}"], id=f"record-count-{c}", className="me-3")
              for c in CLASSES]
    lead = meta["lead_names"][meta["lead"]] + (", upside down" if meta.get("inverted") else "")
    return html.Div(
        [
            html.H4([html.Span(f"{s['beats']:,} beats found", id="record-beats-found"),
                     html.Small(f" in {minutes:.1f} minutes of {meta['name']} (lead {lead}, {meta['fs']:g} Hz)",
                                className="text-muted")], className="mb-2"),
            html.P(counts, className="mb-1"),
            html.Ul(
                [
                    html.Li(f"Heart rate: mean {s['mean_hr_bpm']:.0f}, minimum {s['min_hr_bpm']:.0f}, maximum "
                            f"{s['max_hr_bpm']:.0f} beats per minute.", id="record-hr"),
                    html.Li(f"Ectopic beats per hour: S {per_hour.get('S', 0):,.0f}, V {per_hour.get('V', 0):,.0f}"
                            + (f" (from {s['counts']['S']:,} S and {s['counts']['V']:,} V in {minutes:.1f} minutes)."
                               if minutes < 60 else "."), id="record-ectopic"),
                    html.Li(f"Ventricular runs: {s['v_couplets']:,} couplets, {s['v_triplets']:,} triplets, "
                            f"{s['v_runs_longer']:,} longer runs. Supraventricular runs (3 or more S beats): "
                            f"{s['s_runs']:,}.", id="record-runs"),
                ],
                className="mb-0",
            ),
            _trust_note(),
        ],
        id="record-summary-text",
    )


def _no_reference() -> html.Div:
    """No comparison to show; the jump list stays in the layout, hidden: the beat-picking callback listens to it."""
    return html.Div(dcc.Dropdown(id="record-jump", options=[]), hidden=True)


def _reference(meta: dict) -> html.Div:
    """Se and +P per class against the annotations, the confusion matrix, and the missed and extra beats to jump to."""
    ref = meta["reference"]
    if not ref:
        return _no_reference()
    det = ref["detection"]
    rows = [html.Tr([html.Td(html.Strong(c, style={"color": CLASS_COLOURS[c]})),
                     html.Td(f"{m['reference']:,}"), html.Td(f"{m['sensitivity']:.1%}" if m["reference"] else "–"),
                     html.Td(f"{m['given']:,}"), html.Td(f"{m['positive_predictivity']:.1%}" if m["given"] else "–")],
                    id=f"record-ref-{c}")
            for c, m in ref["per_class"].items()]
    table = dbc.Table([html.Thead(html.Tr([html.Th(h) for h in ("class", "reference beats", "Se", "beats given", "+P")])),
                       html.Tbody(rows)], size="sm", bordered=False, striped=True, className="mb-1")
    fs = meta["fs"]
    missed, extra = reference_marks(get_store(), meta)
    jumps = [{"label": f"missed at {s / fs:.2f} s", "value": f"{s / fs:.4f}"} for s in missed]
    jumps += [{"label": f"extra at {s / fs:.2f} s", "value": f"{s / fs:.4f}"} for s in extra]
    jumps.sort(key=lambda option: float(option["value"]))
    return section(
        "Against the reference annotations",
        html.P(
            [html.Span(f"Beat detection: {det['matched']:,} of {det['reference_beats']:,} reference beats found "
                       f"(Se {det['sensitivity']:.2%}), {det['extra']:,} extra detections "
                       f"(+P {det['positive_predictivity']:.2%}).", id="record-detection")],
        ),
        dbc.Row(
            [
                dbc.Col([table, html.P("Se: share of the reference beats of the class given that class (a missed "
                                       "beat counts against it). +P: share of the beats given the class that are "
                                       "of it (an extra detection counts against it).", className="small text-muted")],
                        lg=6),
                dbc.Col(dcc.Graph(figure=confusion_figure(ref, normalise=False, compact=True),
                                  config=graph_config("recording-confusion", zoom=False),
                                  id="record-confusion"), lg=6),
            ]
        ),
        html.Div(
            [
                dbc.Label(f"Missed and extra beats ({len(jumps):,}): pick one to see it on the strip",
                          html_for="record-jump", className="small mb-1"),
                dcc.Dropdown(id="record-jump", options=jumps[:MAX_JUMPS], placeholder="none" if not jumps else
                             "choose a missed or extra beat"),
            ],
            className="mt-2",
        ),
        lead="The reference beats came with the recording (.atr). Beats are matched within 150 ms (ANSI/AAMI "
        "EC57); the confusion matrix's rows are the reference class (and detections with no reference beat), "
        "its columns the class given (and reference beats that were not found).",
        id="record-reference-section",
    )


@callback(
    Output("record-message", "children"),
    Output("record-message", "color"),
    Output("record-message", "is_open"),
    Output("record-state", "data"),
    Output("record-results", "hidden"),
    Output("record-summary", "children"),
    Output("record-reference", "children"),
    Output("record-lead", "options"),
    Output("record-lead", "value"),
    Output("record-filter", "options"),
    Output("record-filter", "value"),
    Output("record-table", "page_current"),
    Output("record-invert", "value"),
    Input("record-files", "data"),
    Input("record-lead", "value"),
    Input("record-fs", "value"),
    Input("record-invert", "value"),
    prevent_initial_call=True,
)
def classify(upload, lead, fs, invert):
    """Read and classify the recording through the pipeline; any problem with it becomes one sentence."""

    def failed(text: str, lead_options=no_update, lead_value=no_update):
        """The sentence, and no results (the lead menu kept unless the upload itself failed)."""
        return *_message(text), None, True, None, _no_reference(), lead_options, lead_value, *(no_update,) * 4

    try:
        upload, lead, fs = inputs.record_files(upload), inputs.record_lead(lead), inputs.sampling_rate(fs)
        invert = inputs.record_invert(invert)
    except inputs.BadInput as error:
        return failed(str(error))
    if not upload:
        raise PreventUpdate
    if "error" in upload:
        return failed(upload["error"], [], None)
    if ctx.triggered_id == "record-files":
        lead, invert = None, False  # a new recording starts on its default lead, the right way up
    names = ", ".join(f["filename"] for f in upload["files"])
    try:
        meta = analyse(get_store(), upload["files"], lead=lead, fs=fs or None, invert=invert)
        reference = _reference(meta)
    except (RecordingError, RecordError) as error:
        # name the files, unless the sentence already does ("short.csv holds 5.0 s of signal; ...")
        named = any(f["filename"] in str(error) for f in upload["files"])
        return failed(str(error) if named else f"{names}: {error}")
    except UnknownUpload as error:
        return failed(str(error))
    except BundleError as error:
        return failed(f"The models could not be loaded: {error}")
    except Exception:  # a bug, not the user's file: log it, keep the page (and the worker) alive
        log.exception("classifying recording %s failed", names)
        return failed(f"Something went wrong on the server while classifying {names}. It has been logged; try again, "
                      "or try another recording.")
    warning = _message(" ".join(meta["warnings"]), "warning") if meta["warnings"] else (None, "danger", False)
    counts = meta["summary"]["counts"]
    filters = [{"label": "all", "value": "all", "input_id": "record-filter-all"}]
    filters += [{"label": f"{c} only", "value": c, "input_id": f"record-filter-{c}"} for c in CLASSES if counts.get(c)]
    if meta["reference"]:
        filters.append({"label": "extra detections", "value": "extra", "input_id": "record-filter-extra"})
    leads = [{"label": f"{name} ({i})", "value": i} for i, name in enumerate(meta["lead_names"])]
    return (*warning, meta, False, _summary(meta), reference, leads, meta["lead"], filters, "all", 0, invert)


@callback(
    Output("record-message", "children", allow_duplicate=True),
    Output("record-message", "color", allow_duplicate=True),
    Output("record-message", "is_open", allow_duplicate=True),
    Input("record-strip", "relayoutData"),
    Input("record-strip", "clickData"),
    Input("record-tachogram", "relayoutData"),
    Input("record-tachogram", "clickData"),
    Input("record-whole", "n_clicks"),
    Input("record-table", "active_cell"),
    Input("record-table", "page_current"),
    Input("record-filter", "value"),
    Input("record-download-button", "n_clicks"),
    State("record-state", "data"),
    prevent_initial_call=True,
)
def tell_expired(*args):
    """Say so when the analysis behind the page has expired: the other callbacks then leave the page as it was."""
    try:
        meta = inputs.record_state(args[-1])
    except inputs.BadInput as error:
        return _message(str(error))
    if not meta:
        raise PreventUpdate
    if is_stored(get_store(), meta):
        raise PreventUpdate
    return _message(str(UnknownUpload(meta["home"])))


# ---------------------------------------------------------------- strip and tachogram


def _trusted(meta) -> dict | None:
    """The page's record-state, checked for shape and then replaced by the server's own copy of the analysis.

    A state the page cannot have sent, or whose analysis is gone, changes nothing (tell_expired says why).
    """
    try:
        meta = inputs.record_state(meta)
        return stored_meta(get_store(), meta) if meta else None
    except (inputs.BadInput, UnknownUpload, KeyError):
        raise PreventUpdate from None


def _window_from(relayout: dict | None, full: tuple[float, float]):
    """The time window a plot's relayoutData asks for; None when it is not about the time axis (or not a relayout)."""
    if not relayout or not isinstance(relayout, dict):
        return None
    if relayout.get("xaxis.autorange"):
        return full
    try:
        if "xaxis.range[0]" in relayout and "xaxis.range[1]" in relayout:
            window = (float(relayout["xaxis.range[0]"]), float(relayout["xaxis.range[1]"]))
        elif "xaxis.range" in relayout:
            window = tuple(map(float, relayout["xaxis.range"]))
        else:
            return None
    except (TypeError, ValueError):  # a relayout the plot never sends
        return None
    return window if len(window) == 2 and all(np.isfinite(window)) else None


def _tachogram_beats(beats: pd.DataFrame) -> pd.DataFrame:
    if len(beats) <= MAX_TACHOGRAM:
        return beats
    normal = beats["predicted_class"] == "N"
    step = -(-int(normal.sum()) // max(MAX_TACHOGRAM - int((~normal).sum()), 1))
    keep = ~normal | (normal & (np.cumsum(normal) % step == 0))
    return beats[keep]


def draw_window(store, meta: dict, window: tuple[float, float], picked: float | None = None):
    """The strip and the tachogram for one time window: only what the window shows, at what a plot can draw."""
    full = (0.0, meta["duration_s"])
    t0, t1 = max(window[0], full[0]), min(window[1], full[1])
    if t1 <= t0:
        t0, t1 = full
    table = beat_table(store, meta)
    table["index"] = np.arange(1, len(table) + 1)
    lo, hi = np.searchsorted(table["time_s"].to_numpy(), [t0, t1])
    beats = table.iloc[lo:hi]
    time_s, values = strip_window(store, meta, t0, t1, BUCKETS)
    ref = meta["reference"]
    missed_s, extra = (), None
    if ref:
        missed, extra_samples = reference_marks(store, meta)
        missed_s = missed / meta["fs"]
        missed_s = missed_s[(missed_s >= t0) & (missed_s <= t1)]
        extra = np.isin(beats["sample"].to_numpy(), extra_samples)
    strip = strip_figure(time_s, values, beats, (t0, t1), unit=meta["unit"], missed_s=missed_s, extra=extra,
                         picked=picked)
    return strip, tachogram_figure(_tachogram_beats(beats), (t0, t1), picked=picked)


@callback(
    Output("record-strip", "figure"),
    Output("record-tachogram", "figure"),
    Output("record-window", "data"),
    Input("record-state", "data"),
    Input("record-strip", "relayoutData"),
    Input("record-tachogram", "relayoutData"),
    Input("record-pick", "data"),
    Input("record-whole", "n_clicks"),
    State("record-window", "data"),
)
def show_strip(meta, strip_relayout, tachogram_relayout, pick, _whole, current):
    """Redraw both plots for the window the user asked for, from the server-side strip (never sent whole)."""
    try:
        pick = inputs.record_pick(pick)
    except inputs.BadInput:
        raise PreventUpdate from None  # no message box here
    meta = _trusted(meta)
    if not meta:
        raise PreventUpdate
    full = (0.0, meta["duration_s"])
    # Several inputs can fire together (a plot that appears reports its size): a new recording wins.
    triggered = ctx.triggered_prop_ids
    picked = pick["time"] if pick else None
    if "record-state.data" in triggered or "record-whole.n_clicks" in triggered or not triggered:
        window = full
    elif "record-pick.data" in triggered and pick:
        window = (pick["time"] - PICK_HALF_S, pick["time"] + PICK_HALF_S)
    elif "record-strip.relayoutData" in triggered:
        window = _window_from(strip_relayout, full)
    else:
        window = _window_from(tachogram_relayout, full)
    # A relayout that is not about time (the plot resized) redraws the current window: Dash drops the
    # answer to an earlier call of this callback when a later one starts, so each call must draw.
    window = window or _window_from({"xaxis.range": current}, full) or full
    try:
        return *draw_window(get_store(), meta, window, picked), list(window)
    except (UnknownUpload, KeyError):
        raise PreventUpdate from None


# ---------------------------------------------------------------- one beat


def _nearest_beat(times: np.ndarray, t: float) -> int:
    i = int(np.clip(np.searchsorted(times, t), 1, len(times) - 1))
    return i if abs(times[i] - t) < abs(times[i - 1] - t) else i - 1


@callback(
    Output("record-goto", "value"),
    Output("record-goto", "invalid", allow_duplicate=True),
    Input("record-state", "data"),
    prevent_initial_call=True,
)
def clear_beat_number(_meta):
    """A new recording, lead or rate: the number typed for the one before is gone, and so is what was said of it."""
    return None, False


@callback(
    Output("record-pick", "data"),
    Output("record-goto", "invalid"),
    Output("record-goto-feedback", "children"),
    Input("record-strip", "clickData"),
    Input("record-tachogram", "clickData"),
    Input("record-table", "active_cell"),
    Input("record-jump", "value"),
    Input("record-goto", "value"),
    State("record-state", "data"),
    prevent_initial_call=True,
)
def pick_beat(strip_click, tachogram_click, cell, jump, number, meta):
    """A beat clicked on the strip, the tachogram or the table, its number typed (the keyboard's way), or a
    missed/extra beat chosen: {index, time}; a number the recording has no beat for is said under its box."""
    meta = _trusted(meta)
    if not meta:
        raise PreventUpdate
    trigger = ctx.triggered_id
    if trigger == "record-goto" and number is None:
        raise PreventUpdate
    try:
        times = beat_table(get_store(), meta)["time_s"].to_numpy()
        if trigger == "record-goto":
            if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= len(times):
                return no_update, True, f"Type a beat number from 1 to {len(times):,}."
            index = number - 1
        elif trigger in ("record-strip", "record-tachogram"):
            point = (strip_click if trigger == "record-strip" else tachogram_click)["points"][0]
            index = int(point["customdata"]) - 1 if point.get("customdata") is not None else _nearest_beat(times, float(point["x"]))
        elif trigger == "record-table" and cell and cell.get("row_id") is not None:
            index = int(cell["row_id"]) - 1
        elif trigger == "record-jump" and jump:
            t = float(jump)  # the option's value: seconds as text
            if not np.isfinite(t):
                raise PreventUpdate
            return {"index": _nearest_beat(times, t), "time": t}, False, no_update
        else:
            raise PreventUpdate
        if not 0 <= index < len(times):
            raise PreventUpdate
        return {"index": index, "time": float(times[index])}, False, no_update
    except (UnknownUpload, KeyError, TypeError, ValueError, IndexError, AttributeError):
        raise PreventUpdate from None  # gone from the store, or a click the plots and the table never send


@callback(
    Output("record-beat", "figure"),
    Output("record-beat-text", "children"),
    Output("record-explain", "children"),
    Input("record-pick", "data"),
    Input("record-state", "data"),
)
def show_beat(pick, meta):
    """The picked beat (the first ectopic one before any click) against its class template, with its scores and what
    its class's score meant on the test patients."""
    try:
        pick = inputs.record_pick(pick)
    except inputs.BadInput:
        raise PreventUpdate from None
    meta = _trusted(meta)
    if not meta:
        raise PreventUpdate
    store = get_store()
    try:
        table = beat_table(store, meta)
        if pick and ctx.triggered_id == "record-pick":
            index = pick["index"]
            if index >= len(table):
                raise PreventUpdate
        else:
            ectopic = np.flatnonzero(table["predicted_class"].to_numpy() != "N")
            index = int(ectopic[0]) if len(ectopic) else 0
        row = beat_row(store, meta, table, index)
        features = stored_features(store, meta)
        explanation = explain_beat(row, features[index], table[[f"p_{c}" for c in CLASSES]].to_numpy()[index])
        alike = look_alike_beats(meta, table, features, index)
    except (UnknownUpload, KeyError):
        raise PreventUpdate from None
    beat = table.iloc[index]
    cls = beat["predicted_class"]
    scores = {c: beat[f"p_{c}"] for c in CLASSES}
    report = get_report()
    rr = "" if pd.isna(beat["rr_pre_s"]) else f", {beat['rr_pre_s']:.3f} s after the beat before"
    text = html.P([html.Strong(f"Beat {index + 1:,}", id="record-beat-number"),
                   f" at {beat['time_s']:.2f} s{rr}: ",
                   html.Strong(f"{cls} ({CLASS_NAMES[cls]})", style={"color": CLASS_COLOURS[cls]}, id="record-beat-class"),
                   f", score {scores[cls]:.1%}. ",
                   html.Span(score_meaning(report.get("recordings"), cls, scores[cls]) or "", id="record-beat-meaning")],
                  className="mb-0")
    figure = beat_figure(row, cls, scores, report["templates"], title=f"beat {index + 1:,} and the {cls} template")
    why = explanation_view(explanation, row, report["templates"], id="record-explain", subject=f"Beat {index + 1:,}",
                           model="the rhythm-aware cascade", filename=f"beat-{index + 1}",
                           note=look_alike_note(alike, table["predicted_class"].to_numpy()) if explanation.look_alikes
                           else None)
    return figure, text, why


def look_alike_note(alike: np.ndarray | None, classes: np.ndarray, shown: int = 10) -> str:
    """Which beats were averaged into the picked one, in words (beat numbers from 1, as the table's)."""
    if alike is None:
        return ("The recording has too few beats for the look-alike step (it compares each beat with its ten nearest, "
                "so it needs 21), so each beat's own probabilities stand.")
    if not len(alike):
        return ("No beat of the recording is a mutual look-alike of this one (among its ten nearest, with it among "
                "theirs), so its own probabilities stand.")
    numbers = ", ".join(f"{i + 1:,}" for i in sorted(alike)[:shown]) + (", ..." if len(alike) > shown else "")
    counted = pd.Series(classes[alike]).value_counts()
    called = ", ".join(f"{c} {n}" for c, n in counted.items())
    return (f"Averaged with its {len(alike)} look-alike{'s' if len(alike) != 1 else ''} in the recording (beats "
            f"{numbers}; called {called}).")


# ---------------------------------------------------------------- the table and the download


@callback(
    Output("record-table", "data"),
    Output("record-table", "page_count"),
    Input("record-state", "data"),
    Input("record-table", "page_current"),
    Input("record-filter", "value"),
)
def show_table(meta, page, which):
    try:
        page, which = inputs.page_number(page), inputs.beat_filter(which)
    except inputs.BadInput:
        raise PreventUpdate from None
    meta = _trusted(meta)
    if not meta:
        return [], 0
    try:
        table = beat_table(get_store(), meta)
    except (UnknownUpload, KeyError):
        return [], 0
    table["index"] = np.arange(1, len(table) + 1)
    if which in CLASSES:
        table = table[table["predicted_class"] == which]
    elif which == "extra" and meta["reference"]:
        table = table[np.isin(table["sample"].to_numpy(), reference_marks(get_store(), meta)[1])]
    pages = max(1, -(-len(table) // PAGE_SIZE))
    page = min(page or 0, pages - 1)
    shown = table.iloc[page * PAGE_SIZE : (page + 1) * PAGE_SIZE].copy()
    shown["score"] = class_scores(shown)
    shown["id"] = shown["index"]
    columns = ["id", "index", "time_s", "rr_pre_s", "predicted_class", "score"]
    return shown[columns].to_dict("records"), pages


@callback(
    Output("record-download", "data"),
    Input("record-download-button", "n_clicks"),
    State("record-state", "data"),
    prevent_initial_call=True,
)
def download(_clicks, meta):
    meta = _trusted(meta)
    if not meta:
        raise PreventUpdate
    try:
        content = download_csv(get_store(), meta)
    except (UnknownUpload, KeyError):
        raise PreventUpdate from None
    return dcc.send_bytes(content, f"{Path(meta['name']).stem or 'recording'}-beats.csv")
