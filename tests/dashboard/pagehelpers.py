"""Small helpers for driving the dashboard in dash[testing]'s browser."""
from __future__ import annotations

from dash.testing.wait import until

from pipeline.evaluate import multiclass_metrics
from pipeline.predict import predict_table
from pipeline.validate import read_beats_csv


def open_path(browser, path: str) -> None:
    browser.wait_for_page(url=browser.server_url.rstrip("/") + path)


def trace_count(browser, graph_id: str) -> int:
    return browser.driver.execute_script(
        "const plot = document.querySelector(arguments[0] + ' .js-plotly-plot');"
        "return plot && plot.data ? plot.data.length : 0;",
        f"#{graph_id}",
    )


def figure_texts(browser, graph_id: str):
    """The text of the first trace of a graph (e.g. a heatmap's cell labels), as Plotly holds it."""
    return browser.driver.execute_script(
        "const plot = document.querySelector(arguments[0] + ' .js-plotly-plot');"
        "return plot && plot.data && plot.data.length ? JSON.stringify(plot.data[0].text || plot.data[0].y) : null;",
        f"#{graph_id}",
    )


def wait_for_traces(browser, graph_id: str, at_least: int = 1, timeout: float = 20) -> int:
    until(lambda: trace_count(browser, graph_id) >= at_least, timeout=timeout,
          msg=f"#{graph_id} never drew {at_least} trace(s)")
    return trace_count(browser, graph_id)


def upload_file(browser, path) -> None:
    """Choose a file in the Predict page's file input, as a user would; upload.js streams it to /upload."""
    browser.wait_for_element("#upload-input").send_keys(str(path))


def expected_accuracy(bundle, csv_path, model: str = "cascade") -> str:
    """The accuracy text the Predict page must show, computed straight from the pipeline."""
    table = predict_table(bundle, read_beats_csv(csv_path), model=model)
    metrics = multiclass_metrics(table["true_label"].to_numpy(), table["predicted_label"].to_numpy())
    return f"{metrics['accuracy']:.1%} accurate"


def wait_for_results(browser, n_beats: int, timeout: float = 30) -> None:
    browser.wait_for_contains_text("#predict-summary-text", f"{n_beats:,} beats", timeout=timeout)
