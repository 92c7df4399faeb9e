"""Forged callback requests (what anyone can post to /_dash-update-component) get the page's message, not a 500."""
import json

import pytest

from pagehelpers import SAMPLE, post_callback

FROM_PAGE = {"X-Requested-With": "dashboard-upload"}
RELOAD = "reload the page"


def classify(callback_client, dependencies, upload, choice="cascade"):
    return post_callback(callback_client, dependencies, {"upload-result.data": upload, "predict-model.value": choice})


@pytest.fixture(scope="module")
def state(callback_client, dependencies):
    """A real upload of the sample, classified: the predict-state a browser would hold."""
    token = callback_client.post("/upload", data=SAMPLE.read_bytes(), headers=FROM_PAGE).get_json()["token"]
    status, body = classify(callback_client, dependencies, {"token": token, "filename": "sample.csv"})
    assert status == 200, body
    return json.loads(body)["response"]["predict-state"]["data"]


@pytest.mark.parametrize("upload", ["evil", 7, ["x"], {"token": 5}, {"token": "t", "filename": "x" * 150_000},
                                    {"error": {"html": 1}}], ids=["str", "int", "list", "token-int", "long-name",
                                                                  "error-dict"])
def test_inp001_forged_uploads(callback_client, dependencies, upload):
    status, body = classify(callback_client, dependencies, upload)
    assert status == 200 and RELOAD in body, body[:300]
    assert len(body) < 10_000  # a long filename is not echoed back


def test_inp002_forged_model_choice(callback_client, dependencies, state):
    status, body = classify(callback_client, dependencies, {"token": state["token"], "filename": "f.csv"}, choice="evil")
    assert status == 200 and RELOAD in body, body[:300]


def draw_ticked(callback_client, dependencies, state, rows):
    """The overlay draws the ticks kept per upload (predict-ticked), which the browser also sends as it likes."""
    return post_callback(callback_client, dependencies,
                         {"predict-ticked.data": {"token": state["token"], "rows": rows}, "predict-state.data": state})


@pytest.mark.parametrize("rows", [[999999], [0], [-1], ["1"], [True], "1", {"a": 1}])
def test_inp003_forged_rows(callback_client, dependencies, state, rows):
    status, body = draw_ticked(callback_client, dependencies, state, rows)
    assert status == 200 and RELOAD in body, body[:300]
    if rows != [999999]:  # the table's own ticks: a row number the file may hold passes until the overlay checks it
        status, body = post_callback(callback_client, dependencies, {"predict-table.selected_row_ids": rows},
                                     state={"predict-state.data": state})
        assert status == 200 and RELOAD in body, body[:300]


def test_inp004_real_rows_still_draw(callback_client, dependencies, state):
    status, body = draw_ticked(callback_client, dependencies, state, [1, 50])
    assert status == 200 and "Rows 1, 50" in body, body[:300]


@pytest.mark.parametrize("forged", ["evil", {"token": "x"}, {"models": ["evil"]}, "models", "labelled"])
def test_inp005_forged_state(callback_client, dependencies, state, forged):
    if forged in ("models", "labelled"):
        forged = {**state, forged: {"models": "cascade", "labelled": "yes"}[forged]}
    status, body = post_callback(callback_client, dependencies, {"predict-state.data": forged, "predict-table.page_current": 0,
                                                        "predict-filter.value": "all"})
    assert status == 200 and RELOAD in body, body[:300]
    status, body = post_callback(callback_client, dependencies, {"predict-download-button.n_clicks": 1},
                                 state={"predict-state.data": forged})
    assert status in (200, 204) and RELOAD in body, body[:300]


@pytest.mark.parametrize("page", [-1, "2", 1.5])
def test_inp006_forged_page(callback_client, dependencies, state, page):
    status, body = post_callback(callback_client, dependencies, {"predict-state.data": state, "predict-table.page_current": page,
                                                        "predict-filter.value": "all"})
    assert status == 200 and RELOAD in body, body[:300]


def test_inp007_expired_upload_says_so(callback_client, dependencies, state):
    gone = {**state, "token": "e" * 43}
    status, body = post_callback(callback_client, dependencies, {"predict-state.data": gone, "predict-table.page_current": 0,
                                                        "predict-filter.value": "all"})
    assert status == 200 and "expired" in body, body[:300]
    status, body = post_callback(callback_client, dependencies, {"predict-download-button.n_clicks": 1},
                                 state={"predict-state.data": gone})
    assert "expired" in body, body[:300]


def test_inp008_summary_says_a_header_was_skipped(callback_client, dependencies):
    header = ",".join(f'"c{i}"' for i in range(188)) + "\n"
    token = callback_client.post("/upload", data=header.encode() + SAMPLE.read_bytes(), headers=FROM_PAGE).get_json()["token"]
    status, body = classify(callback_client, dependencies, {"token": token, "filename": "named.csv"})
    assert status == 200 and "first row holds column names" in body, body[:300]


@pytest.mark.parametrize("values", [
    {"data-protocol.value": "evil", "data-log.value": []},
    {"models-protocol.value": ["intra"]},
    {"models-protocol.value": "intra", "models-model.value": "evil", "models-normalise.value": []},
    {"models-protocol.value": "evil", "models-metric.value": "f1"},
], ids=["data-protocol", "models-protocol-list", "models-model", "models-compare-protocol"])
def test_inp009_forged_choices_on_pages_without_a_message_box_change_nothing(callback_client, dependencies, values):
    status, body = post_callback(callback_client, dependencies, values)
    assert status == 204, body[:300]


JUNK = ["evil", 7, -1, 1e308, [], {}, [1, "x"], {"a": {"b": 1}}, True]


def test_inp010_no_callback_answers_junk_with_a_server_error(callback_client, dependencies):
    """Every server-side callback of every page, each input in turn set to junk (and the state too): never a 5xx."""
    failures = []
    for dep in dependencies:
        if dep.get("clientside_function"):
            continue
        keys = [f"{i['id']}.{i['property']}" for i in dep["inputs"]]
        states = [f"{s['id']}.{s['property']}" for s in dep["state"]]
        for junk in JUNK:
            for key in keys:
                values = {key: junk, **{other: None for other in keys if other != key}}
                for state in ([None, junk] if states else [None]):
                    status, _ = post_callback(callback_client, dependencies, values, state=dict.fromkeys(states, state))
                    if status >= 500:
                        failures.append((dep["output"][:50], key, junk, state))
    assert not failures, failures[:10]


@pytest.mark.parametrize("body", ["{}", '{"output": 5}', '{"output": "nothing.here", "inputs": []}', "[]", "null",
                                  '{"output": "predict-message.children", "inputs": "x"}'],
                         ids=["empty", "output-int", "unknown-output", "list", "null", "inputs-str"])
def test_inp011_malformed_callback_requests_get_a_400(callback_client, body):
    response = callback_client.post("/_dash-update-component", data=body, content_type="application/json")
    assert response.status_code == 400 and "reload the page" in response.get_json()["error"], response.get_data()[:200]
