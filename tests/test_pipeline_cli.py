"""The pipeline's command line end to end: predict on the fixture bundle, sample, build-dataset."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix

from pipeline.bundle import load_bundle
from pipeline.cli import main
from pipeline.dataset import intra_patient_split, read_table, write_table
from pipeline.validate import read_beats_csv
from pipeline.vocabulary import CLASSES, FEATURES

REPO = Path(__file__).resolve().parents[1]
FIXTURE_MITDB = REPO / "tests" / "fixtures" / "mitdb"
PREDICTION_COLUMNS = ["row", "predicted_label", "predicted_class", "p_N", "p_S", "p_V", "p_F", "p_Q"]


@pytest.fixture(scope="module")
def test_beats(fixture_table):
    """Eight beats of each class from the intra-patient test split."""
    _, test = intra_patient_split(fixture_table)
    labels = fixture_table["label"].to_numpy()
    rows = np.sort(np.concatenate([test[labels[test] == label][:8] for label in range(5)]))
    return fixture_table[FEATURES].to_numpy(np.float32)[rows], labels[rows].astype(int)


def test_cli_predict(tmp_path, cli, write_csv, test_beats, fixture_bundle_dir):
    """`python -m pipeline predict FILE --out PRED.csv` on a labelled file, as a user runs it."""
    X, y = test_beats
    source = write_csv(tmp_path / "beats.csv", X, y)
    out = tmp_path / "pred.csv"
    result = cli("predict", source, "--models", fixture_bundle_dir, "--out", out)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr

    table = pd.read_csv(out)
    assert list(table.columns) == PREDICTION_COLUMNS + ["true_label"]
    assert list(table["row"]) == list(range(1, len(X) + 1))
    assert list(table["true_label"]) == list(y)
    assert list(table["predicted_class"]) == [CLASSES[k] for k in table["predicted_label"]]
    proba = table[PREDICTION_COLUMNS[3:]].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)

    cascade = load_bundle(fixture_bundle_dir).models["cascade"]
    beats = read_beats_csv(source)
    np.testing.assert_array_equal(table["predicted_label"], cascade.predict(beats.X))
    np.testing.assert_allclose(proba, cascade.predict_proba(beats.X), atol=1e-6)

    # Accuracy and the confusion matrix on stderr, in the documented order of classes.
    accuracy = np.mean(table["predicted_label"].to_numpy() == y)
    assert f"accuracy {accuracy:.4f}" in result.stderr
    lines = result.stderr.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("true\\pred"))
    assert lines[header].split()[1:] == list(CLASSES)
    matrix = confusion_matrix(y, table["predicted_label"], labels=range(5))
    for name, expected, line in zip(CLASSES, matrix, lines[header + 1:header + 6]):
        cells = line.split()
        assert cells[0] == name and [int(c) for c in cells[1:]] == list(expected)


def test_cli_predict_logreg_stdout(tmp_path, capsys, write_csv, test_beats, fixture_bundle_dir):
    """Unlabelled input to standard output: no true_label, no accuracy."""
    X, _ = test_beats
    source = write_csv(tmp_path / "beats.csv", X)
    assert main(["predict", str(source), "--model", "logreg", "--models", str(fixture_bundle_dir)]) == 0
    captured = capsys.readouterr()
    table = pd.read_csv(io.StringIO(captured.out))
    assert list(table.columns) == PREDICTION_COLUMNS
    logreg = load_bundle(fixture_bundle_dir).models["logreg"]
    np.testing.assert_array_equal(table["predicted_label"], np.argmax(logreg.predict_proba(X), axis=1))
    assert "accuracy" not in captured.err


def test_cli_predict_one_row(tmp_path, capsys, write_csv, test_beats, fixture_bundle_dir):
    X, _ = test_beats
    cascade = load_bundle(fixture_bundle_dir).models["cascade"]
    expected = cascade.predict(X)
    for i in (0, len(X) - 1):
        source = write_csv(tmp_path / f"one{i}.csv", X[i:i + 1])
        assert main(["predict", str(source), "--models", str(fixture_bundle_dir)]) == 0
        table = pd.read_csv(io.StringIO(capsys.readouterr().out))
        assert len(table) == 1 and table["predicted_label"].iat[0] == expected[i]


def test_cli_predict_no_bundle(tmp_path, capsys, write_csv, test_beats):
    X, y = test_beats
    source = write_csv(tmp_path / "beats.csv", X, y)
    assert main(["predict", str(source), "--models", str(tmp_path / "nomodels")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "train one with" in err and len(err.strip().splitlines()) == 1


def test_cli_predict_out_dir(tmp_path, capsys, write_csv, test_beats, fixture_bundle_dir):
    X, _ = test_beats
    source = write_csv(tmp_path / "beats.csv", X[:3])
    out = tmp_path / "results" / "pred.csv"
    code = main(["predict", str(source), "--models", str(fixture_bundle_dir), "--out", str(out)])
    assert code == 0 and len(pd.read_csv(out)) == 3  # the missing folder is created
    capsys.readouterr()
    # --out naming an existing folder is a user's slip: one sentence, exit 2.
    code = main(["predict", str(source), "--models", str(fixture_bundle_dir), "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "is a folder" in err and len(err.strip().splitlines()) == 1


def test_cli_sample(tmp_path, fixture_table):
    """`sample` writes a headerless 188-column CSV of beats drawn from the intra-patient test split only."""
    data = tmp_path / "beats.parquet"
    write_table(fixture_table, data)
    out = tmp_path / "assets" / "sample.csv"
    assert main(["sample", "--data", str(data), "--per-class", "3", "--seed", "7", "--out", str(out)]) == 0

    first = out.read_text().splitlines()[0].split(",")
    assert len(first) == 188 and all(float(cell) == float(cell) for cell in first)  # numbers, no header
    sample = np.loadtxt(out, delimiter=",", ndmin=2)
    assert sample.shape == (15, 188)
    assert list(np.bincount(sample[:, 187].astype(int), minlength=5)) == [3] * 5

    train, test = intra_patient_split(fixture_table)
    X = fixture_table[FEATURES].to_numpy(np.float32)
    labels = fixture_table["label"].to_numpy()
    for n, row in enumerate(sample):
        same = np.flatnonzero((X == row[:187].astype(np.float32)).all(axis=1))
        assert len(same) == 1, f"sample row {n + 1} is not exactly one fixture beat"
        assert same[0] in set(test), f"sample row {n + 1} comes from the training split"
        assert labels[same[0]] == row[187]

    beats = read_beats_csv(out)  # the validator accepts what the pipeline writes
    np.testing.assert_array_equal(beats.y, sample[:, 187].astype(int))

    again = tmp_path / "again.csv"
    assert main(["sample", "--data", str(data), "--per-class", "3", "--seed", "7", "--out", str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()


def test_cli_build_dataset(tmp_path, fixture_table):
    out = tmp_path / "beats.parquet"
    assert main(["build-dataset", "--mitdb-dir", str(REPO / "tests" / "fixtures" / "mitdb"), "--out", str(out)]) == 0
    pd.testing.assert_frame_equal(read_table(out), fixture_table)


def test_cli_build_dataset_missing(tmp_path, capsys):
    assert main(["build-dataset", "--mitdb-dir", str(tmp_path / "none"), "--out", str(tmp_path / "b.parquet")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "none" in err and "--download" in err


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert all(command in out for command in ("build-dataset", "train", "predict", "sample"))
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    out = capsys.readouterr().out
    assert "--model" in out and "--max-rows" in out and "--out" in out


def test_cli_evaluate(tmp_path, capsys, fixture_bundle_dir, fixture_training):
    """`evaluate` re-measures a saved bundle without training: the same figures as the report it was saved with."""
    _, report, _ = fixture_training
    out = tmp_path / "metrics.json"
    code = main(["evaluate", "--mitdb-dir", str(REPO / "tests" / "fixtures" / "mitdb"), "--models", str(fixture_bundle_dir), "--out", str(out)])
    assert code == 0
    measured = json.loads(out.read_text())["models"]
    for name in ("logreg", "cascade", "binary", "multiclass"):
        reported = report.protocols["intra"].models[name]
        assert measured[name]["confusion_matrix"] == reported.confusion_matrix
        assert measured[name]["accuracy"] == pytest.approx(reported.accuracy)
        assert measured[name].get("score_reliability") == reported.score_reliability
    assert report.protocols["intra"].models["cascade"].score_reliability is not None
    assert "cascade: accuracy" in capsys.readouterr().err
