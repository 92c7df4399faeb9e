"""A page's choices in its URL query, so that a copied link reproduces the view."""
from __future__ import annotations

import json

from dash import Input, clientside_callback


def keep_in_url(**controls: tuple[str, str]) -> None:
    """Write each control's value to the query parameter named by its keyword: name=(component id, property).

    history.replaceState changes the address bar without a navigation, so Dash's page router
    does not render the page again; the page's layout(**query) reads the parameters on load.
    """
    names = list(controls)
    clientside_callback(
        """function () {
            const names = %s;
            const values = Array.from(arguments);
            const query = new URLSearchParams(window.location.search);
            names.forEach(function (name, i) {
                const value = values[i];
                if (value === null || value === undefined || value === false || value === "") query.delete(name);
                else query.set(name, value === true ? "1" : String(value));
            });
            const search = query.toString();
            window.history.replaceState(window.history.state, "", window.location.pathname + (search ? "?" + search : ""));
        }""" % json.dumps(names),
        *[Input(component, prop) for component, prop in controls.values()],
    )
