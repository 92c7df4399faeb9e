"""Access in a real headless Chromium: text contrast measured on the rendered colours, the keyboard, accessible names."""
import pytest
from dash.testing.wait import until
from selenium.webdriver.common.keys import Keys

from pagehelpers import N_SAMPLE, click, contrast, focused, open_path, press, tab_to, upload_file, wait_for_results

pytestmark = pytest.mark.browser


def test_acc001_contrast_at_least_4_5(dash_duo, dash_app, tmp_path):
    """White on teal (the file button), on red (upload errors) and on orange (the 404 page): WCAG AA."""
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/predict")
    # The page's layout arrives from a callback after the app shell: measure once it is there.
    dash_duo.wait_for_element(".upload-label .btn-success", timeout=20)
    assert contrast(dash_duo, ".upload-label .btn-success") >= 4.5
    broken = tmp_path / "columns.csv"
    broken.write_text("0.1,0.2\n")
    upload_file(dash_duo, broken)
    dash_duo.wait_for_element("#predict-message.alert-danger", timeout=20)
    assert contrast(dash_duo, "#predict-message") >= 4.5
    open_path(dash_duo, "/no-such-page")
    dash_duo.wait_for_element("#not-found", timeout=20)
    assert contrast(dash_duo, "#not-found") >= 4.5
    assert contrast(dash_duo, "#not-found-home") >= 4.5


@pytest.mark.parametrize("path, label, file_input", [("/predict", "upload-label", "upload-input"),
                                                     ("/record", "record-label", "record-input")])
def test_acc002_upload_zone_by_keyboard(dash_duo, dash_app, path, label, file_input):
    """Tab reaches the upload zone; Enter and Space open the file dialog (a click on the hidden file input)."""
    dash_duo.start_server(dash_app)
    open_path(dash_duo, path)
    dash_duo.wait_for_element(f"#{label}")
    until(lambda: dash_duo.driver.execute_script(f"return !!document.getElementById('{file_input}')"), timeout=10)
    dash_duo.driver.execute_script(
        f"window.__opened = 0; document.getElementById('{file_input}').addEventListener('click',"
        " e => { window.__opened += 1; e.preventDefault(); });")
    for _ in range(30):  # the navbar's links come first
        if dash_duo.driver.execute_script("return document.activeElement.id") == label:
            break
        dash_duo.driver.switch_to.active_element.send_keys(Keys.TAB)
    assert dash_duo.driver.execute_script("return document.activeElement.id") == label
    dash_duo.driver.switch_to.active_element.send_keys(Keys.ENTER)
    until(lambda: dash_duo.driver.execute_script("return window.__opened") == 1, timeout=5, msg="Enter did nothing")
    dash_duo.driver.switch_to.active_element.send_keys(Keys.SPACE)
    until(lambda: dash_duo.driver.execute_script("return window.__opened") == 2, timeout=5, msg="Space did nothing")
    assert dash_duo.get_logs() == []


def test_acc003_table_controls_have_names(dash_duo, dash_app, bundle):
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/predict")
    click(dash_duo, "#predict-sample")
    wait_for_results(dash_duo, N_SAMPLE)
    until(lambda: dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('#predict-table td.dash-select-cell input'))"
        ".map(b => b.getAttribute('aria-label'))")[:3] == ["Tick row 1", "Tick row 2", "Tick row 3"], timeout=10,
        msg="row checkboxes have no names")
    labels = dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('#predict-table .previous-next-container button'))"
        ".map(b => b.getAttribute('aria-label'))")
    assert labels == ["First page", "Previous page", "Next page", "Last page"]
    click(dash_duo, "#predict-table button[aria-label='Next page']")
    until(lambda: dash_duo.driver.execute_script(
        "const b = document.querySelector('#predict-table td.dash-select-cell input');"
        "return b && b.getAttribute('aria-label')") == "Tick row 16", timeout=10,
        msg="the names do not follow the page")
    assert dash_duo.get_logs() == []


def test_acc004_tab_goes_row_by_row_and_out_of_a_table(dash_duo, dash_app, bundle):
    """From a row's checkbox Tab goes to the next row's and on to the pager, where Enter turns the page. Dash's
    DataTable takes Tab and Enter for moves between its cells and cancels them: the focus stayed on the checkbox."""
    dash_duo.start_server(dash_app)
    open_path(dash_duo, "/predict")
    click(dash_duo, "#predict-sample")
    wait_for_results(dash_duo, N_SAMPLE)
    dash_duo.wait_for_element("#predict-table input[aria-label='Tick row 1']").send_keys(Keys.SPACE)  # ticks it
    until(lambda: dash_duo.find_element("#predict-table input[aria-label='Tick row 1']").is_selected(), timeout=10)
    for label in ("Tick row 2", "Tick row 3"):
        press(dash_duo, Keys.TAB)
        until(lambda: focused(dash_duo) == label, timeout=5, msg=f"Tab stayed on '{focused(dash_duo)}'")
    tab_to(dash_duo, "Next page")
    press(dash_duo, Keys.ENTER)
    until(lambda: dash_duo.driver.execute_script(
        "const b = document.querySelector('#predict-table td.dash-select-cell input');"
        "return b && b.getAttribute('aria-label')") == "Tick row 16", timeout=10, msg="Enter did not turn the page")
    assert dash_duo.get_logs() == []
