"""Every page in a real headless Chromium: loads with a clean console, shows its figures, and the switches work."""
import json

import pytest
from dash.testing.wait import until

from pagehelpers import click, figure_texts, open_path, wait_for_traces

pytestmark = pytest.mark.browser

PAGES = [
    # path, an element that proves the page rendered, graphs that must draw
    ("/", "#data-class-table", ["data-distribution", "data-templates"]),
    ("/models", "#models-card-cascade", ["models-confusion", "models-bars", "models-compare"]),
    ("/predict", "#upload-zone", []),
    ("/about", "#about-page", []),
    ("/no-such-page", "#not-found", []),
]


@pytest.mark.parametrize("path, marker, graphs", PAGES, ids=[p[0] for p in PAGES])
def test_page001_loads_clean(dash_duo, dash_app, path, marker, graphs):
    dash_duo.start_server(dash_app)
    open_path(dash_duo, path)
    dash_duo.wait_for_element(marker, timeout=20)
    for graph in graphs:
        wait_for_traces(dash_duo, graph)
    assert dash_duo.find_elements(".navbar .nav-link"), "navigation is missing"
    assert dash_duo.get_logs() == []


def test_page002_navbar_from_registry(dash_duo, dash_app):
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_element(".navbar .nav-link")
    names = [link.text for link in dash_duo.find_elements(".navbar .nav-link")]
    assert names == ["Data", "Models", "Predict", "Recording", "About"]
    click(dash_duo, dash_duo.find_elements(".navbar .nav-link")[1])
    dash_duo.wait_for_element("#models-card-cascade", timeout=20)
    assert dash_duo.get_logs() == []


def test_page003_protocol_switch_changes_models_figures(dash_duo, dash_app, report):
    inter = report["protocols"].get("inter", {})
    if not inter.get("available"):
        pytest.skip(f"the bundle has no inter-patient evaluation: {inter.get('reason')}")
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/models")
    wait_for_traces(dash_duo, "models-confusion")
    intra_cells = figure_texts(dash_duo, "models-confusion")
    intra_compare = figure_texts(dash_duo, "models-compare")
    cascade = inter["models"]["cascade"]

    click(dash_duo, "#models-protocol-inter")

    dash_duo.wait_for_contains_text("#models-card-cascade", f"{cascade['accuracy']:.1%}", timeout=20)
    inter_cells = [f"{int(v):,}" for row in cascade["confusion_matrix"] for v in row]
    until(lambda: json.loads(figure_texts(dash_duo, "models-confusion") or "[]") != json.loads(intra_cells),
          timeout=20, msg="the confusion matrix did not change with the protocol")
    shown = [cell for row in json.loads(figure_texts(dash_duo, "models-confusion")) for cell in row]
    assert shown == inter_cells
    until(lambda: figure_texts(dash_duo, "models-compare") != intra_compare, timeout=20,
          msg="the comparison did not change with the protocol")
    assert dash_duo.get_logs() == []


def test_page004_row_normalised_toggle(dash_duo, dash_app, report):
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/models")
    wait_for_traces(dash_duo, "models-confusion")
    click(dash_duo, "label[for='models-normalise']")
    until(lambda: "%" in (figure_texts(dash_duo, "models-confusion") or ""), timeout=20,
          msg="row-normalised cells should be percentages")
    assert dash_duo.get_logs() == []


def test_page005_data_log_scale(dash_duo, dash_app):
    dash_duo.start_server(dash_app)
    wait_for_traces(dash_duo, "data-distribution", at_least=2)
    click(dash_duo, "label[for='data-log']")
    until(lambda: dash_duo.driver.execute_script(
        "return document.querySelector('#data-distribution .js-plotly-plot').layout.yaxis.type") == "log",
        timeout=20)
    assert dash_duo.get_logs() == []
