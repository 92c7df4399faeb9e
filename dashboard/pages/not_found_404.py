"""The page for unknown addresses."""
import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

dash.register_page(__name__, path="/404", name="Not found", title="Not found · Heartbeat classifier")

layout = dbc.Alert(
    [
        html.H4("No page here", className="alert-heading"),
        html.P("This address is not part of the dashboard."),
        dcc.Link("Go to the Data page", href="/", id="not-found-home"),
    ],
    color="warning",
    id="not-found",
    className="mt-3",
)
