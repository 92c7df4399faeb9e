"""The model bundle in models/: write it with a manifest, and load only what the manifest vouches for.

Nothing in a bundle runs code when loaded: the boosters are XGBoost's own UBJ
format, Logistic Regression is a skops file (loaded with skops' default trust,
which refuses any type that is not a known scikit-learn/NumPy one), the report
is JSON and the check beats are a NumPy archive read without pickle.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
import xgboost
from xgboost import XGBClassifier

from pipeline.features import BeatFeatures
from pipeline.models import Cascade
from pipeline.report import Report
from pipeline.vocabulary import FEATURES, class_counts

DEFAULT_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
LOGREG_FILE = "logreg.skops"
REPORT_FILE = "report.json"
CHECK_FILE = "check.npz"
MANIFEST_FILE = "manifest.json"
CHECK_TOLERANCE = 1e-5  # float32 features: the same booster gives the same probabilities to ~1e-7


class BundleError(RuntimeError):
    """The bundle is missing, altered or predicts differently here; the message says what to do."""


@dataclass
class Bundle:
    directory: Path
    manifest: dict
    report: Report
    models: dict  # "logreg", "cascade" and, when trained from records, "rhythm"
    warnings: list[str] = field(default_factory=list)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """The versions of the imported modules (not of a distribution name: Colab's `xgboost` is our `xgboost-cpu`)."""
    from importlib import metadata

    return {"scikit-learn": sklearn.__version__, "xgboost": xgboost.__version__, "numpy": np.__version__,
            "skops": metadata.version("skops")}  # skops' import is slow (it lists every estimator): only load it to read LR


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


def skops_bytes(model) -> bytes:
    """The model as skops writes it, with the same bytes every time for the same model.

    skops names each array in its zip, and marks each shared object, by the Python object's id(), and stamps
    each entry with the time: two training runs would write different files for equal coefficients (and a new
    checksum in the manifest). Here the ids become 0, 1, 2, ... in order of appearance (an id and its array's
    file name stay one number, so shared objects stay shared) and the entries carry no time. skops reads the
    result as its own.
    """
    import skops.io

    source = zipfile.ZipFile(io.BytesIO(skops.io.dumps(model)))
    numbers: dict[str, int] = {}
    schema = re.sub(r'("__id__": |"file": ")(\d+)',
                    lambda m: m.group(1) + str(numbers.setdefault(m.group(2), len(numbers))),
                    source.read("schema.json").decode())
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for entry in source.infolist():
            if entry.filename == "schema.json":
                target.writestr(zipfile.ZipInfo("schema.json"), schema)
            else:
                target.writestr(zipfile.ZipInfo(f"{numbers[Path(entry.filename).stem]}.npy"), source.read(entry))
    return out.getvalue()


def save_bundle(directory, models: dict, report: Report, table: pd.DataFrame, check_beats: dict) -> Path:
    """Write the served models, the report, check beats with their probabilities, and a manifest.

    models: "logreg" (a scikit-learn Pipeline) and cascades by name ("cascade", "rhythm");
    check_beats: per model name, a few beats (with the extra columns a cascade needs) whose
    probabilities are stored, so a loader can tell that the models still predict as trained.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    entries = {}
    (directory / LOGREG_FILE).write_bytes(skops_bytes(models["logreg"]))
    entries["logreg"] = {"kind": "logreg", "files": [LOGREG_FILE]}
    for name, model in models.items():
        if name == "logreg":
            continue
        files = [f"{name}_binary.ubj", f"{name}_multiclass.ubj"]
        model.binary_booster.save_model(directory / files[0])
        model.multiclass_booster.save_model(directory / files[1])
        entries[name] = {"kind": "cascade", "files": files, "threshold": model.threshold_,
                         "extra_features": list(model.extra_columns), "row_features": model.row_features,
                         "booster_features": len(model.feature_names), "look_alikes": model.look_alikes,
                         "look_alike_weight": model.look_alike_weight}
    arrays = {}
    for name, model in models.items():
        arrays[f"{name}_beats"] = np.asarray(check_beats[name], dtype=np.float32)
        arrays[f"{name}_proba"] = model.predict_proba(arrays[f"{name}_beats"])
    np.savez(directory / CHECK_FILE, **arrays)
    (directory / REPORT_FILE).write_text(json.dumps(report.to_dict(), indent=1))
    listed = [f for entry in entries.values() for f in entry["files"]] + [REPORT_FILE, CHECK_FILE]
    manifest = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "libraries": library_versions(),
        "files": {name: sha256(directory / name) for name in listed},
        "models": entries,
        "dataset": {"source": report.dataset["source"], **dataset_fingerprint(table)},
    }
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1))
    return directory


def verify_bundle(directory) -> dict:
    """Check the manifest against the files; return the manifest. Cheap: hashes only, no model is loaded."""
    directory = Path(directory)
    manifest_path = directory / MANIFEST_FILE
    if not manifest_path.is_file():
        raise BundleError(
            f"No model bundle in '{directory}' ({MANIFEST_FILE} missing): train one with "
            "`python -m pipeline train --mitdb-dir DIR --out models/`."
        )
    try:
        manifest = json.loads(manifest_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{manifest_path} is not valid JSON ({exc}): restore it from git or retrain.") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    entries = manifest.get("models") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not isinstance(entries, dict) or "logreg" not in entries or "cascade" not in entries:
        raise BundleError(f"{manifest_path} is not a manifest of this version: retrain the bundle.")
    needed = [f for entry in entries.values() for f in entry.get("files", [])] + [REPORT_FILE, CHECK_FILE]
    unlisted = [name for name in needed if name not in files]
    if unlisted:
        raise BundleError(f"{manifest_path} does not vouch for {', '.join(unlisted)}: restore it from git or retrain.")
    for name, expected in files.items():
        path = directory / Path(name).name  # names only: a manifest cannot point outside its folder
        if not path.is_file():
            raise BundleError(f"Bundle file {path} is missing: restore it from git or retrain.")
        if sha256(path) != expected:
            raise BundleError(
                f"Bundle file {path} does not match its SHA-256 in {MANIFEST_FILE}: it was altered or "
                "corrupted; restore it from git or retrain."
            )
    return manifest


def _load_cascade(directory: Path, entry: dict, n_jobs: int) -> Cascade:
    features = BeatFeatures(tuple(entry["extra_features"]), n_jobs, rows=bool(entry.get("row_features", True)))
    made = len(features.get_feature_names_out())
    if entry.get("booster_features") != made:
        raise BundleError(
            f"The boosters in '{directory}' were trained on {entry.get('booster_features')} features per beat, "
            f"but pipeline/features.py now makes {made}: retrain the bundle."
        )
    boosters = []
    for filename in entry["files"]:
        booster = XGBClassifier(n_jobs=n_jobs)
        booster.load_model(directory / filename)
        boosters.append(booster)
    return Cascade.from_boosters(*boosters, threshold=entry["threshold"], features=features,
                                 look_alikes=int(entry.get("look_alikes", 0)),
                                 look_alike_weight=float(entry.get("look_alike_weight", 0.5)))


def load_bundle(directory=DEFAULT_MODELS_DIR, n_jobs: int = 1, only: tuple[str, ...] | None = None) -> Bundle:
    """Verify, load, and check that every model still gives the probabilities recorded at training.

    n_jobs=1 keeps prediction single-threaded (safe across forks). Library versions that
    differ from the manifest's are only a warning: the check beats decide. only: load just
    these models (every file is still verified).
    """
    directory = Path(directory)
    manifest = verify_bundle(directory)
    installed = library_versions()
    warnings = [f"{name} {manifest['libraries'].get(name)} made the bundle, {version} is installed"
                for name, version in installed.items() if manifest.get("libraries", {}).get(name) != version]
    models = {}
    try:
        for name, entry in manifest["models"].items():
            if only is not None and name not in only:
                continue
            if entry["kind"] == "logreg":
                import skops.io

                models[name] = skops.io.load(directory / entry["files"][0])
            else:
                models[name] = _load_cascade(directory, entry, n_jobs)
    except BundleError:
        raise
    except Exception as exc:  # skops refuses untrusted types; either library may refuse a newer file
        raise BundleError(
            f"The bundle in '{directory}' could not be loaded here ({type(exc).__name__}: {exc}); "
            f"{'; '.join(warnings) or 'library versions match'}: install the pinned requirements or retrain."
        ) from None
    with np.load(directory / CHECK_FILE, allow_pickle=False) as check:
        for name, model in models.items():
            got = model.predict_proba(check[f"{name}_beats"])
            if got.shape != check[f"{name}_proba"].shape or not np.allclose(got, check[f"{name}_proba"],
                                                                           rtol=0, atol=CHECK_TOLERANCE):
                raise BundleError(
                    f"The '{name}' model in '{directory}' no longer gives the probabilities recorded when it was "
                    "trained (the feature code or a library changed"
                    f"{': ' + '; '.join(warnings) if warnings else ''}): retrain the bundle or restore the code."
                )
    report = Report.from_dict(json.loads((directory / REPORT_FILE).read_text()))
    return Bundle(directory=directory, manifest=manifest, report=report, models=models, warnings=warnings)
