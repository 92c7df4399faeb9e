"""The dashboard shell: pages, navigation from the page registry, the upload route and /healthz; `server` is the WSGI app."""
from __future__ import annotations

import logging
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, clientside_callback, html
from flask import jsonify, request

from dashboard import uploads
from dashboard.settings import ASSETS_DIR, MB, settings
from pipeline.bundle import BundleError, verify_bundle

log = logging.getLogger(__name__)

app = Dash(
    __name__,
    use_pages=True,
    pages_folder=str(Path(__file__).parent / "pages"),
    assets_folder=str(ASSETS_DIR),
    # Page layouts are functions, so page callbacks name components that are not in the shell.
    suppress_callback_exceptions=True,
    title="Heartbeat classifier",
    update_title=None,
)
server = app.server
uploads.install(server)
# Dash only picks up a favicon.ico from assets/; ours is an SVG.
app.index_string = app.index_string.replace(
    "{%favicon%}", f'<link rel="icon" type="image/svg+xml" href="{app.get_asset_url("favicon.svg")}">'
)


# Every route but /upload (which raises its own limit) takes at most this much: Dash's callback requests
# carry tokens and choices, never files.
server.config["MAX_CONTENT_LENGTH"] = MB


def _callback_request_problem(payload) -> str | None:
    """What is wrong with a /_dash-update-component body that Dash's dispatcher would answer with a 500."""
    if not isinstance(payload, dict) or not isinstance(payload.get("output"), str):
        return "not a callback request"
    if payload["output"] not in app.callback_map:
        return "no such callback"
    items = payload.get("inputs"), payload.get("state", [])
    if not all(isinstance(group, list) and all(isinstance(i, dict) and "id" in i and "property" in i for i in group)
               for group in items) or not isinstance(payload.get("changedPropIds", []), list):
        return "malformed inputs"
    for item in payload["inputs"]:  # Dash's own page router reads the address as a browser gives it
        value = item.get("value")
        if item["id"] == "_pages_location" and value is not None and not (
                isinstance(value, str) and (item["property"] != "pathname" or value.startswith("/"))):
            return "not an address"
    return None


@server.before_request
def callback_request_shape():
    """A callback request the page cannot have made gets a 400 that says so, not a 500 from Dash's dispatcher."""
    if request.method == "POST" and request.path == app.get_relative_path("/_dash-update-component"):
        payload = request.get_json(silent=True)
        problem = _callback_request_problem(payload)
        if problem:
            return jsonify(error=f"The page sent a request it cannot have made ({problem}): reload the page."), 400
    return None


@server.after_request
def security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # Only the dashboard itself may frame its pages (clickjacking).
    response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'self'")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    return response


_last_check: list = [None, None]  # [the bundle files' (name, size, mtime) key, its problem or None]


def bundle_problem(models_dir: Path) -> str | None:
    """Why the bundle fails verification (None when it verifies); hashes again only when a file changed."""
    try:
        key = (str(models_dir),) + tuple(sorted(
            (entry.name, entry.stat().st_size, entry.stat().st_mtime_ns) for entry in models_dir.iterdir()
        ))
    except OSError:
        key = (str(models_dir),)
    if _last_check[0] != key:
        try:
            verify_bundle(models_dir)
            problem = None
        except BundleError as error:
            problem = str(error)
            log.error("the model bundle fails verification: %s", problem)
        _last_check[:] = [key, problem]
    return _last_check[1]


@server.get("/healthz")
def healthz():
    """For hosts and load balancers: 200 while the bundle verifies, 503 when it does not (the log says why)."""
    if bundle_problem(settings().models_dir):
        return jsonify(status="error", bundle_ok=False), 503
    return jsonify(status="ok", bundle_ok=True)


def navbar() -> dbc.Navbar:
    links = [
        dbc.NavItem(dbc.NavLink(page["name"], href=page["relative_path"], active="exact"))
        for page in dash.page_registry.values()
        if not page["module"].endswith("not_found_404")
    ]
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(
                    [html.Img(src=app.get_asset_url("favicon.svg"), height="28px", className="me-2"),
                     "Heartbeat classifier"],
                    href=app.get_relative_path("/"),
                ),
                # On a phone the links fold behind a toggler instead of stacking four rows high.
                dbc.NavbarToggler(id="navbar-toggler"),  # labelled "Toggle navigation" by dbc
                dbc.Collapse(dbc.Nav(links, navbar=True, className="ms-auto"), id="navbar-collapse", navbar=True),
            ]
        ),
        color="primary",
        dark=True,
        className="mb-3",
    )


clientside_callback(
    "function (clicks, open) { return clicks ? !open : open; }",
    Output("navbar-collapse", "is_open"),
    Input("navbar-toggler", "n_clicks"),
    State("navbar-collapse", "is_open"),
)


@server.after_request
def not_found_status(response):
    """An address that is no page gets the 404 page with status 404, not 200 (Dash serves its shell for any path)."""
    if request.method == "GET" and response.status_code == 200 and response.mimetype == "text/html":
        pages = {app.get_relative_path(page["path"]).rstrip("/") for page in dash.page_registry.values()
                 if not page["module"].endswith("not_found_404")}
        if request.path.rstrip("/") not in pages:
            response.status_code = 404
    return response


app.layout = html.Div(
    [
        navbar(),
        dbc.Container(dash.page_container, className="pb-4", id="page-body"),
        html.Footer(
            dbc.Container(
                "Research and teaching tool, not a medical device: do not use it to diagnose or treat anyone.",
                className="small text-muted py-3",
            ),
            className="border-top",
        ),
    ]
)


def finish_dash_setup() -> None:
    """Make the process's first request before it serves anyone (gunicorn's post_worker_init calls it).

    Dash completes its setup (the registry of servable JS files among it) on the first request, and two
    concurrent first requests race: the loser is served before the registry is filled and gets a 500 for
    react.js. A gunicorn worker's first requests are often the page's parallel script requests. Not done at
    import: `app.run(debug=True)` still adds error handlers, which Flask refuses once a request was served.
    """
    with server.test_client() as client:
        client.get("/healthz")
