"""The model bundle in models/: write it with a manifest, and load only what the manifest vouches for."""
from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from xgboost import XGBClassifier

from pipeline.features import FEATURE_NAMES
from pipeline.models import Cascade
from pipeline.vocabulary import FEATURES, class_counts

DEFAULT_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
LOGREG_FILE = "logreg.joblib"
BINARY_FILE = "binary.ubj"
MULTICLASS_FILE = "multiclass.ubj"
REPORT_FILE = "report.json"
MANIFEST_FILE = "manifest.json"
BUNDLE_FILES = (LOGREG_FILE, BINARY_FILE, MULTICLASS_FILE, REPORT_FILE)
# The libraries whose versions decide whether the files load and predict the same.
PINNED_LIBRARIES = ("scikit-learn", "xgboost-cpu", "numpy", "joblib")


class BundleError(RuntimeError):
    """The bundle is missing, altered or made with other library versions; the message says what to do."""


@dataclass
class Bundle:
    directory: Path
    manifest: dict
    report: dict
    models: dict  # "logreg", "cascade", "binary", "multiclass"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in PINNED_LIBRARIES}


def dataset_fingerprint(table: pd.DataFrame) -> dict:
    digest = hashlib.sha256(np.ascontiguousarray(table[FEATURES].to_numpy(np.float32)).tobytes())
    digest.update(np.ascontiguousarray(table["label"].to_numpy(np.int64)).tobytes())
    return {"rows": len(table), "class_counts": class_counts(table["label"]), "sha256": digest.hexdigest()}


def git_commit() -> str | None:
    try:
        root = Path(__file__).resolve().parent.parent
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "pipeline"], cwd=root,
                               capture_output=True, text=True, check=True)
        return commit.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def save_bundle(directory, models: dict, report: dict, table: pd.DataFrame) -> Path:
    """Write the served models, the report and a manifest that vouches for them."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cascade = models["cascade"]
    joblib.dump(models["logreg"], directory / LOGREG_FILE)
    # The boosters in XGBoost's own format: pickles break across XGBoost versions.
    cascade.binary[-1].save_model(directory / BINARY_FILE)
    cascade.multiclass[-1].save_model(directory / MULTICLASS_FILE)
    (directory / REPORT_FILE).write_text(json.dumps(report, indent=1))
    manifest = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "libraries": library_versions(),
        "files": {name: sha256(directory / name) for name in BUNDLE_FILES},
        "dataset": {"source": report["dataset"]["source"], **dataset_fingerprint(table)},
        "cascade_threshold": cascade.threshold,
        "booster_features": len(FEATURE_NAMES),
        "params": report["params"],
    }
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1))
    return directory


def verify_bundle(directory) -> dict:
    """Check the manifest against the files and this environment; return the manifest."""
    directory = Path(directory)
    manifest_path = directory / MANIFEST_FILE
    if not manifest_path.is_file():
        raise BundleError(
            f"No model bundle in '{directory}' ({MANIFEST_FILE} missing): train one with "
            "`python -m pipeline train --mitdb-dir DIR --out models/`."
        )
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as exc:
        raise BundleError(f"{manifest_path} is not valid JSON ({exc}): restore it from git or retrain.") from None
    files = manifest.get("files", {})
    unlisted = [name for name in BUNDLE_FILES if name not in files]
    if unlisted or "libraries" not in manifest or "cascade_threshold" not in manifest:
        raise BundleError(
            f"{manifest_path} does not vouch for the whole bundle (missing {', '.join(unlisted) or 'fields'}): "
            "restore it from git or retrain."
        )
    for name, expected in files.items():
        path = directory / name
        if not path.is_file():
            raise BundleError(f"Bundle file {path} is missing: restore it from git or retrain.")
        if sha256(path) != expected:
            raise BundleError(
                f"Bundle file {path} does not match its SHA-256 in {MANIFEST_FILE}: it was altered or "
                "corrupted; restore it from git or retrain."
            )
    if manifest.get("booster_features") != len(FEATURE_NAMES):
        raise BundleError(
            f"The boosters in '{directory}' were trained on {manifest.get('booster_features', 'an unknown number of')} "
            f"features per beat, but pipeline/features.py now makes {len(FEATURE_NAMES)}: retrain the bundle."
        )
    installed = library_versions()
    wrong = {name: (version, installed.get(name)) for name, version in manifest["libraries"].items()
             if installed.get(name) != version}
    if wrong:
        detail = ", ".join(f"{name} {want} (installed {have})" for name, (want, have) in wrong.items())
        raise BundleError(
            f"The bundle in '{directory}' was made with {detail}: install the pinned requirements "
            "(pip install -r requirements.txt) or retrain."
        )
    return manifest


def load_bundle(directory=DEFAULT_MODELS_DIR, n_jobs: int = 1) -> Bundle:
    """Verify, then load the bundle. n_jobs=1 keeps prediction single-threaded (safe across forks)."""
    directory = Path(directory)
    manifest = verify_bundle(directory)
    logreg = joblib.load(directory / LOGREG_FILE)
    boosters = {}
    for name, filename in (("binary", BINARY_FILE), ("multiclass", MULTICLASS_FILE)):
        booster = XGBClassifier(n_jobs=n_jobs)
        booster.load_model(directory / filename)
        boosters[name] = booster
    cascade = Cascade(boosters["binary"], boosters["multiclass"], manifest["cascade_threshold"], n_jobs=n_jobs)
    report = json.loads((directory / REPORT_FILE).read_text())
    return Bundle(directory=directory, manifest=manifest, report=report,
                  models={"logreg": logreg, "cascade": cascade, **boosters})
