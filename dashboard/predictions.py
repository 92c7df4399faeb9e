"""Predictions for one upload: validate and predict through the pipeline, cache the results in the upload store."""
from __future__ import annotations

import io
import json
import threading

import numpy as np
import pandas as pd

from pipeline.explain import BeatExplanation, explain_beats
from pipeline.predict import predict_table
from pipeline.validate import read_beats_csv
from pipeline.vocabulary import CLASSES, Beats

from dashboard.data import get_bundle, get_report
from dashboard.uploads import UploadStore

MODELS = ("cascade", "logreg")
# Parsing a 100 MB CSV briefly takes several times its size in memory; one parse at a time per
# worker keeps a worker's peak near one file's worth however many threads upload at once.
_PARSING = threading.BoundedSemaphore(1)


def load_beats(store: UploadStore, token: str) -> Beats:
    """The upload's validated beats; parsed once, then read back from the store by any worker.

    Raises the pipeline's InputError (a user sentence) for a broken file and UnknownUpload for an expired token.
    """
    cached = store.read(token, "beats.npz")
    if cached is not None:
        with np.load(io.BytesIO(cached), allow_pickle=False) as saved:
            y = saved["y"] if saved["has_labels"] else None
            return Beats(X=saved["X"], y=y, warnings=json.loads(str(saved["warnings"])),
                         header_skipped=bool(saved["header_skipped"]))
    with _PARSING, store.open_upload(token) as upload:
        beats = read_beats_csv(upload)
    buffer = io.BytesIO()
    np.savez(
        buffer,
        X=beats.X,
        y=beats.y if beats.y is not None else np.zeros(0, dtype=np.int64),
        has_labels=beats.y is not None,
        warnings=json.dumps(list(beats.warnings)),
        header_skipped=beats.header_skipped,
    )
    store.write(token, "beats.npz", buffer.getvalue())
    return beats


def predictions(store: UploadStore, token: str, model: str) -> pd.DataFrame:
    """The pipeline's prediction table for one model, computed once per upload."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}")
    name = f"pred-{model}.parquet"
    cached = store.read(token, name)
    if cached is not None:
        return pd.read_parquet(io.BytesIO(cached))
    table = predict_table(get_bundle(), load_beats(store, token), model=model)
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    store.write(token, name, buffer.getvalue())
    return table


def chosen_models(choice: str) -> tuple[str, ...]:
    return MODELS if choice == "both" else (choice,)


def combined_table(store: UploadStore, token: str, models: tuple[str, ...]) -> pd.DataFrame:
    """One row per beat: each model's predicted class and its score, the true class and whether each matched."""
    combined = None
    for model in models:
        table = predictions(store, token, model)
        proba = table[[f"p_{c}" for c in CLASSES]].to_numpy()
        part = pd.DataFrame(
            {
                "row": table["row"].to_numpy(),
                f"{model}_class": table["predicted_class"].to_numpy(),
                f"{model}_probability": proba[np.arange(len(table)), table["predicted_label"].to_numpy()],
            }
        )
        if "true_label" in table:
            part["true_class"] = np.asarray(CLASSES)[table["true_label"].to_numpy().astype(int)]
            part[f"{model}_match"] = part[f"{model}_class"] == part["true_class"]
        combined = part if combined is None else combined.merge(
            part.drop(columns=["true_class"], errors="ignore"), on="row"
        )
    return combined


def filtered(table: pd.DataFrame, which: str | None, models: tuple[str, ...]) -> pd.DataFrame:
    """The rows of a combined table that a filter keeps: "all", "mismatch", or "class-<model>-<class>"."""
    if which == "mismatch" and "true_class" in table:
        return table[~np.logical_and.reduce([table[f"{m}_match"] for m in models])]
    if which and which.startswith("class-"):
        _, model, cls = which.split("-", 2)
        if model in models:
            return table[table[f"{model}_class"] == cls]
    return table


def download_csv(store: UploadStore, token: str, models: tuple[str, ...], rows=None) -> bytes:
    """The pipeline's prediction columns (as `python -m pipeline predict` writes them), prefixed per model when both.

    rows: the 1-based rows to export (a filter's), or None for all.
    """
    frames = []
    for model in models:
        table = predictions(store, token, model)
        if rows is not None:
            table = table[table["row"].isin(rows)]
        if len(models) > 1:
            keep = ["row", "true_label"] if "true_label" in table else ["row"]
            table = table.rename(columns={c: f"{model}_{c}" for c in table.columns if c not in keep})
            if frames:
                table = table.drop(columns=[c for c in keep if c != "row"])
        frames.append(table.set_index("row"))
    return pd.concat(frames, axis=1).reset_index().to_csv(index=False).encode()


def explain_row(store: UploadStore, token: str, row: int) -> BeatExplanation:
    """Why the cascade gave one beat (1-based row) its class."""
    beats = load_beats(store, token)
    bundle = get_bundle()
    return explain_beats(bundle.models["cascade"], beats.X[row - 1 : row], get_report()["templates"])[0]
