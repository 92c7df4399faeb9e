"""Pipeline test set-up: the fixture beat table, one small trained bundle shared by the session, and the full data when CI has it."""
from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
FIXTURE_MITDB = FIXTURES / "mitdb"
FIXTURE_RECORDS = ("203", "208", "209", "217", "232")


def make_small_params():
    """Training parameters small enough for ~1,000 fixture beats on a busy 2-core machine.

    binary_smote_ratio is 1.0 because the fixture holds more abnormal beats than
    half its normal ones (see test_pipeline_models.py::test_mod_smote_ratio).
    """
    from pipeline.models import Params, XGBParams

    small = XGBParams(n_estimators=20, max_depth=3)
    return Params(binary=small, multiclass=small, logreg_max_iter=30, threshold_cv_folds=2,
                  binary_smote_ratio=1.0, n_jobs=1)


def _write_kaggle_csv(path: Path, X: np.ndarray, y: np.ndarray | None = None) -> Path:
    """A CSV in Kaggle's format: no header, 187 values, then the label as a float when given."""
    values = np.asarray(X, dtype=np.float64)
    if y is not None:
        values = np.column_stack([values, np.asarray(y, dtype=np.float64)])
    np.savetxt(path, values, delimiter=",", fmt="%.18e")
    return path


def _run_cli(*args, timeout=120) -> subprocess.CompletedProcess:
    """`python -m pipeline ARGS` in a fresh interpreter, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def small_params():
    return make_small_params()


@pytest.fixture(scope="session")
def write_csv():
    """write_csv(path, X, y=None): a beat CSV in Kaggle's format."""
    return _write_kaggle_csv


@pytest.fixture(scope="session")
def cli():
    """cli(*args): run `python -m pipeline ARGS` in a fresh interpreter."""
    return _run_cli


@pytest.fixture(scope="session")
def fixture_table():
    """The beat table built from the committed MIT-BIH excerpts (~1,260 beats, all five classes)."""
    from pipeline.dataset import build_beats

    return build_beats(FIXTURE_MITDB)


@pytest.fixture(scope="session")
def fixture_training(fixture_table, tmp_path_factory):
    """Train once on the fixture beats and save the bundle: (served models, report, bundle folder)."""
    from dataclasses import replace

    from pipeline.bundle import save_bundle
    from pipeline.models import PARAMS
    from pipeline.train import check_beats, rhythm_check_beats, train_all

    small = make_small_params()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LR stops early on purpose (small max_iter)
        # The rhythm-aware cascade keeps the served choices (a recording's features only, the cascade's
        # macro-F1 threshold, a record held out a fold) with the small trees.
        rhythm = replace(PARAMS["rhythm"], binary=small.binary, multiclass=small.multiclass,
                         binary_smote_ratio=small.binary_smote_ratio, n_jobs=1)
        served, report = train_all(fixture_table, {"intra": small, "inter": small, "rhythm": rhythm}, "mitdb",
                                   mitdb_dir=FIXTURE_MITDB)
    check = {name: check_beats(fixture_table) for name in ("logreg", "cascade")}
    check["rhythm"] = rhythm_check_beats(FIXTURE_MITDB, report)
    directory = save_bundle(tmp_path_factory.mktemp("bundle"), served, report, fixture_table, check)
    return served, report, directory


@pytest.fixture(scope="session")
def fixture_bundle_dir(fixture_training):
    return fixture_training[2]


@pytest.fixture
def bundle_copy(fixture_bundle_dir, tmp_path):
    """A private copy of the fixture bundle that a test may damage."""
    import shutil

    return Path(shutil.copytree(fixture_bundle_dir, tmp_path / "models"))


@pytest.fixture(scope="session")
def mitdb_dir():
    value = os.environ.get("MITDB_DIR")
    if not value:
        pytest.skip("MITDB_DIR is not set: full MIT-BIH database tests run in CI (.ci/run sets it to ../shared/mitdb)")
    path = Path(value)
    if not path.is_dir():
        pytest.skip(f"MITDB_DIR={value} is not a directory")
    return path


@pytest.fixture(scope="session")
def kaggle_sample():
    value = os.environ.get("KAGGLE_SAMPLE")
    if not value:
        pytest.skip("KAGGLE_SAMPLE is not set: the 50 real Kaggle rows are checked in CI "
                    "(.ci/run points it at ../shared/kaggle_sample/random_test_sample.csv)")
    path = Path(value)
    if not path.is_file():
        pytest.skip(f"KAGGLE_SAMPLE={value} is not a file")
    return path


@pytest.fixture(scope="session")
def full_table(mitdb_dir):
    """The beat table of the whole database (~15 s), built once per session."""
    from pipeline.dataset import build_beats

    return build_beats(mitdb_dir)
