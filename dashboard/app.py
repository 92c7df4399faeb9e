"""The dashboard shell: pages, navigation from the page registry, the upload route and /healthz; `server` is the WSGI app."""
from __future__ import annotations

from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from dash import Dash, html
from flask import jsonify

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
                dbc.Nav(links, navbar=True, className="ms-auto"),
            ]
        ),
        color="primary",
        dark=True,
        className="mb-3",
    )


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
