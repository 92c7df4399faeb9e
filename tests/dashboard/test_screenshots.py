"""Not a check: writes the README's screenshots when SCREENSHOTS_DIR is set (`make`-free: see README)."""
import os
from pathlib import Path

import pytest

from pagehelpers import N_SAMPLE, click, open_path, wait_for_results, wait_for_traces
from pipeline.vocabulary import CLASSES

OUT = os.environ.get("SCREENSHOTS_DIR")
pytestmark = [pytest.mark.browser, pytest.mark.skipif(not OUT, reason="set SCREENSHOTS_DIR to write screenshots")]


def shoot(browser, name: str, width: int = 1366) -> None:
    """A full-page screenshot: the viewport is stretched to the content's height through the DevTools protocol."""
    driver = browser.driver
    height = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]["height"]
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": int(height), "deviceScaleFactor": 1, "mobile": False})
    try:
        # the page reflows at the new size: measure again so nothing is cut off
        height = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]["height"]
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": int(height), "deviceScaleFactor": 1, "mobile": False})
        Path(OUT).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(OUT) / f"{name}.png"))
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@pytest.mark.parametrize("width, suffix", [(1366, ""), (390, "-390")], ids=["desktop", "phone"])
def test_shot001_every_page(dash_duo, dash_app, width, suffix):
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(width, 900)
    data_graphs = ["data-distribution", *[f"data-template-{c}" for c in CLASSES]]
    for path, name, graphs in [("/", "data", data_graphs),
                               ("/models?protocol=inter", "models", ["models-confusion", "models-bars", "models-compare"]),
                               ("/predict", "predict-empty", []), ("/about", "about", [])]:
        open_path(dash_duo, path)
        dash_duo.wait_for_element("#page-body h2", timeout=20)
        for graph in graphs:
            wait_for_traces(dash_duo, graph)
        shoot(dash_duo, name + suffix, width)
    open_path(dash_duo, "/predict")
    click(dash_duo, "#predict-sample")
    wait_for_results(dash_duo, N_SAMPLE)
    wait_for_traces(dash_duo, "predict-confusion-cascade")
    for row in (5, 8):  # a normal beat and a ventricular one of the sample (its labels)
        click(dash_duo, f"#predict-table input[aria-label='Tick row {row}']")
    click(dash_duo, "#predict-table button.next-page")
    click(dash_duo, "#predict-table input[aria-label='Tick row 20']")  # a fusion beat, explained
    dash_duo.wait_for_contains_text("#predict-explain-title", "Row 20", timeout=30)
    wait_for_traces(dash_duo, "predict-explain-abnormal", at_least=3)
    shoot(dash_duo, "predict-sample" + suffix, width)
    assert dash_duo.get_logs() == []
