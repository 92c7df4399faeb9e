"""Check the shape of callback inputs, so a forged request gets the page's own message instead of a 500.

Callbacks trust nothing a browser sends: anyone can post any JSON to
/_dash-update-component. Each checker returns the value in the shape the
callback expects, or raises BadInput, whose str() is a sentence for the page.
"""
from __future__ import annotations

import math
import re

from dash.exceptions import PreventUpdate

from pipeline.recording import UPLOAD_MAX_FILES

from dashboard.uploads import MAX_FILENAME

MODEL_CHOICES = ("cascade", "logreg", "both")
MODELS = ("cascade", "logreg")
UPLOAD_MAX_LEADS = 64  # more leads than any ECG format here holds


class BadInput(ValueError):
    """A callback input the page itself never sends."""

    def __str__(self) -> str:
        return "The page sent a request it cannot have made: reload the page and try again."


def _text(value, *, longest: int = MAX_FILENAME) -> str:
    if not isinstance(value, str) or len(value) > longest:
        raise BadInput(value)
    return value


def _index(value, *, below: float = math.inf) -> int:
    """A whole number, at least 0 and under `below` (a JSON true is not 1 here, though Python says it is)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < below:
        raise BadInput(value)
    return value


def upload_result(value) -> dict | None:
    """The upload-result store: None, {"error", "filename"?} or {"token", "filename", ...}."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadInput(value)
    filename = _text(value.get("filename", "the file"))
    if "error" in value:
        return {"error": _text(value["error"], longest=1000), "filename": filename}
    return {"token": _text(value.get("token"), longest=100), "filename": filename}


def model_choice(value) -> str:
    if value not in MODEL_CHOICES:
        raise BadInput(value)
    return value


def predict_state(value) -> dict | None:
    """The predict-state store that `classify` writes: token, models, labelled, filename."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadInput(value)
    models = value.get("models")
    if not isinstance(models, list) or not models or len(models) > len(MODELS) or any(m not in MODELS for m in models):
        raise BadInput(value)
    labelled = value.get("labelled")
    if not isinstance(labelled, bool):
        raise BadInput(value)
    return {"token": _text(value.get("token"), longest=100), "models": list(models), "labelled": labelled,
            "filename": _text(value.get("filename"))}


def page_number(value) -> int:
    return 0 if value is None else _index(value)


def beat_filter(value) -> str:
    """The table filter: "all", "mismatch" or "class-<C>"; None means all."""
    if value is None:
        return "all"
    return _text(value, longest=20)


def beat_rows(value, n_beats: int | None = None) -> list[int]:
    """Ticked rows: 1-based beat numbers, each within the file when `n_beats` is known."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadInput(value)
    for row in value:
        if not isinstance(row, int) or isinstance(row, bool) or row < 1 or (n_beats is not None and row > n_beats):
            raise BadInput(value)
    return value


def require_choice(value, allowed) -> None:
    """For a page without a message box: a value that is not one of its own options changes nothing (204)."""
    try:
        known = value in allowed
    except TypeError:  # unhashable: a list or dict where a string belongs
        known = False
    if not known:
        raise PreventUpdate


# ---------------------------------------------------------------- the Recording page

_STATE_KEY = re.compile(r"^[0-9a-f]{12}$")  # dashboard.recordings._key


def _number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadInput(value)
    return float(value)


def record_files(value) -> dict | None:
    """The record-files store that upload_record.js and the sample button write: {"error"} or {"files": [...]}."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadInput(value)
    if "error" in value:
        return {"error": _text(value["error"], longest=1000)}
    files = value.get("files")
    if not isinstance(files, list) or not 1 <= len(files) <= UPLOAD_MAX_FILES or not all(isinstance(f, dict) for f in files):
        raise BadInput(value)
    return {"files": [{"token": _text(f.get("token"), longest=100), "filename": _text(f.get("filename"))} for f in files]}


def record_lead(value) -> int | None:
    """The lead dropdown: a lead's index (the page offers nothing else), or None for the default."""
    return None if value is None else _index(value, below=UPLOAD_MAX_LEADS)


def record_invert(value) -> bool:
    """The "upside down" switch: True or False (None before the page sets it)."""
    if value is None:
        return False
    if not isinstance(value, bool):
        raise BadInput(value)
    return value


def sampling_rate(value) -> float | None:
    """The rate typed in for a CSV without a time column; the reader says whether the rate is usable."""
    if value is None or value == "":
        return None
    return _number(value)


def record_state(value) -> dict | None:
    """The record-state store that `classify` writes: only its home (token) and key are read back, the rest of
    the analysis comes from the server's own copy (dashboard.recordings.stored_meta)."""
    if value is None:
        return None
    if not isinstance(value, dict) or not _STATE_KEY.match(str(value.get("key"))):
        raise BadInput(value)
    return {"home": _text(value.get("home"), longest=100), "key": value["key"]}


def record_pick(value) -> dict | None:
    """A picked beat: {"index": 0-based beat, "time": seconds}."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadInput(value)
    return {"index": _index(value.get("index")), "time": _number(value.get("time"))}
