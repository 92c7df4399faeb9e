"""Why the cascade gave one beat its class, on a page: its two steps in words and the inputs that pushed each."""
import dash_bootstrap_components as dbc
from dash import dcc, html

from pipeline.vocabulary import CLASS_NAMES

from dashboard.components.figures import explanation_figure, graph_config
from dashboard.components.palette import AGAINST, TOWARD

REASONS_SHOWN = 5


def _reason_list(reasons, toward: str, against: str, id: str) -> html.Ol:
    items = []
    for reason in reasons[:REASONS_SHOWN]:
        pushes = toward if reason.weight > 0 else against
        items.append(html.Li([reason.text, html.Span(f" → {pushes}", style={
            "color": TOWARD if reason.weight > 0 else AGAINST, "fontWeight": 600})]))
    return html.Ol(items, className="explain-reasons small", id=id)


def explanation_view(e, samples, templates: dict, *, id: str, subject: str, model: str, filename: str,
                     note: str | None = None, meaning: str | None = None) -> html.Div:
    """pipeline.explain's BeatExplanation `e` of the beat whose row is `samples`; element ids start with `id`;
    `note`, a sentence under step 1 (the Recording page's look-alikes); `meaning`, one under the title (what the
    class's score meant on test beats: pipeline.report.row_score_meaning)."""
    cls, other = e.predicted_class, e.abnormal_class
    own = (f"P(abnormal) = {e.own_p_abnormal:.2f} from the beat's own inputs, {e.p_abnormal:.2f} with its "
           "look-alikes in the recording averaged in, " if e.look_alikes else f"P(abnormal) = {e.p_abnormal:.2f}, ")
    step1 = html.P([
        html.Strong("1. Normal or abnormal? "),
        f"{own}{'at or above' if e.abnormal else 'below'} the threshold "
        f"{e.threshold:g}: ", html.Strong("abnormal" if e.abnormal else "normal (N)"), "."],
        id=f"{id}-step1")
    ranked = ", ".join(f"{c} {p:.2f}" for c, p in sorted(e.class_probabilities.items(), key=lambda kv: -kv[1]))
    step2 = html.P([
        html.Strong("2. Which abnormal class? "),
        f"{ranked}: " if e.abnormal else f"not asked, the beat is normal (had it been abnormal: {ranked}).",
        html.Strong(f"{cls} ({CLASS_NAMES[cls]})") if e.abnormal else ""],
        id=f"{id}-step2")
    decision = "abnormal" if e.abnormal else "normal"
    undecision = "normal" if e.abnormal else "abnormal"
    stage1 = [html.H6(f"What pushed step 1 toward {decision}"),
              dcc.Graph(figure=explanation_figure(samples, e, "abnormal", templates.get(cls)),
                        config=graph_config(f"{filename}-why-{decision}"), id=f"{id}-abnormal"),
              _reason_list(e.abnormal_reasons, decision, undecision, f"{id}-abnormal-reasons")]
    columns = [dbc.Col(stage1, lg=6)]
    if e.abnormal:
        stage2 = [html.H6(f"What pushed step 2 toward {other}"),
                  dcc.Graph(figure=explanation_figure(samples, e, "class", templates.get(other)),
                            config=graph_config(f"{filename}-why-{other}"), id=f"{id}-class"),
                  _reason_list(e.class_reasons, other, f"another class than {other}", f"{id}-class-reasons")]
        columns.append(dbc.Col(stage2, lg=6))
    return html.Div([
        html.H5(f"{subject}: {cls} ({CLASS_NAMES[cls]}) by {model}", id=f"{id}-title"),
        *([html.P(meaning, className="small", id=f"{id}-meaning")] if meaning else []),
        step1, *([html.P(note, className="small", id=f"{id}-note")] if note else []), step2, dbc.Row(columns),
        html.P("Step 1's weights are XGBoost's SHAP values (log-odds); step 2's are the drop in the class's log "
               "probability when that part of the beat is replaced by an average abnormal beat's. Waveform "
               "stretches are shaded over the whole height, QRS slopes in a strip at the bottom, rhythm "
               "features that sit at a point (the next R peak, the row's end) as dotted lines.",
               className="small text-muted"),
    ])
