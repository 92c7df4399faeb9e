"""The Predict page in a real headless Chromium: the sample, real file uploads, broken files, and gunicorn with 2 workers."""
from pathlib import Path

import pandas as pd
import pytest
from dash.testing.browser import Browser
from dash.testing.wait import until

from pagehelpers import (
    N_SAMPLE,
    SAMPLE,
    click,
    expected_accuracy,
    open_path,
    upload_file,
    wait_for_results,
    wait_for_traces,
)
from pipeline.predict import predict_table
from pipeline.report import row_score_meaning, share
from pipeline.validate import InputError, read_beats_csv


pytestmark = pytest.mark.browser



def check_sample_results(browser, bundle, *, model="cascade"):
    wait_for_results(browser, N_SAMPLE)
    browser.wait_for_contains_text("#predict-summary-text", "with labels")
    browser.wait_for_text_to_equal(
        f"#predict-accuracy-{model} .stat-value", expected_accuracy(bundle, SAMPLE, model), timeout=20
    )
    wait_for_traces(browser, f"predict-confusion-{model}")
    wait_for_traces(browser, "predict-counts")
    # the overlay: one panel per beat, each a template band + mean + the beat
    until(lambda: overlay_rows(browser), timeout=20, msg="the overlay drew no panel")
    rows = browser.find_elements("#predict-table tbody tr")
    assert len(rows) > 1, "the table shows no beats"


def test_pred001_sample_button_and_download(dash_duo, dash_app, bundle):
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/predict")
    click(dash_duo, "#predict-sample")
    check_sample_results(dash_duo, bundle)
    click(dash_duo, "#predict-download-button")
    download = Path(dash_duo.download_path) / f"{SAMPLE.stem}-predictions.csv"
    until(lambda: download.exists() and download.stat().st_size > 0, timeout=20, msg="no CSV was downloaded")
    expected = predict_table(bundle, read_beats_csv(SAMPLE), model="cascade")
    got = pd.read_csv(download)
    assert list(got.columns) == list(expected.columns)
    assert got["predicted_class"].tolist() == expected["predicted_class"].tolist()
    assert dash_duo.get_logs() == []


def test_pred002_upload_file_both_models(dash_duo, dash_app, bundle):
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/predict")
    click(dash_duo, "#predict-model-both")
    upload_file(dash_duo, SAMPLE)
    check_sample_results(dash_duo, bundle, model="cascade")
    dash_duo.wait_for_text_to_equal(
        "#predict-accuracy-logreg .stat-value", expected_accuracy(bundle, SAMPLE, "logreg"), timeout=20
    )
    headers = [th.text for th in dash_duo.find_elements("#predict-table th.dash-header")]
    assert any("LR" in h for h in headers) and any("cascade" in h for h in headers), headers
    assert dash_duo.get_logs() == []


def overlay_rows(browser) -> list[int]:
    """The rows the overlay draws: one panel (its own figure) per beat."""
    return browser.driver.execute_script(
        "return Array.from(document.querySelectorAll('#predict-overlay .js-plotly-plot'))"
        ".filter(p => p.data && p.data.length === 3).map(p => Number(p.data[2].name.split(' ')[1]));")


def tick(browser, row: int) -> None:
    click(browser, f"#predict-table input[aria-label='Tick row {row}']")


def test_pred003_ticked_rows_drive_the_overlay(dash_duo, dash_app, bundle):
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/predict")
    click(dash_duo, "#predict-sample")
    wait_for_results(dash_duo, N_SAMPLE)
    until(lambda: overlay_rows(dash_duo), timeout=20)
    dash_duo.wait_for_contains_text("#predict-overlay-note", "first beat of each predicted class")
    for row in (3, 6, 8):
        tick(dash_duo, row)
    until(lambda: overlay_rows(dash_duo) == [3, 6, 8], timeout=20,
          msg="the overlay does not show exactly the ticked rows")
    dash_duo.wait_for_contains_text("#predict-overlay-note", "Rows 3, 6, 8")
    assert dash_duo.get_logs() == []


def test_pred009_ticks_survive_paging(dash_duo, dash_app, bundle):
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/predict")
    click(dash_duo, "#predict-sample")
    wait_for_results(dash_duo, N_SAMPLE)
    tick(dash_duo, 3)
    click(dash_duo, "#predict-table button.next-page")
    tick(dash_duo, 20)
    until(lambda: overlay_rows(dash_duo) == [3, 20], timeout=20, msg="the tick on page 1 was forgotten on page 2")
    click(dash_duo, "#predict-table button.first-page")
    until(lambda: dash_duo.find_element("#predict-table input[aria-label='Tick row 3']").is_selected(), timeout=20,
          msg="row 3 is unticked on return to page 1")
    assert not dash_duo.find_element("#predict-table input[aria-label='Tick row 4']").is_selected()
    assert overlay_rows(dash_duo) == [3, 20]
    assert dash_duo.get_logs() == []


def test_pred010_results_survive_navigation_and_links_keep_choices(dash_duo, dash_app, bundle):
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/predict?model=logreg")
    assert dash_duo.wait_for_element("#predict-model-logreg").is_selected()
    open_path(dash_duo, "/predict")
    click(dash_duo, "label[for='predict-model-logreg']")
    until(lambda: "model=logreg" in dash_duo.driver.current_url, timeout=10, msg=dash_duo.driver.current_url)
    click(dash_duo, "#predict-sample")
    check_sample_results(dash_duo, bundle, model="logreg")
    tick(dash_duo, 5)
    click(dash_duo, ".navbar .nav-link[href='/models']")
    dash_duo.wait_for_element("#models-card-cascade", timeout=20)
    click(dash_duo, ".navbar .nav-link[href='/predict']")
    check_sample_results(dash_duo, bundle, model="logreg")
    until(lambda: overlay_rows(dash_duo) == [5], timeout=20, msg="the tick was lost on the way back")
    click(dash_duo, "#predict-model-both")
    until(lambda: "model=both" in dash_duo.driver.current_url, timeout=10, msg=dash_duo.driver.current_url)
    assert dash_duo.get_logs() == []


def test_pred011_both_models_filter_download_and_overlay(dash_duo, dash_app, bundle):
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/predict?model=both&filter=class-logreg-N")
    click(dash_duo, "#predict-sample")
    wait_for_results(dash_duo, N_SAMPLE)
    logreg = predict_table(bundle, read_beats_csv(SAMPLE), model="logreg")
    n_normal = int((logreg["predicted_class"] == "N").sum())
    dash_duo.wait_for_text_to_equal("#predict-download-button", f"Download the {n_normal} beats the filter shows (CSV)",
                                    timeout=20)
    options = dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('#predict-filter')).map(e => e.textContent);")
    assert "by Logistic Regression" in options[0]
    dash_duo.wait_for_contains_text("#predict-overlay-note", "template of the class the XGBoost cascade gave")
    click(dash_duo, "#predict-download-button")
    download = Path(dash_duo.download_path) / f"{SAMPLE.stem}-predictions-class-logreg-N.csv"
    until(lambda: download.exists() and download.stat().st_size > 0, timeout=20, msg="no CSV was downloaded")
    got = pd.read_csv(download)
    assert got["row"].tolist() == logreg.loc[logreg["predicted_class"] == "N", "row"].tolist()
    assert {"cascade_predicted_class", "logreg_predicted_class"} <= set(got.columns)
    assert dash_duo.get_logs() == []


def test_pred012_why_this_class(dash_duo, dash_app, bundle):
    """The explanation of a ticked beat: the cascade's two decisions and its strongest reasons, from pipeline/explain."""
    from dashboard.data import get_report
    from pipeline.explain import explain_beats

    beats = read_beats_csv(SAMPLE)
    explained = explain_beats(bundle.models["cascade"], beats.X, get_report()["templates"])
    row = next(i + 1 for i, e in enumerate(explained) if e.abnormal)  # an abnormal beat: both steps shown
    e = explained[row - 1]
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/predict")
    click(dash_duo, "#predict-sample")
    wait_for_results(dash_duo, N_SAMPLE)
    tick(dash_duo, row)
    dash_duo.wait_for_contains_text("#predict-explain-title", f"Row {row}: {e.predicted_class}", timeout=30)
    dash_duo.wait_for_contains_text("#predict-explain-step1", f"P(abnormal) = {e.p_abnormal:.2f}")
    dash_duo.wait_for_contains_text("#predict-explain-step1", f"threshold {e.threshold:g}")
    score = float(predict_table(bundle, beats, model="cascade")[f"p_{e.predicted_class}"].iloc[row - 1])
    meaning = row_score_meaning(bundle.report.protocols["intra"].models["cascade"], e.predicted_class, score)
    dash_duo.wait_for_text_to_equal("#predict-explain-meaning", f"Score {share(score)}. {meaning}")
    first = dash_duo.find_elements("#predict-explain-abnormal-reasons li")[0].text
    assert first.startswith(e.abnormal_reasons[0].text)
    top_class = dash_duo.find_elements("#predict-explain-class-reasons li")[0].text
    assert top_class.startswith(e.class_reasons[0].text)
    wait_for_traces(dash_duo, "predict-explain-abnormal", at_least=3)
    assert dash_duo.get_logs() == []


def test_pred013_pandas_index_csv_says_index_false(dash_duo, dash_app, bundle, tmp_path):
    path = tmp_path / "with-index.csv"
    pd.read_csv(SAMPLE, header=None).to_csv(path)  # pandas' default: index column and a ,0,1,2 header
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/predict")
    upload_file(dash_duo, path)
    dash_duo.wait_for_contains_text("#predict-message", "index=False", timeout=20)
    assert dash_duo.get_logs() == []


BROKEN = {
    "empty.csv": b"",
    "junk.csv": bytes(range(256)) * 64,
    "columns.csv": b"0.1,0.2,0.3\n0.4,0.5,0.6\n",
    "nan.csv": (",".join(["0.5"] * 186 + ["nan"]) + "\n").encode(),
}


def test_pred004_broken_files_show_the_validator_sentence(dash_duo, dash_app, bundle, tmp_path):
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/predict")
    for name, content in BROKEN.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(InputError) as expected:
            read_beats_csv(content)
        upload_file(dash_duo, path)
        dash_duo.wait_for_contains_text("#predict-message", f"{name}: {expected.value}", timeout=20)
        assert dash_duo.find_element("#predict-results").get_attribute("hidden") is not None
    # the page still works for the next, good file
    upload_file(dash_duo, SAMPLE)
    check_sample_results(dash_duo, bundle)
    assert dash_duo.get_logs() == []


DROP_FILE = """
const text = "0.5,".repeat(186) + "0.5\\n";
const file = new File([text.repeat(arguments[1])], arguments[0], {type: "text/csv"});
const data = new DataTransfer();
data.items.add(file);
const zone = document.getElementById("upload-zone");
zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: data, bubbles: true, cancelable: true}));
zone.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
"""


def test_pred005_over_the_size_limit_and_drag_and_drop(dash_duo, dash_app, monkeypatch):
    monkeypatch.setenv("UPLOAD_MAX_MB", "0.05")  # 52 kB: the sample file is well over it
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/predict")
    upload_file(dash_duo, SAMPLE)
    dash_duo.wait_for_contains_text("#predict-message", "UPLOAD_MAX_MB", timeout=20)
    # a file dropped on the zone goes the same way: 100 rows of 748 bytes is over the limit ...
    dash_duo.driver.execute_script(DROP_FILE, "dropped-big.csv", 100)
    dash_duo.wait_for_contains_text("#predict-message", "dropped-big.csv is 0.1 MB", timeout=20)
    # ... and 20 rows is under it, and is classified
    dash_duo.driver.execute_script(DROP_FILE, "dropped.csv", 20)
    dash_duo.wait_for_contains_text("#predict-summary-text", "dropped.csv", timeout=20)
    dash_duo.wait_for_contains_text("#predict-summary-text", "20 beats without labels")
    assert dash_duo.get_logs() == []


def test_pred007_full_upload_store_says_try_later(dash_duo, dash_app, monkeypatch, tmp_path):
    """When the store's disk allowance cannot take the file, the page says so, and the next upload works."""
    monkeypatch.setenv("UPLOAD_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("UPLOAD_STORE_MAX_MB", "0.01")  # 10 kB: the 235 kB sample cannot fit
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/predict")
    upload_file(dash_duo, SAMPLE)
    dash_duo.wait_for_contains_text("#predict-message", "try again in a few minutes", timeout=20)
    assert dash_duo.find_element("#predict-results").get_attribute("hidden") is not None
    monkeypatch.setenv("UPLOAD_STORE_MAX_MB", "100")
    upload_file(dash_duo, SAMPLE)
    dash_duo.wait_for_contains_text("#predict-summary-text", SAMPLE.name, timeout=20)
    # The browser logs the refused request itself; nothing else went wrong.
    assert [entry["message"] for entry in dash_duo.get_logs()] == [
        f"{dash_duo.server_url}/upload - Failed to load resource: the server responded with a status of 507 "
        "(INSUFFICIENT STORAGE)"]


def test_pred006_gunicorn_two_workers(dash_br: Browser, bundle, gunicorn_url):
    dash_br.server_url = gunicorn_url
    open_path(dash_br, "/predict")
    # two uploads; with 2 workers the upload, the classification and the table pages land on either
    for _ in range(2):
        upload_file(dash_br, SAMPLE)
        check_sample_results(dash_br, bundle)
    click(dash_br, "#predict-sample")
    check_sample_results(dash_br, bundle)
    open_path(dash_br, "/models")
    wait_for_traces(dash_br, "models-confusion")
    assert dash_br.get_logs() == []


def test_pred008_kaggle_sized_upload_through_gunicorn(dash_br: Browser, bundle, gunicorn_url, tmp_path):
    """A file the size of Kaggle's test set (21,892 labelled beats, ~100 MB as written at full precision)."""
    import numpy as np

    beats = np.loadtxt(SAMPLE, delimiter=",")
    big = tmp_path / "kaggle-sized.csv"
    np.savetxt(big, beats[np.random.default_rng(0).integers(0, len(beats), 21_892)], delimiter=",", fmt="%.18e")
    assert big.stat().st_size > 95 * 2**20
    dash_br.server_url = gunicorn_url
    open_path(dash_br, "/predict")
    upload_file(dash_br, big)
    wait_for_results(dash_br, 21_892, timeout=120)
    dash_br.wait_for_text_to_equal("#predict-accuracy-cascade .stat-value", expected_accuracy(bundle, big), timeout=30)
    wait_for_traces(dash_br, "predict-confusion-cascade")
    assert dash_br.get_logs() == []
