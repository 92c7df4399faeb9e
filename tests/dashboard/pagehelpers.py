"""Small helpers for driving the dashboard in dash[testing]'s browser."""
from __future__ import annotations

import json
import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from dash.testing.wait import until

from pipeline.evaluate import multiclass_metrics
from pipeline.predict import predict_table
from pipeline.validate import read_beats_csv

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "assets" / "random_test_sample.csv"
N_SAMPLE = sum(1 for line in SAMPLE.read_text().splitlines() if line.strip()) if SAMPLE.exists() else 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)  # polling a starting server, not waiting on the page under test
    raise RuntimeError(f"{url} did not answer within {timeout} s")


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
    """Choose a file in the Predict page's file input, as a user would; upload.js streams it to /upload.

    The input lives outside the page's layout, so it exists before the Predict page is drawn; a user
    can only reach it through the drop zone, so wait for that: the zone is drawn with the store that
    takes upload.js's answer, and a small file sent earlier is finished before the page can take it.
    """
    browser.wait_for_element("#upload-zone")
    browser.wait_for_element("#upload-input").send_keys(str(path))


def expected_accuracy(bundle, csv_path, model: str = "cascade") -> str:
    """The accuracy text the Predict page must show, computed straight from the pipeline."""
    table = predict_table(bundle, read_beats_csv(csv_path), model=model)
    metrics = multiclass_metrics(table["true_label"].to_numpy(), table["predicted_label"].to_numpy())
    return f"{metrics['accuracy']:.1%} accurate"


def wait_for_results(browser, n_beats: int, timeout: float = 30) -> None:
    browser.wait_for_contains_text("#predict-summary-text", f"{n_beats:,} beats", timeout=timeout)


def click(browser, target) -> None:
    """Scroll an element (or selector) to the middle of the window and click it as a user would.

    Retried while another element covers it: figures drawing above it move the page.
    """
    from selenium.common.exceptions import ElementClickInterceptedException

    element = browser.wait_for_element(target) if isinstance(target, str) else target

    def clicked() -> bool:
        browser.driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", element)
        try:
            element.click()
        except ElementClickInterceptedException:
            return False
        return True

    until(clicked, timeout=10, msg=f"{target} stayed covered by another element")


def post_callback(client, dependencies, values: dict, state: dict | None = None):
    """Call the callback whose inputs are `values`' keys ("id.property") as the browser would; return (status, body)."""
    dep = next(d for d in dependencies if {f"{i['id']}.{i['property']}" for i in d["inputs"]} == set(values))
    outputs = [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in dep["output"].strip(".").split("...")]
    payload = {
        "output": dep["output"],
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": [{"id": i["id"], "property": i["property"], "value": values[f"{i['id']}.{i['property']}"]}
                   for i in dep["inputs"]],
        "changedPropIds": [next(iter(values))],
        "state": [{"id": s["id"], "property": s["property"], "value": (state or {}).get(f"{s['id']}.{s['property']}")}
                  for s in dep["state"]],
    }
    response = client.post("/_dash-update-component", data=json.dumps(payload), content_type="application/json")
    return response.status_code, response.get_data(as_text=True)


def focused(browser, attribute: str = "aria-label"):
    """An attribute of the element that has the keyboard's focus."""
    return browser.driver.execute_script("return document.activeElement.getAttribute(arguments[0])", attribute)


def press(browser, key) -> None:
    """A key pressed where the focus is, as a keyboard user does."""
    browser.driver.switch_to.active_element.send_keys(key)


def tab_to(browser, value: str, attribute: str = "aria-label", most: int = 30) -> None:
    """Press Tab until the element whose `attribute` is `value` (its name, or its id) has the focus."""
    from selenium.webdriver.common.keys import Keys

    for _ in range(most):
        if focused(browser, attribute) == value:
            return
        press(browser, Keys.TAB)
    raise AssertionError(f"Tab never reached {attribute} '{value}'; the focus is on '{focused(browser, attribute)}'")


def luminance(rgb: str) -> float:
    """WCAG relative luminance of a computed CSS colour ("rgb(r, g, b)" or "rgba(...)")."""
    channels = [int(v) / 255 for v in re.findall(r"[\d.]+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(browser, selector: str) -> float:
    """The text's contrast with the background it is drawn on (its own, or the nearest ancestor's that has one)."""
    colours = browser.driver.execute_script(
        "let e = document.querySelector(arguments[0]); const color = getComputedStyle(e).color;"
        "while (e.parentElement && /^rgba\\(.*, 0\\)$|^transparent$/.test(getComputedStyle(e).backgroundColor))"
        "  e = e.parentElement;"
        "return [color, getComputedStyle(e).backgroundColor];", selector)
    light, dark = sorted(map(luminance, colours), reverse=True)
    return (light + 0.05) / (dark + 0.05)
