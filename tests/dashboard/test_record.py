"""The Recording page in a real headless Chromium: the sample, WFDB/EDF/CSV uploads, a bad recording, beats, the reference, the download."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dash.testing.browser import Browser
from dash.testing.wait import until

from pagehelpers import REPO, click, contrast, open_path, press, tab_to, wait_for_traces

from pipeline.report import score_meaning, share
from pipeline.vocabulary import CLASS_NAMES

pytestmark = pytest.mark.browser

SAMPLE_HEA = REPO / "assets" / "sample_recording" / "200.hea"
FIXTURES = REPO / "tests" / "fixtures" / "recordings"
SHOTS = REPO / "docs" / "screenshots"


def expected(model, path, **read):
    """What classify-record finds in the file: the pipeline's result, straight from the pipeline."""
    from pipeline.records import classify_recording
    from pipeline.recording import read_recording

    return classify_recording(read_recording(path, **read), model)


def choose_files(browser, *paths) -> None:
    """Choose several files in one dialog, as a user would; upload_record.js streams each to /upload.

    The dialog opens from the page's drop zone, so a user can only choose once Dash has drawn the page.
    """
    browser.wait_for_element("#record-zone")
    browser.wait_for_element("#record-input").send_keys("\n".join(str(p) for p in paths))


def check_counts(browser, result, timeout=60) -> None:
    """The summary says, as text, how many beats were found and how many of each class, as the pipeline does."""
    # first that it is this recording's summary: two files of one signal may well have the same number of beats
    browser.wait_for_contains_text("#record-summary-text small", f" of {result.name} (lead", timeout=timeout)
    browser.wait_for_text_to_equal("#record-beats-found", f"{result.summary['beats']:,} beats found", timeout=timeout)
    for cls, n in result.summary["counts"].items():
        assert browser.find_element(f"#record-count-{cls} strong").text == f"{cls} {n:,}"
    # a rate per hour from minutes says what it was counted from
    counts, minutes = result.summary["counts"], result.summary["duration_s"] / 60
    assert browser.find_element("#record-ectopic").text.endswith(
        f"(from {counts['S']:,} S and {counts['V']:,} V in {minutes:.1f} minutes).")
    wait_for_traces(browser, "record-strip", at_least=2)  # the ECG and at least one class of beats
    wait_for_traces(browser, "record-tachogram")


def strip_range(browser) -> list[float]:
    return browser.driver.execute_script(
        "return document.querySelector('#record-strip .js-plotly-plot').layout.xaxis.range;")


def test_rec001_sample_recording_reference_and_beat(dash_duo, dash_app, rhythm, report):
    result = expected(rhythm, SAMPLE_HEA)
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/record")
    click(dash_duo, "#record-sample")
    check_counts(dash_duo, result)
    # how far to trust the counts: the report's figures on new patients, beside them
    s_new_patients = report["recordings"]["detected_beats"]["per_class"]["S"]
    dash_duo.wait_for_contains_text("#record-trust", f"{s_new_patients['sensitivity']:.0%} of S beats (of its S calls "
                                                     f"{s_new_patients['positive_predictivity']:.0%} were right)")
    # the reference comparison: detection and Se / +P per class as the pipeline scored them
    detection = result.reference["detection"]
    dash_duo.wait_for_contains_text("#record-detection",
                                    f"{detection['matched']:,} of {detection['reference_beats']:,} reference beats")
    for cls in ("N", "V"):
        cells = [td.text for td in dash_duo.find_elements(f"#record-ref-{cls} td")]
        per_class = result.reference["per_class"][cls]
        assert cells[2] == f"{per_class['sensitivity']:.1%}" and cells[4] == f"{per_class['positive_predictivity']:.1%}"
    wait_for_traces(dash_duo, "record-confusion")
    # the one-beat view opens on the first ectopic beat
    first = int(np.flatnonzero(result.table["predicted_class"].to_numpy() != "N")[0])
    dash_duo.wait_for_text_to_equal("#record-beat-number", f"Beat {first + 1:,}", timeout=20)
    wait_for_traces(dash_duo, "record-beat", at_least=3)
    # its class's score, and how often such a call was right on the test patients
    cls = result.table["predicted_class"].iloc[first]
    score = float(result.table[f"p_{cls}"].iloc[first])
    dash_duo.wait_for_contains_text("#record-beat-text", f"score {score:.1%}.")
    meaning = score_meaning(report["recordings"], cls, score)
    assert meaning and "a score is not a probability" in meaning
    dash_duo.wait_for_text_to_equal("#record-beat-meaning", meaning)
    # the missed and extra beats are listed: the first one picked, the strip centres on it
    marks = sorted(detection["missed_samples"] + detection["extra_samples"])
    assert marks, "the sample recording should have a missed or extra beat to jump to"
    click(dash_duo, "#record-jump")
    click(dash_duo, ".dash-dropdown-option")
    t = marks[0] / 360.0
    window = [max(t - 5, 0.0), min(t + 5, 300.0)]
    try:
        until(lambda: np.allclose(strip_range(dash_duo), window, atol=0.01), timeout=20)
    except Exception:
        raise AssertionError(f"the strip shows {strip_range(dash_duo)}, not the beat missed or extra at {t} s") from None
    names = dash_duo.driver.execute_script(
        "return document.querySelector('#record-strip .js-plotly-plot').data.map(t => t.name);")
    assert ("missed" if marks[0] in detection["missed_samples"] else "extra") in names, names
    assert dash_duo.get_logs() == []


def test_rec002_click_a_beat_in_the_table_centres_the_strip(dash_duo, dash_app, rhythm):
    result = expected(rhythm, SAMPLE_HEA)
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/record")
    click(dash_duo, "#record-sample")
    check_counts(dash_duo, result)
    v_beats = np.flatnonzero(result.table["predicted_class"].to_numpy() == "V")
    click(dash_duo, "#record-filter-V")
    dash_duo.wait_for_text_to_equal("#record-table tbody tr:nth-child(2) td[data-dash-column='index']",
                                    str(v_beats[0] + 1), timeout=20)
    times = result.table["time_s"].to_numpy()
    k = int(np.flatnonzero(times[v_beats] > 5)[0])  # the first V beat a 10 s strip can centre on
    assert k < 12, "the sample's first page of V beats has none after 5 s"
    # tbody holds the header row first: beat row j is child j + 2
    click(dash_duo, f"#record-table tbody tr:nth-child({k + 2}) td[data-dash-column='time_s']")
    dash_duo.wait_for_text_to_equal("#record-beat-number", f"Beat {v_beats[k] + 1:,}", timeout=20)
    dash_duo.wait_for_text_to_equal("#record-beat-class", "V (Ventricular ectopic)")
    t = float(times[v_beats[k]])
    try:
        until(lambda: np.allclose(strip_range(dash_duo), [t - 5, t + 5], atol=0.01), timeout=20)
    except Exception:
        raise AssertionError(f"the strip shows {strip_range(dash_duo)}, not the clicked beat at {t} s") from None
    assert dash_duo.get_logs() == []


def test_rec003_edf_and_250_hz_csv_with_and_without_a_time_column(dash_duo, dash_app, rhythm, tmp_path):
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/record")
    for path in (FIXTURES / "200.edf", FIXTURES / "200_250hz.csv"):
        choose_files(dash_duo, path)
        check_counts(dash_duo, expected(rhythm, path))
        assert dash_duo.find_element("#record-summary-text small").text.endswith(
            "(lead MLII, 360 Hz)" if path.suffix == ".edf" else "(lead MLII, 250 Hz)")
    # the same signal without its time column: the page asks for the rate, then uses the one typed in
    untimed = tmp_path / "200_untimed.csv"
    pd.read_csv(FIXTURES / "200_250hz.csv").drop(columns="time_s").to_csv(untimed, index=False)
    choose_files(dash_duo, untimed)
    dash_duo.wait_for_contains_text("#record-message", "no time column", timeout=30)
    dash_duo.find_element("#record-fs").send_keys("250\n")
    check_counts(dash_duo, expected(rhythm, untimed, fs=250.0))
    # as a spreadsheet in a European locale saves it: semicolons, decimal commas
    excel = tmp_path / "200_excel.csv"
    pd.read_csv(FIXTURES / "200_250hz.csv").to_csv(excel, index=False, sep=";", decimal=",")
    choose_files(dash_duo, excel)
    check_counts(dash_duo, expected(rhythm, excel))
    assert dash_duo.get_logs() == []


def test_rec004_bad_recording_then_a_good_one(dash_duo, dash_app, rhythm, tmp_path):
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/record")
    choose_files(dash_duo, FIXTURES / "200.dat")  # the signal without its header
    dash_duo.wait_for_contains_text("#record-message", "The WFDB header for 200.dat is missing", timeout=30)
    assert dash_duo.find_element("#record-message").text.startswith("The WFDB"), "the file named twice"
    assert dash_duo.find_element("#record-results").get_attribute("hidden") is not None
    flat = tmp_path / "flat.csv"
    flat.write_text("time_s,ECG\n" + "".join(f"{i / 250:.3f},0.5\n" for i in range(5000)))
    choose_files(dash_duo, flat)
    dash_duo.wait_for_contains_text("#record-message", "is flat", timeout=30)
    # the page stays usable: the next recording goes through
    choose_files(dash_duo, FIXTURES / "200.hea", FIXTURES / "200.dat")
    check_counts(dash_duo, expected(rhythm, FIXTURES / "200.hea"))
    assert not [m for m in dash_duo.find_elements("#record-message") if m.is_displayed()]
    assert dash_duo.get_logs() == []


def test_rec013_a_short_recording_is_said_and_has_no_look_alikes(dash_duo, dash_app, rhythm, tmp_path):
    """Twelve seconds of the 250 Hz CSV: classified as classify-record does, with the warning that a short recording's
    classes deserve less trust, and the beat view says the recording is too short for the look-alike step."""
    short = tmp_path / "200_short.csv"
    pd.read_csv(FIXTURES / "200_250hz.csv").iloc[:3000].to_csv(short, index=False)
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/record")
    choose_files(dash_duo, short)
    check_counts(dash_duo, expected(rhythm, short))
    dash_duo.wait_for_contains_text("#record-message", "'200_short' is 12 s long", timeout=30)
    dash_duo.wait_for_contains_text("#record-explain-note", "too few beats for the look-alike step", timeout=30)
    assert dash_duo.get_logs() == []


def test_rec005_download_equals_classify_record(dash_duo, dash_app, rhythm, tmp_path):
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/record")
    click(dash_duo, "#record-sample")
    check_counts(dash_duo, expected(rhythm, SAMPLE_HEA))
    click(dash_duo, "#record-download-button")
    download = Path(dash_duo.download_path) / "200-beats.csv"
    until(lambda: download.exists() and download.stat().st_size > 0, timeout=20, msg="no CSV was downloaded")
    out = tmp_path / "cli.csv"
    done = subprocess.run([sys.executable, "-m", "pipeline", "classify-record", str(SAMPLE_HEA), "--out", str(out),
                           "--models", os.environ.get("MODELS_DIR", str(REPO / "models"))],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert download.read_bytes() == out.read_bytes()
    assert dash_duo.get_logs() == []


def test_rec006_wfdb_pair_and_done_when_csv_through_gunicorn(dash_br: Browser, gunicorn_url, rhythm, tmp_path):
    """Two workers: the WFDB pair chosen together; and (with MITDB_DIR) record 232 exported as a 250 Hz CSV."""
    dash_br.server_url = gunicorn_url
    open_path(dash_br, "/record")
    choose_files(dash_br, FIXTURES / "200.hea", FIXTURES / "200.dat", FIXTURES / "200.atr")
    check_counts(dash_br, expected(rhythm, FIXTURES / "200.hea"))
    dash_br.wait_for_element("#record-detection")
    mitdb = os.environ.get("MITDB_DIR")
    if mitdb and Path(mitdb, "232.hea").is_file():
        csv = export_csv(Path(mitdb) / "232", tmp_path / "232_250hz.csv")
        choose_files(dash_br, csv)
        check_counts(dash_br, expected(rhythm, csv), timeout=90)
    assert dash_br.get_logs() == []


def export_csv(record: Path, out: Path, fs: int = 250) -> Path:
    """A whole MIT-BIH record's MLII lead as a user's device export: 250 Hz, a time_s column, millivolts."""
    import wfdb
    from scipy.signal import resample_poly

    signal = wfdb.rdrecord(str(record), channel_names=["MLII"]).p_signal[:, 0]
    resampled = resample_poly(signal, fs, 360)
    pd.DataFrame({"time_s": np.round(np.arange(len(resampled)) / fs, 4), "MLII_mV": np.round(resampled, 4)}) \
        .to_csv(out, index=False)
    return out


def test_rec007_strip_window_sends_only_what_the_view_draws(bundle, rhythm, tmp_path):
    """A wide view is a min/max envelope (the peaks survive); a 10 s view is the samples themselves."""
    from dashboard.recordings import analyse, strip_window
    from dashboard.uploads import DiskUploadStore
    from pipeline.recording import read_recording

    store = DiskUploadStore(tmp_path, 3600, 2**30)
    files = []
    for name in ("200.hea", "200.dat"):
        path = SAMPLE_HEA.with_name(name)
        with open(path, "rb") as f:
            files.append({"token": store.create(f, limit=2**24, size=path.stat().st_size), "filename": name})
    meta = analyse(store, files)
    signal = read_recording(SAMPLE_HEA).signal.astype(np.float32)
    t, y = strip_window(store, meta, 0, meta["duration_s"], 1000)
    assert len(y) <= 2000 and y.max() == signal.max() and y.min() == signal.min()
    t, y = strip_window(store, meta, 100.0, 101.0, 1000)
    assert np.array_equal(y, signal[36000:36361]) and t[0] == 100.0


def test_rec008_no_rhythm_model_is_one_sentence(dash_duo, dash_app, bundle, tmp_path, monkeypatch):
    """A bundle without the rhythm-aware cascade: the page says how to get one and stays usable."""
    models = Path(shutil.copytree(bundle.directory, tmp_path / "models"))
    manifest = json.loads((models / "manifest.json").read_text())
    manifest["models"].pop("rhythm", None)
    (models / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("MODELS_DIR", str(models))
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/record")
    click(dash_duo, "#record-sample")
    dash_duo.wait_for_contains_text("#record-message", "This model bundle has no rhythm-aware cascade", timeout=30)
    assert dash_duo.get_logs() == []


@pytest.mark.skipif(not os.environ.get("SCREENSHOTS_DIR"), reason="set SCREENSHOTS_DIR to write screenshots")
def test_shot_record_page(dash_duo, dash_app, rhythm):
    from test_screenshots import shoot

    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/record")
    click(dash_duo, "#record-sample")
    check_counts(dash_duo, expected(rhythm, SAMPLE_HEA))
    wait_for_traces(dash_duo, "record-beat", at_least=3)
    shoot(dash_duo, "record-sample")
    click(dash_duo, "#record-table tbody tr:nth-child(4) td[data-dash-column='time_s']")
    until(lambda: np.diff(strip_range(dash_duo))[0] < 11, timeout=20, msg="the strip did not zoom to the beat")
    shoot(dash_duo, "record-beat")
    open_path(dash_duo, "/models")
    wait_for_traces(dash_duo, "models-rhythm-detection-figure", at_least=2)
    shoot(dash_duo, "models-rhythm")
    open_path(dash_duo, "/record")
    click(dash_duo, "#record-sample")
    check_counts(dash_duo, expected(rhythm, SAMPLE_HEA))
    dash_duo.driver.set_window_size(390, 900)
    width = "return document.querySelector('#record-strip .js-plotly-plot')._fullLayout.width;"
    try:
        until(lambda: dash_duo.driver.execute_script(width) <= 390, timeout=10)
    except Exception:
        raise AssertionError(f"the strip is still {dash_duo.driver.execute_script(width)} px wide on a phone, "
                             f"window {dash_duo.driver.get_window_size()}") from None
    shoot(dash_duo, "record-phone", width=390)
    assert dash_duo.get_logs() == []


def test_rec009_models_page_shows_the_rhythm_cascade_and_predict_says_it_needs_a_recording(dash_duo, dash_app,
                                                                                          report, rhythm):
    recordings = report["recordings"]
    s = recordings["detected_beats"]["per_class"]["S"]
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/models")
    dash_duo.wait_for_contains_text("#models-rhythm-table", "Rhythm-aware, detected beats", timeout=20)
    s_row = [td.text for td in dash_duo.find_elements("#models-rhythm-table tbody tr:nth-child(2) td")]
    assert s_row[0] == "S" and s_row[-2:] == [f"{s['sensitivity']:.1%}", f"{s['positive_predictivity']:.1%}"]
    # what a score means: how often a V call with a score of 99% or more was a V beat, and on how many beats
    top_v = recordings["score_reliability"]["classes"]["V"][-1]
    v_row = [td.text for td in dash_duo.find_elements("#models-rhythm-scores tbody tr:nth-child(3) td")]
    assert v_row[0] == "V" and v_row[-1].split() == [share(top_v["right"]), f"{top_v['beats']:,}", "beats"]
    wait_for_traces(dash_duo, "models-rhythm-detection-figure", at_least=2)
    open_path(dash_duo, "/predict")
    click(dash_duo, "#predict-needs-recording a")
    dash_duo.wait_for_element("#record-zone", timeout=20)
    assert dash_duo.get_logs() == []


def test_rec010_the_beat_view_says_why_the_rhythm_cascade_gave_its_class(dash_duo, dash_app, rhythm, report):
    """The explanation is pipeline.explain's for the beat's whole input row, its R-R ratios in words."""
    from pipeline.explain import explain_beats
    from pipeline.records import beat_inputs
    from pipeline.recording import read_recording

    result = expected(rhythm, SAMPLE_HEA)
    recording = read_recording(SAMPLE_HEA)
    first = int(np.flatnonzero(result.table["predicted_class"].to_numpy() != "N")[0])
    inputs = beat_inputs(recording.signal, recording.fs, result.table["sample"].to_numpy(), snap=True)
    proba = result.table[[f"p_{c}" for c in "NSVFQ"]].to_numpy()[first : first + 1]
    why = explain_beats(rhythm, inputs[first : first + 1], report["templates"],
                        report["recordings"].get("feature_templates"), proba=proba)[0]
    assert why.predicted_class == result.table["predicted_class"].iloc[first]
    assert why.look_alikes and why.p_abnormal == 1 - proba[0, 0]
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/record")
    click(dash_duo, "#record-sample")
    check_counts(dash_duo, result)
    dash_duo.wait_for_text_to_equal("#record-explain-title", f"Beat {first + 1:,}: {why.predicted_class} "
                                    f"({CLASS_NAMES[why.predicted_class]}) by the "
                                    "rhythm-aware cascade", timeout=30)
    # the decision read the probabilities with the beat's look-alikes averaged in; its own are said beside them,
    # and which beats those look-alikes are
    dash_duo.wait_for_contains_text("#record-explain-step1", f"P(abnormal) = {why.own_p_abnormal:.2f} from the "
                                    f"beat's own inputs, {why.p_abnormal:.2f} with its look-alikes")
    from pipeline.records import look_alikes_of

    alike = look_alikes_of(rhythm, result.features, result.table["sample"].to_numpy(), recording.fs,
                           recording.duration_s, first)
    assert len(alike), "the sample's first ectopic beat should have look-alikes"
    dash_duo.wait_for_contains_text("#record-explain-note", f"Averaged with its {len(alike)} look-alike")
    assert f"beats {min(alike) + 1:,}" in dash_duo.find_element("#record-explain-note").text
    shown = [li.text for li in dash_duo.find_elements("#record-explain-abnormal-reasons li")]
    assert [text.split(" →")[0] for text in shown] == [r.text for r in why.abnormal_reasons[:5]], shown
    # the R-R ratios read as words, against the recording's own rhythm
    rr = next(r for r in why.abnormal_reasons if r.key == "rr_pre_rel")
    assert rr.text == f"pre-R-R {inputs[first, 187]:.2f} of the recording's median", rr.text
    wait_for_traces(dash_duo, "record-explain-abnormal")
    assert dash_duo.get_logs() == []


def test_rec011_an_expired_upload_is_said_on_the_page(dash_duo, dash_app, rhythm):
    from dashboard.uploads import UnknownUpload, get_store

    result = expected(rhythm, SAMPLE_HEA)
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/record")
    click(dash_duo, "#record-sample")
    check_counts(dash_duo, result)
    store = get_store()
    stale = time.time() - store.ttl_seconds - 60
    for entry in store.root.iterdir():  # as if nobody had used them for longer than UPLOAD_TTL_MINUTES
        os.utime(entry, (stale, stale))
    store.purge_expired()
    click(dash_duo, "#record-table tbody tr:nth-child(3) td[data-dash-column='time_s']")
    dash_duo.wait_for_text_to_equal("#record-message", str(UnknownUpload("")), timeout=20)
    assert dash_duo.get_logs() == []


DROP_CSV = """
// arguments[0]: the file's name; arguments[1]: 20 s at 250 Hz of a flat line (false) or of random noise (true)
const values = Array.from({length: 5000}, (_, i) => (i / 250).toFixed(3) + "," +
  (arguments[1] ? (Math.random() * 2 - 1).toFixed(3) : "0.5") + "\\n");
const data = new DataTransfer();
data.items.add(new File(["time_s,ECG\\n" + values.join("")], arguments[0], {type: "text/csv"}));
const zone = document.getElementById("record-zone");
zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: data, bubbles: true, cancelable: true}));
zone.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
"""


def test_rec012_empty_and_oversized_files_and_a_drop(dash_duo, dash_app, rhythm, monkeypatch, tmp_path):
    """The Recording page's uploads share the Predict page's code: the same refusals before sending, and drops."""
    monkeypatch.setenv("UPLOAD_MAX_MB", "0.1")  # 105 kB a file: the 250 Hz CSV fixture (327 kB) is over it
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/record")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    choose_files(dash_duo, empty)
    dash_duo.wait_for_contains_text("#record-message", "empty.csv: the file is empty: choose the recording's files",
                                    timeout=20)
    big = FIXTURES / "200_250hz.csv"
    choose_files(dash_duo, big)
    dash_duo.wait_for_contains_text(
        "#record-message", f"200_250hz.csv is {big.stat().st_size / 2**20:.1f} MB; the limit is 0.1 MB", timeout=20)
    # a file dropped on the zone is sent and read: this one is a flat line, and the page says so
    dash_duo.driver.execute_script(DROP_CSV, "dropped-flat.csv", False)
    dash_duo.wait_for_contains_text("#record-message", "is flat", timeout=30)
    # noise has peaks the detector takes for beats: they are classified, and the page says not to trust them
    dash_duo.driver.execute_script(DROP_CSV, "dropped-noise.csv", True)
    dash_duo.wait_for_contains_text("#record-message", "beats found in 'dropped-noise' do not look alike", timeout=60)
    assert dash_duo.find_element("#record-results").get_attribute("hidden") is None
    assert dash_duo.get_logs() == []


def test_rec015_a_beat_chosen_with_the_keyboard(dash_duo, dash_app, rhythm):
    """A beat is chosen by typing its number (Tab to the box, Enter), a number the recording lacks is said under the
    box, and Tab leaves the beat table for its pager, where Enter turns the page (Dash's DataTable alone cancels
    both keys there and keeps the focus)."""
    from selenium.webdriver.common.keys import Keys

    result = expected(rhythm, SAMPLE_HEA)
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/record")
    click(dash_duo, "#record-sample")
    check_counts(dash_duo, result)
    dash_duo.wait_for_contains_text("#record-beat-text", "Beat ", timeout=30)
    assert not dash_duo.find_element("#record-beat-text").text.startswith("Beat 7 at")
    tab_to(dash_duo, "record-goto", attribute="id", most=60)
    press(dash_duo, "7" + Keys.ENTER)
    dash_duo.wait_for_contains_text("#record-beat-text", "Beat 7 at", timeout=30)
    until(lambda: abs(np.mean(strip_range(dash_duo)) - result.table["time_s"].iloc[6]) < 0.5, timeout=20,
          msg="the strip did not centre on beat 7")
    beats = result.summary["beats"]
    dash_duo.find_element("#record-goto").send_keys(Keys.BACKSPACE, f"{beats + 1}", Keys.ENTER)
    dash_duo.wait_for_contains_text("#record-goto-feedback", f"Type a beat number from 1 to {beats:,}.", timeout=20)
    assert contrast(dash_duo, "#record-goto-feedback") >= 4.5  # WCAG AA on the page's background
    assert dash_duo.find_element("#record-beat-text").text.startswith("Beat 7 at")
    # another recording (the same file again, as another lead would be): the box is empty and says nothing
    click(dash_duo, "#record-sample")
    until(lambda: dash_duo.find_element("#record-goto").get_attribute("value") == "", timeout=30,
          msg="the number typed for the recording before is still there")
    assert "is-invalid" not in dash_duo.find_element("#record-goto").get_attribute("class")
    dash_duo.wait_for_contains_text("#record-beat-text", "Beat ", timeout=30)
    rows = len(dash_duo.find_elements("#record-table td[data-dash-column=index]"))
    tab_to(dash_duo, "Next page", most=80)
    press(dash_duo, Keys.ENTER)
    dash_duo.wait_for_text_to_equal("#record-table td[data-dash-column=index]", str(rows + 1), timeout=10)
    assert dash_duo.get_logs() == []
