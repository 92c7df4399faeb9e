"""Recordings for the Recording page: read and classify through the pipeline once, keep the results in the upload store.

A recording arrives as one or more uploads (a WFDB .hea, .dat and .atr are
three uploads, one token each). `analyse` reads them together with the
pipeline's reader, classifies every beat with the bundle's rhythm-aware
cascade, and writes into the first upload's store entry what the page needs
afterwards, so any gunicorn worker can serve any later request:

- the beat table exactly as `classify-record` writes it (the CSV download),
- the summary and reference comparison (JSON),
- the chosen lead in chunks of CHUNK_SAMPLES, plus a min/max overview of
  OVERVIEW_BLOCK-sample blocks, so a pan or zoom reads only what its window
  needs (`strip_window`) and a 24-hour strip never travels whole.
"""
from __future__ import annotations

import hashlib
import io
import json
import threading
import warnings

import numpy as np
import pandas as pd

from pipeline.explain import BeatExplanation, explain_beats
from pipeline.records import beat_inputs, classify_recording, look_alikes_of, record_model, write_table
from pipeline.recording import RecordingWarning, read_recording_files

from dashboard.data import get_bundle, get_report
from dashboard.uploads import UnknownUpload, UploadStore

CHUNK_SAMPLES = 2**18  # 1 MB of float32 a chunk: a 10 s window at 360 Hz touches one or two
OVERVIEW_BLOCK = 64  # samples per min/max pair in the overview (31 M samples -> 4 MB)
# Reading a 24-hour recording takes about a gigabyte for a few seconds: one at a time per worker.
_ANALYSING = threading.BoundedSemaphore(1)


def _key(files: list[dict], lead: int | None, fs: float | None, invert: bool) -> str:
    what = json.dumps([sorted(f["token"] for f in files), lead, fs, invert])
    return hashlib.sha256(what.encode()).hexdigest()[:12]


def _name(key: str, part: str) -> str:
    return f"rec-{key}-{part}"


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _load_npy(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def min_max_pairs(values: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """The minimum and maximum of each run of `block` values (the last run may be shorter)."""
    n = len(values)
    whole = n - n % block
    mins = values[:whole].reshape(-1, block).min(axis=1)
    maxs = values[:whole].reshape(-1, block).max(axis=1)
    if whole < n:
        mins = np.append(mins, values[whole:].min())
        maxs = np.append(maxs, values[whole:].max())
    return mins, maxs


def analyse(store: UploadStore, files: list[dict], *, lead: int | None = None, fs: float | None = None,
            invert: bool = False) -> dict:
    """Read and classify the uploaded recording once; return what the page shows about it (JSON-safe).

    files: [{"token", "filename"}], every file of one recording. Raises the pipeline's
    RecordingError / RecordError (a user sentence) and UnknownUpload for an expired token.
    """
    home = files[0]["token"]
    key = _key(files, lead, fs, invert)
    cached = store.read(home, _name(key, "meta.json"))
    if cached is not None:
        return json.loads(cached)
    with _ANALYSING:
        uploads = {}
        for f in files:
            with store.open_upload(f["token"]) as upload:
                uploads[f["filename"]] = upload.read()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RecordingWarning)
            recording = read_recording_files(uploads, fs=fs, lead=lead, invert=invert)
            del uploads
            result = classify_recording(recording, record_model(get_bundle()))
        signal = recording.signal.astype(np.float32)
        for i, start in enumerate(range(0, len(signal), CHUNK_SAMPLES)):
            store.write(home, _name(key, f"s{i:05d}.npy"), _npy(signal[start : start + CHUNK_SAMPLES]))
        store.write(home, _name(key, "overview.npy"), _npy(np.vstack(min_max_pairs(signal, OVERVIEW_BLOCK))))
        buffer = io.BytesIO()
        result.table.to_parquet(buffer, index=False)
        store.write(home, _name(key, "beats.parquet"), buffer.getvalue())
        # Each beat's rhythm and morphology features (a few MB for 24 hours): they need the whole recording.
        store.write(home, _name(key, "features.npy"), _npy(result.features))
    reference = result.reference
    if reference:
        # The positions of every missed and extra beat stay here: a noisy day has thousands, and the
        # meta below travels with every callback (which the server caps at 1 MB a request).
        detection = dict(reference["detection"])
        marks = {k: detection.pop(k) for k in ("missed_samples", "extra_samples")}
        store.write(home, _name(key, "marks.json"), json.dumps(marks).encode())
        reference = {**reference, "detection": detection}
    meta = {
        "home": home,
        "key": key,
        "name": recording.name,
        "fs": recording.fs,
        "n_samples": int(len(signal)),
        "duration_s": recording.duration_s,
        "lead": recording.lead,
        "inverted": invert,
        "lead_names": list(recording.lead_names),
        "unit": recording.units[recording.lead],
        "summary": result.summary,
        "reference": reference,
        "warnings": [str(w.message) for w in caught if issubclass(w.category, RecordingWarning)],
    }
    store.write(home, _name(key, "meta.json"), json.dumps(meta).encode())
    return meta


def is_stored(store: UploadStore, meta: dict) -> bool:
    """Whether the analysis behind `meta` is still in the upload store (uploads expire, see UPLOAD_TTL_MINUTES)."""
    try:
        return store.read(meta["home"], _name(meta["key"], "meta.json")) is not None
    except UnknownUpload:
        return False


def stored_meta(store: UploadStore, meta: dict) -> dict:
    """The analysis as the server wrote it: of the copy a page sends back, only its home and key are used."""
    data = store.read(meta["home"], _name(meta["key"], "meta.json"))
    if data is None:
        raise KeyError("the analysis of this recording is no longer stored")
    return json.loads(data)


def beat_table(store: UploadStore, meta: dict) -> pd.DataFrame:
    """The recording's beat table, as `classify-record` writes it."""
    data = store.read(meta["home"], _name(meta["key"], "beats.parquet"))
    if data is None:
        raise KeyError("the beat table of this recording is no longer stored")
    return pd.read_parquet(io.BytesIO(data))


def download_csv(store: UploadStore, meta: dict) -> bytes:
    """The beat table as CSV, byte for byte what `python -m pipeline classify-record --out` writes."""
    buffer = io.BytesIO()
    write_table(beat_table(store, meta), buffer)
    return buffer.getvalue()


def reference_marks(store: UploadStore, meta: dict) -> tuple[np.ndarray, np.ndarray]:
    """The samples of the reference beats that were missed and of the detections the reference lacks."""
    if not meta["reference"]:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    data = store.read(meta["home"], _name(meta["key"], "marks.json"))
    if data is None:
        raise KeyError("the reference marks of this recording are no longer stored")
    marks = json.loads(data)
    return np.asarray(marks["missed_samples"], np.int64), np.asarray(marks["extra_samples"], np.int64)


def samples(store: UploadStore, meta: dict, start: int, stop: int) -> np.ndarray:
    """The chosen lead's samples start..stop (clipped to the recording), read chunk by chunk."""
    start, stop = max(0, int(start)), min(meta["n_samples"], int(stop))
    parts = []
    for i in range(start // CHUNK_SAMPLES, (max(stop, start + 1) - 1) // CHUNK_SAMPLES + 1):
        chunk = _load_npy(store.read(meta["home"], _name(meta["key"], f"s{i:05d}.npy")))
        offset = i * CHUNK_SAMPLES
        parts.append(chunk[max(start - offset, 0) : stop - offset])
    return np.concatenate(parts) if parts else np.empty(0, np.float32)


def strip_window(store: UploadStore, meta: dict, t0: float, t1: float, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """(time_s, value) of the strip between t0 and t1 s, at most 2 x `buckets` points.

    A window of at most 2 x buckets samples is sent as it is. A wider one becomes the minimum
    and maximum of each of `buckets` equal slices (so every R peak and every spike survives),
    computed from the raw samples when the window is short enough and from the stored
    overview otherwise, so no request reads more than a few megabytes.
    """
    fs = meta["fs"]
    start = max(0, int(np.floor(t0 * fs)))
    stop = min(meta["n_samples"], int(np.ceil(t1 * fs)) + 1)
    if stop - start <= 2 * buckets:
        values = samples(store, meta, start, stop)
        return np.arange(start, start + len(values)) / fs, values
    if (stop - start) // OVERVIEW_BLOCK < 2 * buckets:
        values = samples(store, meta, start, stop)
        block = -(-len(values) // buckets)
        mins, maxs = min_max_pairs(values, block)
    else:
        overview = _load_npy(store.read(meta["home"], _name(meta["key"], "overview.npy")))
        lo, hi = start // OVERVIEW_BLOCK, -(-stop // OVERVIEW_BLOCK)
        block = -(-(hi - lo) // buckets)
        mins, _ = min_max_pairs(overview[0, lo:hi], block)
        _, maxs = min_max_pairs(overview[1, lo:hi], block)
        block *= OVERVIEW_BLOCK
    # Each slice is drawn as a vertical stroke from its minimum to its maximum.
    starts = (start + np.arange(len(mins)) * block) / fs
    return np.repeat(starts, 2), np.column_stack([mins, maxs]).ravel()


def beat_row(store: UploadStore, meta: dict, table: pd.DataFrame, index: int) -> np.ndarray:
    """The 187-value Kaggle-format row the cascade saw for beat `index`, cut by the pipeline from the strip around it.

    Cut from a few seconds around the beat rather than the whole recording; the resampling's
    edge effects end well before the beat (the margin is two seconds).
    """
    fs = meta["fs"]
    positions = table["sample"].to_numpy()
    lo, hi = max(index - 1, 0), min(index + 2, len(positions))
    start = max(0, int(positions[lo] - 2 * fs))
    stop = int(positions[hi - 1] + 2 * fs)
    signal = samples(store, meta, start, stop).astype(np.float64)
    rows = beat_inputs(signal, fs, positions[lo:hi] - start, snap=True)  # as classify_recording cuts detected beats
    return rows[index - lo, :187]


def stored_features(store: UploadStore, meta: dict) -> np.ndarray:
    """Each beat's inputs after its row (RecordResult.features), as analyse stored them."""
    data = store.read(meta["home"], _name(meta["key"], "features.npy"))
    if data is None:
        raise KeyError("the beat features of this recording are no longer stored")
    return _load_npy(data)


def explain_beat(row: np.ndarray, features: np.ndarray, proba: np.ndarray) -> BeatExplanation:
    """Why the rhythm-aware cascade gave a beat (its 187-value `row`, its stored `features`, its five probabilities
    `proba` from the beat table, look-alikes averaged in) its class."""
    X = np.concatenate([row, features])[None, :]
    report = get_report()
    return explain_beats(record_model(get_bundle()), X, report["templates"],
                         report["recordings"].get("feature_templates"), proba=np.asarray(proba, float)[None, :])[0]


def look_alike_beats(meta: dict, table: pd.DataFrame, features: np.ndarray, index: int) -> np.ndarray | None:
    """The beats (indices in `table`) whose probabilities the cascade averaged into beat `index`'s; None when it sought
    none (a recording too short for the look-alike step)."""
    return look_alikes_of(record_model(get_bundle()), features, table["sample"].to_numpy(), meta["fs"],
                          meta["duration_s"], index)
