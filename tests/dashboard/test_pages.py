"""Every page in a real headless Chromium: loads with a clean console, shows its figures, and the switches work."""
import json
import urllib.error
import urllib.request
from unittest.mock import ANY

import pytest
from dash.testing.wait import until
from selenium.webdriver.support.ui import Select

from pagehelpers import click, figure_texts, open_path, wait_for_traces
from pipeline.report import share
from pipeline.vocabulary import CLASSES

pytestmark = pytest.mark.browser

PAGES = [
    # path, an element that proves the page rendered, graphs that must draw
    ("/", "#data-class-table", ["data-distribution", *[f"data-template-{c}" for c in CLASSES]]),
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
    assert dash_duo.get_logs() == ([] if path != "/no-such-page" else [not_found_log(dash_duo, path)])


def not_found_log(browser, path: str) -> dict:
    """Chrome reports a page answered with 404 (as it must be) in the console; nothing else may be there."""
    return {"level": "SEVERE", "message": f"{browser.server_url}{path} - Failed to load resource: the server "
            "responded with a status of 404 (NOT FOUND)", "source": "network", "timestamp": ANY}


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


def test_page012_models_score_table_follows_model_and_protocol(dash_duo, dash_app, report):
    """Under "One model in detail": what the chosen model's scores meant on the protocol's test beats, from the report;
    the binary stage has no such table."""
    def row_of(cls: str) -> list[str]:
        index = CLASSES.index(cls) + 1
        return [td.text for td in dash_duo.find_elements(f"#models-score-table tbody tr:nth-child({index}) td")]

    def expected(protocol: str, model: str, cls: str) -> list[str]:
        cells = report["protocols"][protocol]["models"][model]["score_reliability"]["classes"][cls]
        return [cls] + ["–" if c["right"] is None else f"{share(c['right'])}\n{c['beats']:,} beats" for c in cells]

    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/models?protocol=intra&model=cascade")
    dash_duo.wait_for_element("#models-score-table", timeout=20)
    until(lambda: row_of("N") == expected("intra", "cascade", "N"), timeout=10,
          msg=f"N's row {row_of('N')} is not the report's {expected('intra', 'cascade', 'N')}")
    Select(dash_duo.find_element("#models-model")).select_by_value("logreg")
    until(lambda: row_of("V") == expected("intra", "logreg", "V"), timeout=10,
          msg="the table did not follow the model")
    Select(dash_duo.find_element("#models-model")).select_by_value("binary")
    until(lambda: not dash_duo.find_elements("#models-score-table"), timeout=10,
          msg="the binary stage has no score table to show")
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


GRAPH_CONFIGS = """
return Array.from(document.querySelectorAll('.js-plotly-plot')).map(plot => ({
    id: plot.closest('[id]').id,
    share: plot.querySelectorAll('.modebar-btn[data-title^="Share"]').length + (plot._context.showSendToCloud ? 1 : 0),
    filename: (plot._context.toImageButtonOptions || {}).filename || null,
    select: plot.querySelectorAll('.modebar-btn[data-attr="dragmode"][data-val="select"], '
                                 + '.modebar-btn[data-attr="dragmode"][data-val="lasso"]').length,
}));
"""


@pytest.mark.parametrize("path, graphs", [("/", 6), ("/models", 3)], ids=["data", "models"])
def test_page006_toolbars_share_nothing_and_name_downloads(dash_duo, dash_app, path, graphs):
    """No "Share chart" (Plotly Cloud) anywhere, downloads named after the figure, no box/lasso select."""
    dash_duo.start_server(dash_app)
    open_path(dash_duo, path)
    until(lambda: len(dash_duo.driver.execute_script(GRAPH_CONFIGS)) >= graphs, timeout=20)
    configs = dash_duo.driver.execute_script(GRAPH_CONFIGS)
    for config in configs:
        assert config["share"] == 0, config
        assert config["select"] == 0, config
        assert config["filename"] and config["filename"] != "newplot", config
    assert len({c["filename"] for c in configs}) == len(configs), "two figures download under one name"
    assert dash_duo.get_logs() == []


def test_page007_choices_live_in_the_url(dash_duo, dash_app, report):
    """A link with the choices reproduces the view; changing a choice updates the address."""
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/models?protocol=inter&model=binary&normalise=1&metric=f1")
    dash_duo.wait_for_element("#models-card-cascade", timeout=20)
    assert dash_duo.find_element("#models-protocol-inter").is_selected()
    assert dash_duo.find_element("#models-model").get_attribute("value") == "binary"
    assert dash_duo.find_element("#models-normalise").is_selected()
    until(lambda: "%" in (figure_texts(dash_duo, "models-confusion") or ""), timeout=20,
          msg="the link asked for a row-normalised matrix")
    click(dash_duo, "label[for='models-metric-precision']")
    until(lambda: "metric=precision" in dash_duo.driver.current_url, timeout=10,
          msg=f"the address did not follow the choice: {dash_duo.driver.current_url}")
    assert "protocol=inter" in dash_duo.driver.current_url
    open_path(dash_duo, "/?protocol=inter&log=1")
    until(lambda: dash_duo.driver.execute_script(
        "const p = document.querySelector('#data-distribution .js-plotly-plot');"
        "return p && p.layout && p.layout.yaxis.type") == "log", timeout=20)
    assert dash_duo.find_element("#data-protocol-inter").is_selected()
    assert dash_duo.get_logs() == []


def test_page008_unknown_address_is_404(dash_duo, dash_app):
    dash_duo.start_server(dash_app)
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(dash_duo.server_url + "/no-such-page")
    assert answer.value.code == 404
    assert b"_dash-config" in answer.value.read(), "the 404 answer must still be the app, showing its 404 page"
    with urllib.request.urlopen(dash_duo.server_url + "/models") as page:
        assert page.status == 200
    open_path(dash_duo, "/no-such-page")
    dash_duo.wait_for_element("#not-found", timeout=20)
    # Chrome reports the 404 of the page itself; nothing else may go wrong.
    assert dash_duo.get_logs() == [not_found_log(dash_duo, "/no-such-page")]


def test_page009_trained_on_the_training_splits(dash_duo, dash_app, report):
    """The Data page says how many beats the served models saw (each protocol's training split)."""
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_element("#data-class-table", timeout=20)
    text = dash_duo.find_element("#page-body").text
    for key, protocol in report["protocols"].items():
        if protocol.get("available"):
            trained = sum(protocol["splits"]["train"].values())
            title = protocol["title"].replace("->", "→")
            assert f"{trained:,} beats ({title}, its training split)" in text, (key, trained)
    assert f"trained on {report['dataset']['rows']:,}" not in text
    assert dash_duo.get_logs() == []


def test_page010_models_cards_tell_stages_from_end_to_end(dash_duo, dash_app, report):
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/models?protocol=inter")
    dash_duo.wait_for_element("#models-card-cascade", timeout=20)
    for stage in ("binary", "multiclass"):
        assert "one stage, not end to end" in dash_duo.find_element(f"#models-card-{stage}").text
        assert "not end to end" not in dash_duo.find_element("#models-card-cascade").text
    splits = report["protocols"]["inter"]["splits"]
    rare = [c for c in CLASSES if 0 < min(splits["train"][c], splits["test"][c]) < 100]  # Q (8 and 7) in MIT-BIH
    note = dash_duo.find_element("#models-few-beats").text
    for cls in rare:
        assert f"{cls} has {splits['train'][cls]:,} training beat" in note
        assert f"{splits['test'][cls]:,} test beat" in note
    cascade = report["protocols"]["inter"]["models"]["cascade"]["per_class"]
    kept = [m["f1"] for c, m in cascade.items() if c not in rare]
    assert f"without {', '.join(rare)} {sum(kept) / len(kept):.3f}" in dash_duo.find_element("#models-card-cascade").text
    assert dash_duo.get_logs() == []


def test_page011_navbar_folds_on_a_phone(dash_duo, dash_app):
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(390, 844)
    try:
        dash_duo.wait_for_element("#data-class-table", timeout=20)
        links = dash_duo.find_elements(".navbar .nav-link")
        assert not any(link.is_displayed() for link in links), "the links should fold behind the toggler"
        assert dash_duo.find_element(".navbar").size["height"] < 80
        click(dash_duo, "#navbar-toggler")
        until(lambda: all(link.is_displayed() for link in dash_duo.find_elements(".navbar .nav-link")), timeout=10)
        click(dash_duo, dash_duo.find_elements(".navbar .nav-link")[1])
        dash_duo.wait_for_element("#models-card-cascade", timeout=20)
    finally:
        dash_duo.driver.set_window_size(1366, 900)
    assert dash_duo.get_logs() == []
