"""The dashboard shell: pages, navigation from the page registry, the upload route and /healthz; `server` is the WSGI app."""
from __future__ import annotations

from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, clientside_callback, html
from flask import jsonify, request

from dashboard import uploads
from dashboard.settings import ASSETS_DIR, settings

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


@server.get("/healthz")
def healthz():
    """For hosts and load balancers: cheap, and says whether a bundle is in place."""
    bundle_present = (settings().models_dir / "manifest.json").is_file()
    return jsonify(status="ok", bundle_present=bundle_present)


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


def _finish_dash_setup() -> None:
    # Dash completes its setup (the registry of servable JS files among it) on the first request, and two
    # concurrent first requests race: the loser is served before the registry is filled and gets a 500 for
    # react.js. A gunicorn worker's first requests are often the page's parallel script requests, so make
    # that first request here, in each process, before it serves anyone.
    with server.test_client() as client:
        client.get("/healthz")


_finish_dash_setup()
