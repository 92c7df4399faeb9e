"""Cards, alerts and small layout pieces used on several pages."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashboard.data import protocol_title


def stat_card(title: str, value: str, note: str = "", *, id: str | None = None, fill: bool = True) -> dbc.Card:
    body = [html.Div(title, className="stat-title"), html.Div(value, className="stat-value")]
    if note:
        body.append(html.Div(note, className="stat-note"))
    kwargs = {"id": id} if id else {}
    return dbc.Card(dbc.CardBody(body), className="stat-card" + (" h-100" if fill else ""), **kwargs)


def bundle_problem(error: Exception) -> dbc.Alert:
    """What a page shows instead of figures when the model bundle cannot be loaded."""
    return dbc.Alert(
        [
            html.H5("The model bundle could not be loaded", className="alert-heading"),
            html.P(str(error), className="mb-1"),
            html.P(
                "Train one with `python -m pipeline train ... --out models/`, or point MODELS_DIR at a bundle.",
                className="mb-0 small",
            ),
        ],
        color="danger",
        id="bundle-problem",
    )


def section(title: str, *children, lead: str | None = None, id: str | None = None) -> html.Section:
    head = [html.H4(title, className="mt-4 mb-2")]
    if lead:
        head.append(html.P(lead, className="text-muted"))
    kwargs = {"id": id} if id else {}
    return html.Section([*head, *children], **kwargs)


def protocol_options(report: dict, radio_id: str) -> list[dict]:
    """Radio options for the report's evaluation protocols; an unavailable one is shown, disabled, with its reason."""
    options = []
    for key, protocol in report["protocols"].items():
        available = protocol.get("available", False)
        label = protocol_title(report, key) if available else f"{key}: {protocol.get('reason', 'not available')}"
        options.append({"label": label, "value": key, "disabled": not available, "input_id": f"{radio_id}-{key}"})
    return options


def first_available(report: dict) -> str:
    return next(k for k, p in report["protocols"].items() if p.get("available"))


def chosen_protocol(report: dict, asked: str | None) -> str:
    """The protocol a page's URL asks for, when the report has it; else the first available."""
    protocol = report["protocols"].get(asked or "")
    return asked if protocol and protocol.get("available") else first_available(report)


def stat_card_note(*parts) -> html.Div:
    return html.Div(parts, className="stat-note")


def upload_zone(id: str, title: str, help_text: str, button: str, aria_label: str, max_bytes: int,
                empty_message: str) -> html.Div:
    """A drop zone around a label for the file input `{id}-input` (which lives outside React's tree, see
    assets/upload.js), made a focusable button: assets/access.js opens the file dialog on Enter or Space."""
    return html.Div(
        html.Label(
            [
                html.Div(title, className="fw-semibold"),
                html.Div(help_text, className="small text-muted"),
                html.Span(button, className="btn btn-success btn-sm mt-2"),
            ],
            htmlFor=f"{id}-input",
            className="upload-label",
            id=f"{id}-label",
            tabIndex="0",
            role="button",
            **{"aria-label": aria_label},
        ),
        id=f"{id}-zone",
        className="upload-zone",
        **{"data-max-bytes": str(max_bytes), "data-empty-message": empty_message},
    )
