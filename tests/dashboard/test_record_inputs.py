"""Forged callback requests to the Recording page (anyone can post to /_dash-update-component) get the page's
message or change nothing (204), never a 500; a real request still works after them."""
import json

import pytest

from pagehelpers import post_callback

RELOAD = "reload the page"
FILES = "record-files.data"
TOKEN = "t" * 43  # the shape of a token, of no upload


def classify(callback_client, dependencies, files, lead=None, fs=None, changed=FILES, invert=False):
    values = {FILES: files, "record-lead.value": lead, "record-fs.value": fs, "record-invert.value": invert}
    values = {changed: values.pop(changed), **values}  # the first is the input that changed
    status, body = post_callback(callback_client, dependencies, values)
    assert status == 200, body[:300]
    return json.loads(body)["response"]


@pytest.fixture(scope="module")
def sample(callback_client, dependencies, rhythm):
    """The record-files and record-state a browser holds after loading the sample recording."""
    status, body = post_callback(callback_client, dependencies, {"record-sample.n_clicks": 1})
    assert status == 200, body[:300]
    files = json.loads(body)["response"]["record-files"]["data"]
    return files, classify(callback_client, dependencies, files)["record-state"]["data"]


def message(response) -> str:
    return str(response["record-message"]["children"])


@pytest.mark.parametrize("files", ["evil", 7, {"files": "x"}, {"files": []}, {"files": ["x"]},
                                   {"files": [{"token": 5, "filename": "a.csv"}]}, {"files": [{"token": TOKEN}]},
                                   {"files": [{"token": TOKEN, "filename": "a.csv"}] * 17}, {"error": {"html": 1}}],
                         ids=["str", "int", "files-str", "files-empty", "file-str", "token-int", "no-name", "too-many",
                              "error-dict"])
def test_rin001_forged_files(callback_client, dependencies, files):
    assert RELOAD in message(classify(callback_client, dependencies, files))


def test_rin002_unknown_token_is_said(callback_client, dependencies):
    response = classify(callback_client, dependencies, {"files": [{"token": TOKEN, "filename": "a.csv"}]})
    assert "expired" in message(response) or "no longer" in message(response), message(response)


@pytest.mark.parametrize("lead, fs", [("evil", None), (-1, None), ([1], None), (True, None), (None, "abc"),
                                      (None, "nan"), (None, [250])])
def test_rin003_forged_lead_and_rate(callback_client, dependencies, sample, lead, fs):
    changed = "record-lead.value" if lead is not None else "record-fs.value"
    assert RELOAD in message(classify(callback_client, dependencies, sample[0], lead, fs, changed=changed))


@pytest.mark.parametrize("invert", ["yes", 1, [True], {"v": 1}])
def test_rin012_forged_upside_down_switch(callback_client, dependencies, sample, invert):
    assert RELOAD in message(classify(callback_client, dependencies, sample[0], invert=invert,
                                      changed="record-invert.value"))


def test_rin013_upside_down_switch_turns_the_lead(callback_client, dependencies, sample):
    """The switch reclassifies the recording with its lead turned over (its own cached analysis), and a new
    recording starts the right way up."""
    turned = classify(callback_client, dependencies, sample[0], invert=True, changed="record-invert.value")
    state = turned["record-state"]["data"]
    assert state["key"] != sample[1]["key"] and state["inverted"] is True
    assert "upside down" in str(turned["record-summary"]["children"])
    assert turned["record-invert"]["value"] is True
    fresh = classify(callback_client, dependencies, sample[0], invert=True)  # record-files changed: a new upload
    assert fresh["record-invert"]["value"] is False and fresh["record-state"]["data"]["key"] == sample[1]["key"]


def test_rin004_a_lead_or_rate_the_recording_lacks_is_the_readers_sentence(callback_client, dependencies, sample):
    assert "has no lead 7" in message(classify(callback_client, dependencies, sample[0], lead=7, changed="record-lead.value"))
    assert "A sampling rate of 250 Hz was given" in message(classify(callback_client, dependencies, sample[0], fs=250, changed="record-fs.value"))


FORGED_STATE = ["evil", 7, [], {}, {"home": TOKEN}, {"home": TOKEN, "key": "../../etc/x", "name": "a", "duration_s": 1},
                {"home": TOKEN, "key": "0123456789ab", "name": "a", "duration_s": "x"}]
STATE_IDS = ["str", "int", "list", "empty", "home-only", "traversal", "duration-text"]


@pytest.mark.parametrize("forged", FORGED_STATE, ids=STATE_IDS)
def test_rin005_forged_state_changes_nothing(callback_client, dependencies, forged):
    for values, state in [
        ({"record-state.data": forged, "record-table.page_current": 0, "record-filter.value": "all"}, None),
        ({"record-download-button.n_clicks": 1}, {"record-state.data": forged}),
        ({"record-pick.data": {"index": 0, "time": 1.0}, "record-state.data": forged}, None),
        ({"record-state.data": forged, "record-strip.relayoutData": None, "record-tachogram.relayoutData": None,
          "record-pick.data": None, "record-whole.n_clicks": None}, {"record-window.data": None}),
    ]:
        status, body = post_callback(callback_client, dependencies, values, state)
        assert status == 204, (values, body[:300])


@pytest.mark.parametrize("forged", FORGED_STATE, ids=STATE_IDS)
def test_rin006_forged_state_is_said_once(callback_client, dependencies, forged):
    """tell_expired, the callback behind the page's message box, says so; a well-formed state of no upload is expired."""
    status, body = post_callback(callback_client, dependencies, {"record-download-button.n_clicks": 1, "record-strip.relayoutData": None,
                                                        "record-strip.clickData": None, "record-tachogram.relayoutData": None,
                                                        "record-tachogram.clickData": None, "record-whole.n_clicks": None,
                                                        "record-table.active_cell": None, "record-table.page_current": 0,
                                                        "record-filter.value": "all"},
                                 state={"record-state.data": forged})
    assert status == 200 and (RELOAD in body or "expired" in body), body[:300]


@pytest.mark.parametrize("pick", ["x", {"index": "1", "time": 1}, {"index": 10**9, "time": 1.0}, {"index": -1, "time": 1},
                                  {"index": 0, "time": "x"}, {"index": True, "time": 1}],
                         ids=["str", "index-text", "index-past-end", "index-negative", "time-text", "index-bool"])
def test_rin007_forged_pick_changes_nothing(callback_client, dependencies, sample, pick):
    status, body = post_callback(callback_client, dependencies, {"record-pick.data": pick, "record-state.data": sample[1]})
    assert status == 204, body[:300]


@pytest.mark.parametrize("values", [
    {"record-strip.clickData": {"points": "x"}, "record-tachogram.clickData": None, "record-table.active_cell": None,
     "record-jump.value": None, "record-goto.value": None},
    {"record-strip.clickData": {"points": [{"x": "abc"}]}, "record-tachogram.clickData": None,
     "record-table.active_cell": None, "record-jump.value": None, "record-goto.value": None},
    {"record-table.active_cell": {"row_id": "abc"}, "record-strip.clickData": None, "record-tachogram.clickData": None,
     "record-jump.value": None, "record-goto.value": None},
    {"record-table.active_cell": {"row_id": 10**9}, "record-strip.clickData": None, "record-tachogram.clickData": None,
     "record-jump.value": None, "record-goto.value": None},
    {"record-jump.value": "abc", "record-strip.clickData": None, "record-tachogram.clickData": None,
     "record-table.active_cell": None, "record-goto.value": None},
], ids=["points-str", "x-text", "row-text", "row-past-end", "jump-text"])
def test_rin008_forged_clicks_change_nothing(callback_client, dependencies, sample, values):
    status, body = post_callback(callback_client, dependencies, values, state={"record-state.data": sample[1]})
    assert status == 204, body[:300]


@pytest.mark.parametrize("relayout", [{"xaxis.range[0]": "abc", "xaxis.range[1]": 1}, {"xaxis.range": "ab"},
                                      {"xaxis.range": [1, 2, 3]}, {"xaxis.range": [0, "inf"]}, "evil"],
                         ids=["range0-text", "range-str", "range-three", "range-inf", "str"])
def test_rin009_forged_zoom_draws_the_current_window(callback_client, dependencies, sample, relayout):
    values = {"record-state.data": sample[1], "record-strip.relayoutData": relayout, "record-tachogram.relayoutData": None,
              "record-pick.data": None, "record-whole.n_clicks": None}
    status, body = post_callback(callback_client, dependencies, values, state={"record-window.data": [0, 10]})
    assert status == 200, body[:300]
    assert json.loads(body)["response"]["record-window"]["data"] in ([0, 10], [0.0, 300.0]), body[:300]


def test_rin010_real_requests_still_work(callback_client, dependencies, sample):
    files, meta = sample
    response = classify(callback_client, dependencies, files)
    assert response["record-state"]["data"]["summary"] == meta["summary"]
    status, body = post_callback(callback_client, dependencies, {"record-pick.data": {"index": 3, "time": 1.0},
                                                        "record-state.data": meta})
    assert status == 200 and "Beat 4" in body, body[:300]
    # a beat's number typed: that beat is picked
    status, body = post_callback(callback_client, dependencies, {
        "record-goto.value": 5, "record-strip.clickData": None, "record-tachogram.clickData": None,
        "record-table.active_cell": None, "record-jump.value": None}, state={"record-state.data": meta})
    assert status == 200 and json.loads(body)["response"]["record-pick"]["data"]["index"] == 4, body[:300]


def test_rin011_only_the_home_and_key_of_a_state_are_trusted(callback_client, dependencies, sample):
    """A real analysis's state with its other fields forged: the callbacks use the server's own copy of it."""
    files, meta = sample
    forged = {"home": meta["home"], "key": meta["key"], "name": "x", "duration_s": 1e9, "reference": {"evil": 1}}
    status, body = post_callback(callback_client, dependencies, {"record-state.data": forged,
                                                                 "record-table.page_current": 0,
                                                                 "record-filter.value": "extra"})
    assert status == 200, body[:300]
    status, body = post_callback(callback_client, dependencies,
                                 {"record-state.data": forged, "record-strip.relayoutData": None,
                                  "record-tachogram.relayoutData": None, "record-pick.data": None,
                                  "record-whole.n_clicks": None}, state={"record-window.data": None})
    assert status == 200, body[:300]
    assert json.loads(body)["response"]["record-window"]["data"] == [0.0, meta["duration_s"]]


@pytest.mark.parametrize("number", [0, -3, 10**9, 2.5, "7", True, [3], {"x": 1}],
                         ids=["zero", "negative", "past-end", "fraction", "text", "bool", "list", "dict"])
def test_rin014_a_beat_number_the_recording_lacks_is_said(callback_client, dependencies, sample, number):
    """The number box says which numbers the recording has, and no beat is picked."""
    status, body = post_callback(callback_client, dependencies, {
        "record-goto.value": number, "record-strip.clickData": None, "record-tachogram.clickData": None,
        "record-table.active_cell": None, "record-jump.value": None}, state={"record-state.data": sample[1]})
    assert status == 200, body[:300]
    response = json.loads(body)["response"]
    beats = sample[1]["summary"]["beats"]
    assert "record-pick" not in response and response["record-goto"]["invalid"] is True
    assert response["record-goto-feedback"]["children"] == f"Type a beat number from 1 to {beats:,}."
